// The host application's outbound side of one LU-LU session: 3270 records from the DEMO
// application, chained at the BIND's primary max RU size (byte 11, "SNA Formats", GA27-3136) and
// paced by the BIND's primary send window with the sna PacingSender: the first request of each
// window carries PI and the next window waits for the LU's pacing response (IPR, PI in a response,
// or under adaptive pacing a solicited IPM; an unsolicited IPM with RWI resets the window and is
// acknowledged). Records are pulled from the application one at a time as the window opens, so a
// FLOOD of 20000 never sits in memory, and output pauses while the link's socket buffer is full.
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { chainRu, PacingSender, type ChainElement, type Ipm, type PacingViolation } from '../sna/index.js'

/** One RU of an outbound chain. */
export interface OutRu {
  ru: Buffer
  bci: boolean
  eci: boolean
  /** Last RU of a record that leaves the keyboard unlocked: give direction to the LU (CD). */
  cd: boolean
  /** First RU of the chain that ends the bracket (EB, "SNA Formats", GA27-3136): a print job's last. */
  eb?: boolean
}

/**
 * A record for a printer LU: never gives direction (a printer only receives), and the last record
 * of a print job ends the bracket. Display records are plain Buffers (direction by their WCC).
 */
export interface PrinterRecord { data: Buffer, endBracket: boolean }

export interface PluOutputOptions {
  lu: string
  window: number
  adaptive: boolean
  maxRu: number
  clock: Clock
  logger: Logger
  /** Sends one RU as a normal-flow request with these pacing bits; false = the link's buffer is full. */
  transmit: (item: OutRu, pi: boolean, rlwi: boolean) => boolean
  /** Data traffic is active (the session may send). */
  active: () => boolean
}

export interface OutputPacingStatus {
  window: number
  adaptive: boolean
  /** ms the session has waited for the LU's pacing response with output queued (0 = not waiting). */
  waitingForIprMs: number
  /** Requests (RUs) queued behind the closed window plus records not yet built. */
  queued: number
  iprsReceived: number
  /** Sum of completed waits for a pacing response (ms). */
  totalWaitMs: number
}

/**
 * A record after which the terminal speaks ends the host's turn (CD, HDX flip-flop): one whose WCC
 * has keyboard restore X'02', or a Write Structured Field carrying Read Partition (SFID X'01'),
 * which the terminal answers with an inbound reply (GA23-0059).
 */
export function givesDirection (record: Buffer): boolean {
  if (record.length > 1 && WRITE_COMMANDS.has(record[0]!)) return (record[1]! & 0x02) !== 0
  return record.length > 3 && record[0] === WSF && record[3] === SF_READ_PARTITION
}

/** Requests the pacing sender may hold; the FLOOD generator is pulled only as the window opens. */
const PACING_QUEUE_LIMIT = 4096
/** 3270 commands with a WCC (Write, Erase/Write, Erase/Write Alternate), GA23-0059. */
const WRITE_COMMANDS = new Set([0xf1, 0xf5, 0x7e])
/** Write Structured Field and the Read Partition structured field id (GA23-0059). */
const WSF = 0xf3
const SF_READ_PARTITION = 0x01

export class PluOutput {
  private readonly sender: PacingSender<OutRu>
  private readonly records: Array<Iterator<Buffer | PrinterRecord>> = []
  private pending: OutRu[] = []
  private linkBlocked = false
  private waitingSince: number | undefined
  private totalWaitMs = 0
  private iprs = 0
  recordsOut = 0
  requestsOut = 0

  constructor (private readonly o: PluOutputOptions) {
    this.sender = new PacingSender<OutRu>({ window: o.window, adaptive: o.adaptive, queueLimit: PACING_QUEUE_LIMIT })
  }

  get adaptive (): boolean { return this.sender.adaptive }

  /** Records to send after those already queued. */
  enqueue (records: Iterator<Buffer | PrinterRecord>): void {
    this.records.push(records)
    this.pump()
  }

  /** The link drained after a send returned false. */
  resume (): void {
    if (!this.linkBlocked) return
    this.linkBlocked = false
    this.pump()
  }

