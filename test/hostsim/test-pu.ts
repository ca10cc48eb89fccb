// A minimal PU 2.0 with dependent LUs for host-simulator tests, built from the sna codecs: it
// answers ACTPU/ACTLU/BIND/SDT/UNBIND like a 3274 (snhstq/IBM3705_R5 I327x/i3274_cc.c), keeps a 3270 Screen per
// LU from the LU-LU data, and records everything so tests can assert on the host's flows.
import { EventEmitter } from 'node:events'
import {
  decodePiu, encodePiu, positiveResponse, negativeResponse, requestRh, commandRh, encodeIpr,
  decodeActlu, actluPositiveRu, encodeNotify, decodeBind, decodeUnbind, encodeUnbind, encodeInitSelf,
  nameToEbcdic, isIpr, type Piu, type RequestRh, type BindImage,
} from '../../lib/sna/index.js'
import { Screen, buildInbound, decode, encode } from '../../lib/datastream/index.js'

export interface TestLu { name: string, address: number }

export interface DataRecord { lu: string, snf: number, pi: boolean, bci: boolean, eci: boolean, cdi: boolean, bbi: boolean, ru: Buffer }

export interface LuView {
  name: string
  address: number
  active: boolean
  bind?: BindImage
  bound: boolean
  sdt: boolean
  screen: Screen
  /** Character-coded SSCP-LU texts received, decoded (NL X'15' → '\n'). */
  uss: string[]
  /** LU-LU FMD requests received, in order. */
  data: DataRecord[]
  unbinds: number[]
  chain: Buffer[]
  /** Whole 3270 records reassembled from chains. */
  records: Buffer[]
  sendSnf: number
  /** Normal-flow requests sent since SDT (for PI on the first of each window). */
  sentInWindow: number
}

export interface TestPuOptions {
  lus: TestLu[]
  /** Reply to ACTLU with the LU enabled (terminal on). Default false: NOTIFY later. */
  enabledAtActlu?: boolean
  /** Send the IPR as soon as a pacing request arrives. Default true. */
  autoIpr?: boolean
  /** -RSP(BIND) with this sense instead of +RSP. */
  rejectBindSense?: number
  rejectActpuSense?: number
  rejectActluSense?: number
  /** +RSP(ACTLU) RU to send instead of the i3274_cc.c one. */
  actluResponseRu?: Buffer
  /** -RSP to character-coded SSCP-LU data with this sense. */
  rejectUssSense?: number
}

export class TestPu extends EventEmitter {
  readonly lus = new Map<string, LuView>()
  readonly byAddress = new Map<number, LuView>()
  actpus = 0
  received: Piu[] = []
  responses: Piu[] = []
  autoIpr: boolean
  rejectBindSense: number | undefined
  send: (piu: Buffer) => void = () => { throw new Error('TestPu not connected') }
  private sscpSnf = 0

  constructor (private readonly opts: TestPuOptions) {
    super()
    this.autoIpr = opts.autoIpr ?? true
    this.rejectBindSense = opts.rejectBindSense
    for (const lu of opts.lus) {
      const v: LuView = { name: lu.name, address: lu.address, active: false, bound: false, sdt: false, screen: new Screen({ rows: 24, cols: 80 }), uss: [], data: [], unbinds: [], chain: [], records: [], sendSnf: 0, sentInWindow: 0 }
      this.lus.set(lu.name, v)
      this.byAddress.set(lu.address, v)
    }
  }

  lu (name: string): LuView {
    const v = this.lus.get(name)
    if (v === undefined) throw new Error(`no LU ${name}`)
    return v
  }

