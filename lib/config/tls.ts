// TLS sections shared by the gateway and proxy schemas (docs/configuration.md, docs/operations.md
// "TLS"): `tls` on a client-facing listener (direct TLS as on port 992, TELNET START_TLS from the
// expired IETF draft draft-altman-telnet-starttls-02 as z/OS "negotiated TLS" speaks it, or both
// on one port) and the client side of a TLS connection (toward a host, or proxy → gateway).
import { z } from 'zod'
import { bool, duration } from './fields.js'

/** The client side of a TLS connection this process opens. */
export const tlsClient = () => z.object({
  ca: z.string().optional().describe('CA certificates to trust, as PEM text or a file path; omitted = the system CAs'),
  servername: z.string().optional().describe('TLS server name (SNI) and the name the certificate must carry; omitted = `host`'),
  cert: z.string().optional().describe('client certificate, PEM text or a file path (with `key`)'),
  key: z.string().optional().describe('client private key, PEM text or a file path (with `cert`)'),
  rejectUnauthorized: bool(true).describe('refuse a peer whose certificate does not verify'),
}).strict()

/** `tls` on a listener clients connect to. */
export const tlsListener = () => z.object({
  mode: z.enum(['direct', 'starttls', 'optional'])
    .describe('`direct`: TLS from the first byte (the port 992 convention); `starttls`: the server offers TELNET START_TLS (option 46) first; `optional`: a TLS ClientHello means direct TLS, otherwise START_TLS is offered'),
  allowPlain: bool(false).describe('`starttls` and `optional`: a client that declines TLS continues in plain telnet; false = it is closed'),
  cert: z.string().min(1).describe('server certificate (and chain), PEM text or a file path; files are re-read when they change and on SIGHUP'),
  key: z.string().min(1).describe('private key of `cert`, PEM text or a file path'),
  ca: z.string().min(1).optional().describe('CAs a client certificate must chain to, PEM text or a file path; required with `clientAuth` request or require'),
  clientAuth: z.enum(['none', 'request', 'require']).default('none')
    .describe('client certificates: `none`; `request` (asked for; a client without one or with one that does not verify still connects, unverified); `require` (a verified certificate or no session)'),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('lowest TLS version accepted'),
  ciphers: z.string().min(1).optional().describe('OpenSSL cipher list for TLS 1.2; omitted = Node.js defaults (TLS 1.3 suites are always the defaults)'),
  handshakeTimeout: duration('10s').describe('accept (or the START_TLS offer) to an established TLS session; slower clients are closed'),
  clientHelloWait: duration('200ms').describe('`optional`: how long to wait for a ClientHello before offering START_TLS'),
}).strict().superRefine((t, ctx) => {
  if (t.clientAuth !== 'none' && t.ca === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ca'], message: `required with clientAuth ${t.clientAuth}: the CAs client certificates must chain to` })
  }
  if (t.mode === 'direct' && t.allowPlain) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['allowPlain'], message: 'expected false with mode direct (a direct TLS listener has no plain clients); use optional' })
  }
})

export type TlsListenerConfig = z.output<ReturnType<typeof tlsListener>>
export type TlsClientConfig = z.output<ReturnType<typeof tlsClient>>
