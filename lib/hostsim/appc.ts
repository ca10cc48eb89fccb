// Adapter between a gateway link and the LU 6.2 partner (appc/Lu62Partner): LU 6.2 PIUs (ODAI = 1,
// docs/internals.md hostlink/) go to the partner, except a BIND the `rejectBinds` fault refuses:
// that one gets -RSP(BIND) with the fault's sense here ("SNA Formats", GA27-3136, responses: RU = sense + X'31';
// a -RSP(BIND) ends that activation and nothing else). SNASVCMG BINDs are never
// refused by the fault, so CNOS can still run and the gateway's RETRYCNOS/RENEGLIMITS recovery
// (KB Q107866) is what gets exercised. The partner's own injectBindFailure stays available too.
import type { Logger } from '../observability/index.js'
import { SNASVCMG, bindMode, decodeBind as decodeLu62Bind, type Lu62Partner } from '../appc/index.js'
import { decodePiu, negativeResponse, RequestCode } from '../sna/index.js'
import { hex8, type Faults } from './faults.js'
import type { AppcSink } from './pu.js'

export class BindRejectingAppcSink implements AppcSink {
  constructor (
    private readonly faults: Faults,
    private readonly partner: Lu62Partner,
    private readonly linkId: string,
    private readonly send: (piu: Buffer) => void,
    private readonly log: Logger,
  ) {}

  receive (raw: Buffer): void {
    const sense = this.bindFault(raw)
    if (sense !== undefined) {
      this.send(negativeResponse(raw, sense))
      return
    }
    this.partner.receive(raw, this.linkId)
  }

  private bindFault (raw: Buffer): number | undefined {
    let piu
    try {
      piu = decodePiu(raw)
    } catch {
      return undefined // the partner logs and drops what it cannot decode
    }
    const rh = piu.rh
    if (rh === undefined || rh.rri || rh.category !== 'SC' || piu.ru[0] !== RequestCode.BIND) return undefined
    let names: string[]
    try {
      const bind = decodeLu62Bind(piu.ru)
      if (bindMode(bind) === SNASVCMG) return undefined
      names = [bind.plu, bind.slu].map(n => n.split('.').pop() ?? n)
    } catch {
      return undefined // malformed: the partner answers 0835
    }
    const sense = this.faults.takeBindReject(names)
    if (sense !== undefined) {
      this.log.info({ event: 'appc_bind_fault', plu: names[0], slu: names[1], sense: hex8(sense), link: this.linkId }, 'LU 6.2 BIND refused by fault')
    }
    return sense
  }
}
