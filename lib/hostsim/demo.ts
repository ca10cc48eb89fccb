// Application DEMO: the LU2 (3270) application behind the simulated host. Pure: a state machine
// that takes decoded terminal input and answers with actions; `renderDemo` (screens.ts) turns the
// actions into 3270 outbound records and the PLU session paces/chains them.
//
//   query          with a query BIND (screen size code X'03'): a Read Partition Query first; the
//                  reply's Usable Area and code page size and encode the screens (GA23-0059)
//   first screen   `tn3270-lb demo host <HOST>`, `LU <LUNAME>`, the screen size and code page,
//                  prompt `==>` + input field
//   text + ENTER   `ECHO: <text>` on the message line, input field cleared
//   FLOOD n+ENTER  n outbound records, each a Write carrying `RECORD i OF n`, the last one
//                  restores the keyboard (WCC X'02', GA23-0059)
//   PRINT [n]+ENTER  n copies (default 1) of the current screen's text as one print job on the
//                  display's associated printer LU (SCS for LU type 1, 3270 data stream for LU
//                  type 3; print.ts), the screen then says where it went or why it could not
//   PF3            log off: the PLU sends UNBIND (type 01 normal, GA27-3136 UNBIND)
//   CLEAR          the first screen again (CLEAR is a short read, GA23-0059: no fields)
//   other AIDs     the screen again with "KEY NOT ASSIGNED"
//   ATTN           (SIGNAL from the LU, "SNA Formats", GA27-3136) the screen with "ATTENTION RECEIVED"
//   repaint        (LUSTAT X'082B' from the LU after SYSREQ: presentation space integrity lost)
//                  the screen again

/** AID bytes used here (GA23-0059). */
export const DemoAid = { ENTER: 0x7d, PF3: 0xf3, CLEAR: 0x6d } as const

export const MAX_FLOOD = 1_000_000
export const MAX_COPIES = 100_000

export interface DemoInput {
  aid: number
  /** Text of the modified fields, in screen order (nulls removed, decoded from EBCDIC). */
  fields: readonly string[]
}

export type DemoAction =
  | { type: 'query' }
  | { type: 'screen', message: string | undefined, alarm: boolean }
  | { type: 'flood', count: number }
  /** Print `copies` copies of the screen as it is now (its message: `message`). */
  | { type: 'print', copies: number }
  | { type: 'logoff' }

export type DemoState = 'new' | 'querying' | 'ready' | 'ended'

export const ATTENTION_MESSAGE = 'ATTENTION RECEIVED'

const FIRST_SCREEN: DemoAction = { type: 'screen', message: undefined, alarm: false }

export class DemoApp {
  private st: DemoState = 'new'

  /** `query`: the BIND leaves the screen size to the terminal, so ask it first. */
  constructor (private readonly opts: { query: boolean } = { query: false }) {}

  get state (): DemoState { return this.st }

  /** Session started (after +RSP(SDT)): the query, or the first screen. */
  start (): DemoAction[] {
    if (this.st !== 'new') return []
    if (this.opts.query) {
      this.st = 'querying'
      return [{ type: 'query' }]
    }
    this.st = 'ready'
    return [FIRST_SCREEN]
  }

  /**
   * The query is over: answered (the session took the size and code page from the reply), or not
   * answered in time. Either way the first screen follows.
   */
  queryDone (): DemoAction[] {
    if (this.st !== 'querying') return []
    this.st = 'ready'
    return [FIRST_SCREEN]
  }

  /** ATTN: the LU's SIGNAL. */
  attention (): DemoAction[] {
    return this.st === 'ready' ? [{ type: 'screen', message: ATTENTION_MESSAGE, alarm: false }] : []
  }

  /** The terminal lost its screen (LUSTAT X'082B' after SYSREQ): paint it again. */
  repaint (): DemoAction[] {
    return this.st === 'ready' ? [FIRST_SCREEN] : []
  }

  /** One inbound 3270 record (an AID with its modified fields). */
  input (input: DemoInput): DemoAction[] {
    // A key instead of a query reply: a terminal that does not answer queries; show the screen.
    if (this.st === 'querying') return this.queryDone()
    if (this.st !== 'ready') return []
    switch (input.aid) {
      case DemoAid.PF3:
        this.st = 'ended'
        return [{ type: 'logoff' }]
      case DemoAid.CLEAR:
        return [FIRST_SCREEN]
      case DemoAid.ENTER:
        return this.enter(input.fields.join(' ').trim())
      default:
        return [{ type: 'screen', message: 'KEY NOT ASSIGNED', alarm: true }]
    }
  }

  /** The session ended from outside (UNBIND by the LU, link down, restart). */
  end (): void { this.st = 'ended' }

  private enter (text: string): DemoAction[] {
    const flood = /^FLOOD(?:\s+(\S+))?$/i.exec(text)
    if (flood !== null) {
      const n = flood[1] === undefined ? NaN : Number(flood[1])
      if (!Number.isInteger(n) || n < 1 || n > MAX_FLOOD) {
        return [{ type: 'screen', message: `FLOOD NEEDS A COUNT FROM 1 TO ${MAX_FLOOD}`, alarm: true }]
      }
      return [{ type: 'flood', count: n }]
    }
    const print = /^PRINT(?:\s+(\S+))?$/i.exec(text)
    if (print !== null) {
      const n = print[1] === undefined ? 1 : Number(print[1])
      if (!Number.isInteger(n) || n < 1 || n > MAX_COPIES) {
        return [{ type: 'screen', message: `PRINT TAKES A NUMBER OF COPIES FROM 1 TO ${MAX_COPIES}`, alarm: true }]
      }
      return [{ type: 'print', copies: n }]
    }
    if (text === '') return [{ type: 'screen', message: 'TYPE TEXT, FLOOD n, PRINT, OR PF3 TO LOG OFF', alarm: false }]
    return [{ type: 'screen', message: `ECHO: ${text}`, alarm: false }]
  }
}
