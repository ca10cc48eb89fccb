// Certificates for TLS tests, made at run time with Debian's openssl: a CA, server certificates
// for 127.0.0.1 / localhost (SANs as RFC 5280 §4.2.1.6 writes them; s3270 checks them, see
// docs/operations.md "TLS"), client certificates signed by the CA, and a self-signed "rogue"
// client certificate that must never verify.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'

const run = promisify(execFile)

export interface CertFiles {
  cert: string
  key: string
  /** Serial as openssl prints it (upper-case hex). */
  serial: string
}

export interface Pki {
  dir: string
  ca: string
  caKey: string
  /** Signs a certificate with the CA; `san` like `IP:127.0.0.1,DNS:localhost`. */
  issue: (name: string, subject: string, opts?: { san?: string, serial?: number, days?: number }) => Promise<CertFiles>
  /** A self-signed certificate with this subject (not from the CA). */
  selfSigned: (name: string, subject: string) => Promise<CertFiles>
  read: (path: string) => string
}

async function openssl (dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir })
}

/** A fresh CA in a temporary directory, removed with the test. */
export async function makePki (t: Test): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/O=tn3270-lb tests/CN=Test CA'])
  let nextSerial = 0x1000
  const issue: Pki['issue'] = async (name, subject, opts = {}) => {
    const serial = opts.serial ?? nextSerial++
    await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject])
    const ext = join(dir, `${name}.ext`)
    writeFileSync(ext, opts.san === undefined ? 'basicConstraints=CA:FALSE\n' : `basicConstraints=CA:FALSE\nsubjectAltName=${opts.san}\n`)
    await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial), '-out', `${name}.pem`, '-days', String(opts.days ?? 30), '-extfile', ext])
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), serial: serialText(serial) }
  }
  const selfSigned: Pki['selfSigned'] = async (name, subject) => {
    await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subject, '-set_serial', '4660'])
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), serial: serialText(4660) }
  }
  return { dir, ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), issue, selfSigned, read: path => readFileSync(path, 'utf8') }
}

/** A serial as Node prints it (x509.serialNumber): upper-case hex, whole bytes. */
export function serialText (serial: number): string {
  const hex = serial.toString(16).toUpperCase()
  return hex.length % 2 === 0 ? hex : `0${hex}`
}

/** The server certificate every TLS test uses: 127.0.0.1 and localhost. */
export async function serverCert (pki: Pki, name = 'server', serial?: number): Promise<CertFiles> {
  return await pki.issue(name, '/O=tn3270-lb tests/CN=localhost', { san: 'IP:127.0.0.1,DNS:localhost', ...(serial === undefined ? {} : { serial }) })
}
