// Helpers for the TLS end-to-end tests (test/e2e/tls-*.test.ts): a PKI made at run time
// (certs.ts), gateway `--set` lines for a TLS listener, a proxy in front of the demo's gateways
// with its own `tls` / `backendTls`, and the real s3270 with the TLS options it needs. s3270 4.1
// checks the server certificate's name against the host it connected to; by IP address that
// check fails even with an IP SAN, so the tests accept the name `localhost` the certificate
// carries (-accepthostname, docs/operations.md "TLS").
import type { Test } from 'tap'
import { connect as tlsConnect } from 'node:tls'
import { readFileSync } from 'node:fs'
import type { Demo } from '../../lib/demo.js'
import type { Proxy } from '../../lib/proxy/index.js'
import { makePki, serverCert, type CertFiles, type Pki } from './certs.js'
import { startProxyFor, type LogLine } from './e2e-proxy.js'
import { S3270 } from './s3270.js'
import { until } from './until.js'

export interface TlsPki {
  pki: Pki
  server: CertFiles
  /** A teller's certificate: CN teller-01, SAN DNS:teller-01.branch.example. */
  teller: CertFiles
  /** The proxy's own client certificate toward gateways (mutual TLS between the tiers). */
  proxy: CertFiles
}

export async function tlsPki (t: Test): Promise<TlsPki> {
  const pki = await makePki(t)
  return {
    pki,
    server: await serverCert(pki),
    teller: await pki.issue('teller', '/C=US/O=Example Bank/OU=Tellers/CN=teller-01', { san: 'DNS:teller-01.branch.example' }),
    proxy: await pki.issue('proxy', '/O=tn3270-lb tests/CN=tn3270-proxy'),
  }
}

/** `--set` lines for the demo gateway's listener 0 with `tls` (mode and extra keys as given). */
export function gatewayTlsSets (p: TlsPki, mode: 'direct' | 'starttls' | 'optional', extra: Record<string, string> = {}): string[] {
  const keys: Record<string, string> = { mode, cert: p.server.cert, key: p.server.key, ...extra }
  return Object.entries(keys).map(([k, v]) => `listeners.0.tls.${k}=${v}`)
}

/** s3270 trusting the test CA (and presenting `cert` when given); quit on teardown. */
export async function tlsS3270 (t: Test, p: TlsPki, opts: { cert?: CertFiles, trace?: string, extra?: string[] } = {}): Promise<S3270> {
  const args = ['-connecttimeout', '10', '-cafile', p.pki.ca, '-accepthostname', 'DNS:localhost']
  if (opts.cert !== undefined) args.push('-certfile', opts.cert.cert, '-keyfile', opts.cert.key)
  if (opts.trace !== undefined) args.push('-trace', '-tracefile', opts.trace)
  const s = await S3270.start({ model: 2, extraArgs: [...args, ...(opts.extra ?? [])] })
  t.teardown(() => s.close())
  return s
}

/** Connects, waits for the DEMO screen, types `text` and waits for the ECHO; returns the first screen. */
export async function demoAndEcho (t: Test, s: S3270, target: string, text = 'hello'): Promise<string> {
  const r = await s.connect(target)
  t.ok(r.ok, `s3270 Connect(${target}): ${r.status} ${r.data.join(' / ')}`)
  await s.wait(10, 'InputField')
  const screen = (await s.ascii()).join('\n')
  t.match(screen, /tn3270-lb demo host HOST[AB]/, 'the DEMO screen')
  await echo(t, s, text)
  return screen
}

export async function echo (t: Test, s: S3270, text: string): Promise<void> {
  await s.string(text)
  await s.enter()
  await until(`ECHO: ${text}`, async () => (await s.ascii()).join('\n').includes(`ECHO: ${text}`))
  t.pass(`ECHO: ${text} came back`)
}

/**
 * A proxy with one listener in front of the demo's gateways: PROXY v2 toward them, /status
 * polling, and the listener keys given (tls, backendTls, ...); captured logs; closed with the test.
 */
export async function tlsProxy (t: Test, demo: Demo, lines: LogLine[], listener: Record<string, unknown>, top: Record<string, unknown> = {}): Promise<Proxy> {
  return await startProxyFor(t, demo, lines, top, { name: 'edge', ...listener })
}

/** The serial number of the certificate a TLS listener serves now (as Node prints it). */
export async function servedSerial (port: number, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const c = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' }, () => {
      const serial = c.getPeerX509Certificate()?.serialNumber ?? '?'
      c.destroy()
      resolve(serial)
    })
    c.once('error', reject)
  })
}
