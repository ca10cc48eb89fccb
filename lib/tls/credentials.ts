// A listener's server certificate, key and client CA: read from PEM text or files, checked by
// building a TLS context from them, and read again when the files change (fs.watch on their
// directories, which also sees the symlink swap of a mounted Kubernetes Secret) or on request
// (SIGHUP). A reload that fails keeps the material in use and says why; a reload that works
// emits 'changed' so the listener uses it for new connections. Open sessions keep the context
// they started with (docs/operations.md "TLS").
import { EventEmitter } from 'node:events'
import { X509Certificate } from 'node:crypto'
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import type { Clock, Timer } from '../clock.js'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import { formatDn } from './peer.js'

export type ClientAuth = 'none' | 'request' | 'require'

/** The TLS keys of a listener (docs/configuration.md `tls`) that make up its context. */
export interface TlsCredentialSettings {
  /** PEM text, or the path of a PEM file: the server certificate (and chain). */
  cert: string
  /** PEM text, or the path of a PEM file: its private key. */
  key: string
  /** PEM text, or the path of a PEM file: CAs a client certificate must chain to. */
  ca?: string | undefined
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults); omitted = Node's default. */
  ciphers?: string | undefined
}

/** What the served certificate says, for logs and the expiry gauge. */
export interface CertificateFacts {
  subject: string
  serial: string
  /** notAfter as Unix time in ms. */
  notAfter: number
  fingerprint256: string
}

interface Material { cert: Buffer, key: Buffer, ca: Buffer | undefined }

export interface CredentialsEvents {
  changed: [facts: CertificateFacts]
  'reload-failed': [err: Error]
}

/** Events from fs.watch often come in bursts (cert, then key; a Secret's symlinks): one reload after them. */
const SETTLE_MS = 100

export class ServerCredentials extends EventEmitter<CredentialsEvents> {
  private material: Material
  private facts: CertificateFacts
  private readonly watchers: FSWatcher[] = []
  private settleTimer: Timer | undefined
  private clock: Clock | undefined

  private constructor (readonly settings: TlsCredentialSettings, readonly label: string) {
    super()
    this.material = readMaterial(settings, label)
    this.facts = check(settings, this.material, label)
  }

  /** Reads and checks the material; throws TLS_CONFIG naming the key and what is wrong. */
  static load (settings: TlsCredentialSettings, label: string): ServerCredentials {
    return new ServerCredentials(settings, label)
  }

  get certificate (): CertificateFacts { return this.facts }

  /** Options for tls.Server#setSecureContext: the current material and the protocol floor. */
  get contextOptions (): SecureContextOptions {
    return contextOptions(this.settings, this.material)
  }

  /**
   * Reads the files again: 'changed' (and the event) when the material differs and works,
   * 'unchanged' when it is the same; throws TLS_CONFIG and keeps the old material otherwise.
   */
  reload (): 'changed' | 'unchanged' {
    const next = readMaterial(this.settings, this.label)
    if (sameMaterial(next, this.material)) return 'unchanged'
    const facts = check(this.settings, next, this.label)
    this.material = next
    this.facts = facts
    this.emit('changed', facts)
    return 'changed'
  }

  /** Watches the directories of file-backed material; changes reload after a short settle time. */
  watch (clock: Clock): void {
    this.clock = clock
    const dirs = new Set(fileBacked(this.settings).map(path => dirname(path)))
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => { this.scheduleReload() })
        w.on('error', (err) => { this.emit('reload-failed', lbError(ErrorCodes.TLS_CONFIG, `${this.label}: watching ${dir} failed: ${errorMessage(err)}`, err)) })
        this.watchers.push(w)
      } catch (err) {
        this.emit('reload-failed', lbError(ErrorCodes.TLS_CONFIG, `${this.label}: cannot watch ${dir} (${errorMessage(err)}); reload with SIGHUP`, err))
      }
    }
  }

  close (): void {
    for (const w of this.watchers.splice(0)) w.close()
    if (this.settleTimer !== undefined) this.clock?.clearTimeout(this.settleTimer)
    this.settleTimer = undefined
  }

  private scheduleReload (): void {
    if (this.settleTimer !== undefined || this.clock === undefined) return
    this.settleTimer = this.clock.setTimeout(() => {
      this.settleTimer = undefined
      try {
        this.reload()
      } catch (err) {
        this.emit('reload-failed', err instanceof Error ? err : lbError(ErrorCodes.TLS_CONFIG, errorMessage(err)))
      }
    }, SETTLE_MS)
  }
}

function isPem (value: string): boolean { return value.includes('-----BEGIN') }

function fileBacked (s: TlsCredentialSettings): string[] {
  return [s.cert, s.key, s.ca].filter((v): v is string => v !== undefined && !isPem(v))
}

function readMaterial (s: TlsCredentialSettings, label: string): Material {
  const read = (key: 'cert' | 'key' | 'ca', value: string): Buffer => {
    if (isPem(value)) return Buffer.from(value)
    try {
      return readFileSync(value)
    } catch (err) {
      throw lbError(ErrorCodes.TLS_CONFIG, `${label}.${key} = ${JSON.stringify(value)}: expected PEM text or a readable PEM file (${errorMessage(err)})`, err)
    }
  }
  return { cert: read('cert', s.cert), key: read('key', s.key), ca: s.ca === undefined ? undefined : read('ca', s.ca) }
}

function contextOptions (s: TlsCredentialSettings, m: Material): SecureContextOptions {
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca === undefined ? {} : { ca: m.ca }),
    minVersion: s.minVersion,
    ...(s.ciphers === undefined ? {} : { ciphers: s.ciphers }),
  }
}

/** Builds a context once (OpenSSL checks that key and certificate belong together) and reads the certificate. */
function check (s: TlsCredentialSettings, m: Material, label: string): CertificateFacts {
  try {
    createSecureContext(contextOptions(s, m))
  } catch (err) {
    throw lbError(ErrorCodes.TLS_CONFIG, `${label}: cert, key${m.ca === undefined ? '' : ', ca'}${s.ciphers === undefined ? '' : ', ciphers'} cannot be used together: ${errorMessage(err)}`, err)
  }
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(m.cert)
  } catch (err) {
    throw lbError(ErrorCodes.TLS_CONFIG, `${label}.cert: not a PEM certificate (${errorMessage(err)})`, err)
  }
  // OpenSSL ignores a `ca` with no certificate in it; every client certificate would then fail.
  if (m.ca !== undefined) {
    try {
      void new X509Certificate(m.ca)
    } catch (err) {
      throw lbError(ErrorCodes.TLS_CONFIG, `${label}.ca: no PEM certificate in it (${errorMessage(err)})`, err)
    }
  }
  return { subject: formatDn(x509.subject), serial: x509.serialNumber, notAfter: Date.parse(x509.validTo), fingerprint256: x509.fingerprint256 }
}

function sameMaterial (a: Material, b: Material): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca))
}