  /** A fixed-pacing response (IPR, or PI in a response) arrived. */
  pacingResponse (kind: 'ipr' | 'response-pi'): PacingViolation | undefined {
    const d = this.sender.receivePacingResponse(kind)
    if (d.violation !== undefined) return d.violation
    this.iprs++
    this.windowOpened()
    this.send(d.send)
    this.pump()
    return undefined
  }

  /** A solicited or unsolicited IPM for our send direction; `sendAck` sends a reset acknowledgement first. */
  ipm (ipm: Ipm, sendAck: (ack: Ipm) => void): PacingViolation | undefined {
    const d = this.sender.receiveIpm(ipm)
    if (d.violation !== undefined) return d.violation
    if (d.sendIpm !== undefined) sendAck(d.sendIpm)
    this.windowOpened()
    this.send(d.send)
    this.pump()
    return undefined
  }

  /** Session ending: drop everything not yet sent. */
  stop (): void {
    this.records.length = 0
    this.pending = []
    this.sender.drainQueue()
    this.windowOpened()
  }

  status (): OutputPacingStatus {
    return {
      window: this.o.window,
      adaptive: this.sender.adaptive,
      waitingForIprMs: this.waitingSince === undefined ? 0 : this.o.clock.now() - this.waitingSince,
      queued: this.sender.queued + this.pending.length + this.records.length,
      iprsReceived: this.iprs,
      totalWaitMs: this.totalWaitMs,
    }
  }

  /** Feeds the pacing sender one record at a time while its window is open. */
  private pump (): void {
    while (this.o.active() && this.sender.queued === 0 && !this.linkBlocked) {
      if (this.pending.length === 0) {
        const record = this.nextRecord()
        if (record === undefined) return
        this.pending = this.chain(record)
        this.recordsOut++
      }
      while (this.pending.length > 0 && this.sender.queued === 0) {
        const item = this.pending.shift()!
        const r = this.sender.submit(item)
        if (!r.ok) {
          // Cannot happen while we feed one request at a time; keep the record rather than lose it.
          this.pending.unshift(item)
          this.o.logger.error({ lu: this.o.lu, err: r.error.message }, 'pacing queue full')
          return
        }
        this.send(r.send)
      }
    }
    if (this.o.active() && this.sender.queued > 0 && this.waitingSince === undefined) {
      // The window is used up and output is waiting: the host now waits for the LU's pacing response.
      this.waitingSince = this.o.clock.now()
    }
  }

  private nextRecord (): Buffer | PrinterRecord | undefined {
    while (this.records.length > 0) {
      const next = this.records[0]!.next()
      if (next.done !== true) return next.value
      this.records.shift()
    }
    return undefined
  }

  private chain (record: Buffer | PrinterRecord): OutRu[] {
    if (!Buffer.isBuffer(record)) {
      return this.split(record.data).map(e => ({ ru: e.ru, bci: e.bci, eci: e.eci, cd: false, eb: record.endBracket && e.bci }))
    }
    const cd = givesDirection(record)
    // Most records fit one RU: no chain to build (the record is ours, sent as it is).
    if (this.fitsOneRu(record)) return [{ ru: record, bci: true, eci: true, cd }]
    return this.split(record).map(e => ({ ru: e.ru, bci: e.bci, eci: e.eci, cd: cd && e.eci }))
  }

  private fitsOneRu (data: Buffer): boolean { return this.o.maxRu === 0 || data.length <= this.o.maxRu }

  private split (data: Buffer): ChainElement[] {
    return this.fitsOneRu(data) ? [{ ru: data, bci: true, eci: true }] : chainRu(data, this.o.maxRu)
  }

  private send (items: Array<{ item: OutRu, setPi: boolean, setRlwi: boolean }>): void {
    for (const { item, setPi, setRlwi } of items) {
      if (!this.o.active()) return
      // The link's socket buffer is full: stop pulling new records until it drains.
      if (!this.o.transmit(item, setPi, setRlwi)) this.linkBlocked = true
      this.requestsOut++
    }
  }

  private windowOpened (): void {
    if (this.waitingSince !== undefined) {
      this.totalWaitMs += this.o.clock.now() - this.waitingSince
      this.waitingSince = undefined
    }
  }
}