  /** Host → PU. */
  receive (raw: Buffer): void {
    const piu = decodePiu(raw)
    this.received.push(piu)
    const rh = piu.rh!
    if (rh.rri) {
      this.responses.push(piu)
      this.emit('response', piu)
      return
    }
    const req = rh as RequestRh
    const { daf, oaf } = piu.th
    if (daf === 0 && oaf === 0 && req.category === 'SC' && piu.ru[0] === 0x11) {
      this.actpus++
      if (this.opts.rejectActpuSense !== undefined) {
        this.send(negativeResponse(raw, this.opts.rejectActpuSense))
        this.emit('actpu')
        return
      }
      // i3274_cc.c-style +RSP(ACTPU): the request code and the format/type byte.
      this.send(positiveResponse(raw, Buffer.from([0x11, piu.ru[1]!])))
      this.emit('actpu')
      return
    }
    const lu = this.byAddress.get(daf)
    if (lu === undefined) throw new Error(`PIU for unknown address ${daf}`)
    if (oaf === 0) {
      if (req.category === 'SC' && piu.ru[0] === 0x0d) {
        lu.active = this.opts.rejectActluSense === undefined
        if (this.opts.rejectActluSense !== undefined) this.send(negativeResponse(raw, this.opts.rejectActluSense))
        else this.send(positiveResponse(raw, this.opts.actluResponseRu ?? actluPositiveRu(decodeActlu(piu.ru), this.opts.enabledAtActlu === true)))
        this.emit('actlu', lu)
        return
      }
      if (req.category === 'FMD' && !req.fi) {
        lu.uss.push(decode(piu.ru).replace(/\u0085/g, '\n'))
        if (this.opts.rejectUssSense !== undefined) this.send(negativeResponse(raw, this.opts.rejectUssSense))
        else if (req.dr1 && !req.eri) this.send(positiveResponse(raw))
        this.emit('uss', lu)
        return
      }
      this.send(negativeResponse(raw, 0x10030000))
      return
    }
    // LU-LU (PLU = X'01')
    if (req.category === 'SC') {
      switch (piu.ru[0]) {
        case 0x31:
          lu.bind = decodeBind(piu.ru)
          if (this.rejectBindSense !== undefined) {
            this.send(negativeResponse(raw, this.rejectBindSense))
            this.emit('bind-rejected', lu)
            return
          }
          lu.bound = true
          lu.sdt = false
          lu.screen = new Screen({ rows: 24, cols: 80 })
          this.send(positiveResponse(raw))
          this.emit('bind', lu)
          return
        case 0xa0:
          lu.sdt = true
          lu.sendSnf = 0
          lu.sentInWindow = 0
          this.send(positiveResponse(raw))
          this.emit('sdt', lu)
          return
        case 0x32:
          lu.unbinds.push(decodeUnbind(piu.ru).type)
          lu.bound = false
          lu.sdt = false
          this.send(positiveResponse(raw))
          this.emit('unbind', lu)
          return
      }
    }
    if (req.category === 'FMD') {
      lu.data.push({ lu: lu.name, snf: piu.th.snf, pi: req.pi, bci: req.bci, eci: req.eci, cdi: req.cdi, bbi: req.bbi, ru: piu.ru })
      if (req.bci) lu.chain = []
      lu.chain.push(piu.ru)
      if (req.eci) {
        const record = Buffer.concat(lu.chain)
        lu.records.push(record)
        lu.screen.apply(record)
        this.emit('record', lu, record)
      }
      if (req.pi && this.autoIpr) this.sendIpr(lu.name)
      if (req.dr1 && !req.eri) this.send(positiveResponse(raw))
      this.emit('data', lu)
      return
    }
    this.send(negativeResponse(raw, 0x10030000))
  }

  // ---- PU → host ----

  sendIpr (name: string): void {
    const lu = this.lu(name)
    this.send(encodeIpr({ daf: 0x01, oaf: lu.address }))
  }

  notify (name: string, enabled: boolean): void {
    const lu = this.lu(name)
    // NOTIFY (KB Q267902): RH 0B 00 20 (FMD, FI, no response requested) — here RQD1 to see the +RSP.
    this.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), encodeNotify({ enabled }))
  }

  /** Typed text on the SSCP-LU session (character-coded, FI=0). */
  typeUss (name: string, text: string, raw?: Buffer): void {
    const lu = this.lu(name)
    this.sendSscpLu(lu, requestRh({ category: 'FMD', mode: 'RQD1' }), raw ?? encode(text))
  }

  initSelf (name: string, appl: string): void {
    const lu = this.lu(name)
    this.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), encodeInitSelf({
      format: 1, typeByte: 0x00, nameType: 0xf3, pluName: nameToEbcdic(appl), modeName: Buffer.alloc(0),
      requesterId: Buffer.alloc(0), password: Buffer.alloc(0), userField: Buffer.alloc(0),
    }))
  }

  sendSscpLu (lu: LuView, rh: RequestRh, ru: Buffer): void {
    this.sscpSnf = (this.sscpSnf + 1) & 0xffff
    this.send(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 0x00, oaf: lu.address, snf: this.sscpSnf }, rh, ru }))
  }

  /** An AID with fields on the LU-LU session (RH 03 90 20: RQE1 + CD, GA23-0059). */
  input (name: string, aid: number, fields: Array<{ address: number, text: string }> = [], opts: { pi?: boolean, snf?: number, mode?: 'RQE1' | 'RQD1' } = {}): void {
    const lu = this.lu(name)
    const record = buildInbound({ aid, cursor: 0, fields, rows: 24, cols: 80 })
    // GA27-3136 pacing: the first request of each window (BIND byte 8) carries PI; the host IPRs at once.
    const window = lu.bind?.pacing.secondarySendWindow ?? 0
    const pi = opts.pi ?? (window > 0 && lu.sentInWindow % window === 0)
    lu.sentInWindow++
    this.sendLuLu(lu, requestRh({ category: 'FMD', mode: opts.mode ?? 'RQE1', cdi: true, pi }), record, opts.snf)
  }

  sendLuLu (lu: LuView, rh: RequestRh, ru: Buffer, snf?: number): void {
    if (snf === undefined) {
      lu.sendSnf = (lu.sendSnf + 1) & 0xffff
      snf = lu.sendSnf
    }
    this.send(encodePiu({ th: { mpf: 'whole', odai: false, efi: rh.category !== 'FMD', daf: 0x01, oaf: lu.address, snf }, rh, ru }))
  }

  unbindFromLu (name: string): void {
    const lu = this.lu(name)
    this.sendLuLu(lu, commandRh('SC'), encodeUnbind({ type: 0x01 }), 1)
  }

  waitFor (event: string, pred: (...args: any[]) => boolean = () => true, timeoutMs = 10_000): Promise<any[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off(event, on); reject(new Error(`timeout waiting for ${event}`)) }, timeoutMs)
      const on = (...args: any[]): void => {
        if (!pred(...args)) return
        clearTimeout(timer)
        this.off(event, on)
        resolve(args)
      }
      this.on(event, on)
    })
  }

  ipr (piu: Piu): boolean { return isIpr(piu) }
}

