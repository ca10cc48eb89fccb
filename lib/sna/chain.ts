// Chaining: split data into RUs with BC/EC flags and reassemble chains ("SNA Formats", GA27-3136, RH BCI 02 / ECI 01).
import { ErrorCodes, lbError } from '../errors.js'
import { Sense } from './sense.js'

export type ChainPosition = 'only' | 'first' | 'middle' | 'last'

export interface ChainElement { ru: Buffer, bci: boolean, eci: boolean }

export function chainPosition (bci: boolean, eci: boolean): ChainPosition {
  return bci ? (eci ? 'only' : 'first') : (eci ? 'last' : 'middle')
}

/** Splits `data` into RUs of at most `maxRu` bytes (0 = no maximum). Empty data → one empty only-in-chain RU. */
export function chainRu (data: Buffer, maxRu: number): ChainElement[] {
  if (!Number.isInteger(maxRu) || maxRu < 0) throw lbError(ErrorCodes.SNA_STATE, `chainRu: max RU size ${maxRu} is not a non-negative integer`)
  if (maxRu === 0 || data.length <= maxRu) return [{ ru: Buffer.from(data), bci: true, eci: true }]
  const out: ChainElement[] = []
  for (let off = 0; off < data.length; off += maxRu) {
    out.push({ ru: Buffer.from(data.subarray(off, off + maxRu)), bci: off === 0, eci: off + maxRu >= data.length })
  }
  return out
}

export type ReassemblyResult =
  | { kind: 'partial' }
  | { kind: 'complete', data: Buffer, rus: number }
  | { kind: 'error', sense: number, reason: string }

/** Reassembles one direction's chains; a BC while in chain or a non-BC outside a chain is a chaining error (2002). */
export class ChainReassembler {
  private parts: Buffer[] = []
  private bytes = 0
  private inChain = false

  constructor (private readonly maxBytes = 16 * 1024 * 1024) {}

  get inProgress (): boolean { return this.inChain }

  push (ru: Buffer, bci: boolean, eci: boolean): ReassemblyResult {
    if (bci && this.inChain) { this.reset(); return { kind: 'error', sense: Sense.CHAINING_ERROR, reason: 'begin-chain while a chain is in progress' } }
    if (!bci && !this.inChain) return { kind: 'error', sense: Sense.CHAINING_ERROR, reason: 'middle/last RU without a chain in progress' }
    this.bytes += ru.length
    if (this.bytes > this.maxBytes) { this.reset(); return { kind: 'error', sense: Sense.INSUFFICIENT_RESOURCE, reason: `chain exceeds ${this.maxBytes} bytes` } }
    this.parts.push(ru)
    this.inChain = !eci
    if (!eci) return { kind: 'partial' }
    const data = Buffer.concat(this.parts)
    const rus = this.parts.length
    this.reset()
    return { kind: 'complete', data, rus }
  }

  reset (): void { this.parts = []; this.bytes = 0; this.inChain = false }
}
