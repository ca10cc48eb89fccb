// The one place appc/ imports sna/ (its public index): FID2 TH/RH/PIU codecs, response builders
// (sna-formats.md §1, §2), the generic BIND codec (§3.6) and UNBIND (§3.7).
export {
  encodePiu, decodePiu, buildPositiveResponse, buildNegativeResponse, responseSense,
  requestRh, commandRh, RequestCode, UnbindType, encodeUnbind, decodeUnbind,
  encodeBind as encodeBindImage, decodeBind as decodeBindImage, bindDecodeSense, bindUserDataField,
  UserDataKey, nameToEbcdic,
  type Piu, type Rh, type RequestRh, type ResponseRh, type Th, type ResponseMode, type BindImage, type Lu62Ps, type UserDataSubfield,
} from '../sna/index.js'
export type { ControlVector } from '../sna/index.js'
