// The server side of the TELNET START_TLS exchange (option 46; the expired IETF draft
// draft-altman-telnet-starttls-02, §2 and §3), as z/OS "negotiated TLS" and the x3270 family
// speak it:
//
//   server  IAC DO START_TLS
//   client  IAC WILL START_TLS                       (or IAC WONT START_TLS: no TLS)
//   server  IAC SB START_TLS FOLLOWS IAC SE
//   client  IAC SB START_TLS FOLLOWS IAC SE          then its TLS ClientHello on the same stream
//
// x3270 (Common/telnet.c, 4.1 and later) sends its FOLLOWS right after its WILL, without waiting
// for the server's, and starts the handshake once the server's FOLLOWS has arrived, so the
// server answers WILL at once and takes the client's FOLLOWS in either order relative to its
// own. A pure machine: bytes in, outcomes out; the caller does the I/O.
import { DO, DONT, IAC, Opt, SB, SE, WILL, WONT } from '../telnet/index.js'
import { checkClientHello } from './hello.js'

/** draft-altman-telnet-starttls-02 §2: the only subnegotiation command, FOLLOWS = 1. */
export const FOLLOWS = 1
export const START_TLS_OFFER = Buffer.from([IAC, DO, Opt.STARTTLS])
export const START_TLS_FOLLOWS = Buffer.from([IAC, SB, Opt.STARTTLS, FOLLOWS, IAC, SE])

/** Bytes a client may send before its answer is complete; more is not a START_TLS client. */
const MAX_EXCHANGE_BYTES = 1024

export type StartTlsOutcome =
  /** Write these bytes to the client. */
  | { type: 'send', bytes: Buffer }
  /** The client's FOLLOWS arrived: `rest` (possibly empty) is the start of its TLS handshake. */
  | { type: 'tls', rest: Buffer }
  /** The client will not use TLS (WONT, or it spoke first): `replay` is what it sent, for plain telnet. */
  | { type: 'declined', replay: Buffer, why: string }
  | { type: 'error', message: string }

type Phase = 'idle' | 'offered' | 'follows-sent' | 'done'

/** One exchange on one connection: start(), then receive() every chunk until an end outcome. */
export class StartTlsServer {
  private phase: Phase = 'idle'
  private pending: Buffer = Buffer.alloc(0)
  /** Telnet commands for other options the client sent meanwhile: replayed if it stays plain. */
  private held: Buffer[] = []
  private seen = 0

  get finished (): boolean { return this.phase === 'done' }

  start (): StartTlsOutcome[] {
    this.phase = 'offered'
    return [{ type: 'send', bytes: START_TLS_OFFER }]
  }

  receive (chunk: Buffer): StartTlsOutcome[] {
    if (this.phase === 'done' || this.phase === 'idle') return []
    this.seen += chunk.length
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const out: StartTlsOutcome[] = []
    while (!this.finished && this.pending.length > 0) {
      const n = commandLength(this.pending)
      if (n === 0) break
      if (n < 0) {
        out.push(this.notTelnet())
        break
      }
      const cmd = this.pending.subarray(0, n)
      this.pending = this.pending.subarray(n)
      const o = this.command(cmd)
      if (o !== undefined) out.push(o)
    }
    if (!this.finished && this.seen > MAX_EXCHANGE_BYTES) {
      this.phase = 'done'
      out.push({ type: 'error', message: `no complete START_TLS answer in the first ${MAX_EXCHANGE_BYTES} bytes` })
    }
    return out
  }

  /** One complete telnet command from the client. */
  private command (cmd: Buffer): StartTlsOutcome | undefined {
    const verb = cmd[1]!
    const isStartTls = cmd[2] === Opt.STARTTLS
    if (this.phase === 'offered' && isStartTls && verb === WONT) {
      this.phase = 'done'
      return { type: 'declined', replay: this.replay(), why: 'the client answered WONT START_TLS' }
    }
    if (this.phase === 'offered' && isStartTls && verb === WILL) {
      this.phase = 'follows-sent'
      return { type: 'send', bytes: START_TLS_FOLLOWS }
    }
    if (verb === SB && isStartTls) {
      const before = this.phase === 'offered'
      this.phase = 'done'
      if (before) return { type: 'error', message: 'START_TLS FOLLOWS before WILL START_TLS' }
      if (cmd.length !== 6 || cmd[3] !== FOLLOWS) return { type: 'error', message: `START_TLS subnegotiation ${cmd.subarray(3, cmd.length - 2).toString('hex') || '(empty)'} is not FOLLOWS` }
      return { type: 'tls', rest: this.pending }
    }
    // Any other command (a volunteered WILL TTYPE, a NOP): kept for a plain session; a TLS
    // session starts its telnet negotiation afresh (draft §3: option state before TLS is void).
    this.held.push(Buffer.from(cmd))
    return undefined
  }

  /** The client sent data that is not telnet negotiation (a client that speaks first). */
  private notTelnet (): StartTlsOutcome {
    const willSent = this.phase === 'follows-sent'
    this.phase = 'done'
    if (willSent) return { type: 'error', message: 'data received where START_TLS FOLLOWS was expected' }
    if (checkClientHello(this.pending) !== 'not-hello') return { type: 'error', message: 'TLS ClientHello received instead of an answer to DO START_TLS' }
    return { type: 'declined', replay: this.replay(), why: 'the client sent data instead of answering DO START_TLS' }
  }

  private replay (): Buffer {
    return Buffer.concat([...this.held, this.pending])
  }
}

/**
 * Length of the telnet command at the start of `buf` (RFC 854, RFC 855): 3 for IAC DO/DONT/
 * WILL/WONT x, the whole IAC SB … IAC SE, 2 for other IAC commands; 0 while incomplete; -1 when
 * `buf` does not start with IAC.
 */
export function commandLength (buf: Buffer): number {
  if (buf[0] !== IAC) return -1
  if (buf.length < 2) return 0
  const verb = buf[1]!
  if (verb === DO || verb === DONT || verb === WILL || verb === WONT) return buf.length < 3 ? 0 : 3
  if (verb !== SB) return 2
  for (let i = 2; i + 1 < buf.length; i++) {
    if (buf[i] !== IAC) continue
    if (buf[i + 1] === SE) return i + 2
    i++ // IAC IAC inside a subnegotiation is a data byte 255
  }
  return 0
}
