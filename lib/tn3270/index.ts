// TN3270 (RFC 1576, RFC 1646) and TN3270E (RFC 2355) for both roles (docs/tn3270.md): the server
// negotiation a gateway or a front proxy runs with a client, the client negotiation a gateway
// runs toward a host, one session core under both, and the codecs they share.
export { negotiateServer, DEFAULT_NEGOTIATION_TIMEOUT } from './negotiate-server.js'
export { negotiateClient, type ClientNegotiateOptions } from './negotiate-client.js'
export { Tn3270Session, type Tn3270SessionEvents } from './session.js'
export { Tn3270ServerSession, type Tn3270ServerSessionEvents } from './server-session.js'
export { Tn3270ClientSession, type Tn3270ClientSessionEvents } from './client-session.js'
export { decodeRecord, type SessionData, type SessionResponse, type DecodedRecord } from './record.js'
export { ServerNegotiation, type ServerPhase, type ServerInput, type ServerAction, type ServerResult, type ServerMachineConfig } from './server-machine.js'
export {
  ClientNegotiation, clientFunctions, tn3270eDeviceType,
  type ClientPhase, type ClientInput, type ClientAction, type ClientResult, type ClientMachineConfig,
} from './client-machine.js'
export type { NegotiationInput, CommonAction } from './machine.js'
export {
  encodeSnapshot, decodeSnapshot, SNAPSHOT_VERSION,
  type NegotiationSnapshot, type AgreedOption, type DeviceTypeRequest,
} from './snapshot.js'
export type {
  DeviceRequest, DeviceDecision, LuLease, ResourceProvider, AllocationContext, NegotiateOptions, RejectReason, RejectInfo,
  HandOverDecision, FrontDecision, HandOverProvider, HandedOver,
} from './types.js'
export { isHandOver } from './types.js'
export {
  Op, REASON_CODE, REJECT_REASONS, reasonName, FUNCTION_CODE, functionName, DATA_TYPE_CODE, dataTypeName,
  ResponseFlag, ResponseKind, RequestFlag, ResponseCode, SEQ_MASK, type Tn3270eFunction, type DataType,
} from './constants.js'
export { encodeHeader, encodeMessage, decodeMessage, HEADER_LENGTH, type Tn3270eHeader, type DecodedMessage } from './header.js'
export { encodeTn3270e, decodeTn3270e, type Tn3270eMessage } from './subneg.js'
export { encodeTtype, decodeTtype, TTYPE_IS, TTYPE_SEND, type TtypeMessage } from './ttype.js'
export { supportedFunctions, answerFunctionsRequest, isAcceptableIs, type FunctionsReply } from './functions.js'
export {
  parseDeviceType, splitTerminalType, validResourceName, parseUsableArea, MODEL_SIZES, DEFAULT_SIZE,
  READ_PARTITION_QUERY, AID_STRUCTURED_FIELD, type DeviceTypeInfo, type ScreenSize,
} from './devicetype.js'
