// The gateway's answer to a handed-over request, read before anything reaches the client
// (docs/routing.md). A gateway resuming a negotiation writes its answer first (docs/tn3270.md):
//   TN3270E  SB TN3270E DEVICE-TYPE IS <type> CONNECT <lu>   accepted (RFC 2355 §7.1.1)
//            SB TN3270E DEVICE-TYPE REJECT REASON <r>          refused, reason r (§7.1.2)
//   TN3270   DO/WILL EOR, DO/WILL BINARY                       accepted (RFC 1576 §2)
//            SB TERMINAL-TYPE SEND                             refused: "your next name" (RFC 1091)
// A record or data first also means it serves (all 3270 options were already agreed). Anything
// else, DO TN3270E above all, means the gateway began a new negotiation instead of resuming it
// (its listener takes no PROXY header from us): a protocol refusal. Pure: bytes in, verdict out.
import { errorMessage } from '../errors.js'
import { Opt, TelnetParser, type TelnetEvent } from '../telnet/index.js'
import { decodeTn3270e, decodeTtype, type RejectReason } from '../tn3270/index.js'

export type AnswerRefusal = 'reject' | 'ttype_send' | 'closed' | 'timeout' | 'protocol'

export type GatewayAnswer =
  | { kind: 'accepted', lu?: string }
  | { kind: 'refused', why: 'reject', reason: RejectReason, message: string }
  | { kind: 'refused', why: Exclude<AnswerRefusal, 'reject'>, message: string }

/** Feeds the gateway's first bytes in; says as soon as they decide. */
export class AnswerReader {
  private readonly parser = new TelnetParser({ maxSubneg: 1024 })
  private verdict: GatewayAnswer | undefined

  /** The verdict once `chunk` (with what came before) decides it; undefined = read on. */
  feed (chunk: Uint8Array): GatewayAnswer | undefined {
    if (this.verdict !== undefined) return this.verdict
    try {
      this.parser.feedEach(chunk, (ev) => {
        this.verdict = judge(ev)
        return this.verdict === undefined
      })
    } catch (err) {
      this.verdict = { kind: 'refused', why: 'protocol', message: `gateway answer is not telnet: ${errorMessage(err)}` }
    }
    return this.verdict
  }
}

function judge (ev: TelnetEvent): GatewayAnswer | undefined {
  switch (ev.type) {
    case 'command': return undefined // NOP, GA and the like decide nothing
    case 'data': case 'eor': return { kind: 'accepted' }
    case 'negotiate':
      if ((ev.verb === 'DO' || ev.verb === 'WILL') && (ev.option === Opt.EOR || ev.option === Opt.BINARY)) return { kind: 'accepted' }
      return { kind: 'refused', why: 'protocol', message: `gateway sent ${ev.verb} ${ev.option} instead of an answer to the request (did it take our PROXY header?)` }
    case 'subneg': return subneg(ev.option, ev.data)
  }
}

function subneg (option: number, data: Buffer): GatewayAnswer {
  try {
    if (option === Opt.TN3270E) {
      const m = decodeTn3270e(data)
      if (m.kind === 'device-type-is') return { kind: 'accepted', lu: m.device }
      if (m.kind === 'device-type-reject') return { kind: 'refused', why: 'reject', reason: m.reason, message: `gateway answered REJECT ${m.reason}` }
      return { kind: 'refused', why: 'protocol', message: `gateway sent TN3270E ${m.kind} instead of an answer to the request` }
    }
    if (option === Opt.TTYPE && decodeTtype(data).kind === 'send') return { kind: 'refused', why: 'ttype_send', message: 'gateway asked for the next terminal type (the name was refused)' }
  } catch (err) {
    return { kind: 'refused', why: 'protocol', message: `gateway answer malformed: ${errorMessage(err)}` }
  }
  return { kind: 'refused', why: 'protocol', message: `gateway sent a subnegotiation of option ${option} instead of an answer to the request` }
}
