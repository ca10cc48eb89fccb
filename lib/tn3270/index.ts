export { negotiateServer, DEFAULT_NEGOTIATION_TIMEOUT } from './negotiate.js'
export { Tn3270ServerSession, type SessionData, type SessionResponse, type Tn3270ServerSessionEvents } from './session.js'
export type { DeviceRequest, DeviceDecision, LuLease, ResourceProvider, NegotiateOptions, RejectReason, RejectInfo } from './types.js'
export {
  Op, REASON_CODE, REJECT_REASONS, reasonName, FUNCTION_CODE, functionName, DATA_TYPE_CODE, dataTypeName,
  ResponseFlag, ResponseKind, RequestFlag, ResponseCode, SEQ_MASK, type Tn3270eFunction, type DataType,
} from './constants.js'
export { encodeHeader, encodeMessage, decodeMessage, HEADER_LENGTH, type Tn3270eHeader, type DecodedMessage } from './header.js'
export { encodeTn3270e, decodeTn3270e, type Tn3270eMessage } from './subneg.js'
export { supportedFunctions, answerFunctionsRequest, isAcceptableIs, type FunctionsReply } from './functions.js'
export {
  parseDeviceType, splitTerminalType, validResourceName, parseUsableArea, MODEL_SIZES, DEFAULT_SIZE,
  READ_PARTITION_QUERY, AID_STRUCTURED_FIELD, type DeviceTypeInfo, type ScreenSize,
} from './devicetype.js'
