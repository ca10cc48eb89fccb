// The one place appc/ imports sna/ (its public index): FID2 TH/RH/PIU codecs, response builders,
// the LU-LU half-session LU 6.2 sessions run on, the sense table, the generic BIND codec and
// UNBIND ("SNA Formats", GA27-3136).
export {
  encodePiu, decodePiu, buildPositiveResponse, buildNegativeResponse, responseSense,
  requestRh, commandRh, RequestCode, UnbindType, encodeUnbind, decodeUnbind,
  encodeBind as encodeBindImage, decodeBind as decodeBindImage, bindDecodeSense, bindPointerSense, bindUserDataField,
  UserDataKey, nameToEbcdic, LuLuHalfSession, Sense, formatSense,
  type Piu, type Rh, type RequestRh, type ResponseRh, type Th, type ResponseMode, type BindImage, type Lu62Ps, type UserDataSubfield,
  type LuLuEvent, type LuLuOptions, type DataEvent, type Decision, type ResponseEvent,
} from '../sna/index.js'
export type { ControlVector } from '../sna/index.js'
