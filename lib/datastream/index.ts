// Public surface of datastream/: 3270 data stream build/parse and EBCDIC code pages.
// Other modules import only from here (docs/internals.md).

export {
  type CodePage, CODE_PAGES, DEFAULT_CODE_PAGE, EBCDIC_SUBSTITUTE,
  encode, encodeInto, latin1Table, decode, decodeByte, encodeChar, isCodePage,
} from './ebcdic.js'
export {
  Command, type CommandName, LocalCommand, commandName, commandHasWcc,
  WccBit, Order, type OrderName, FormatControl, isFormatControl, FieldBit, ExtendedAttribute, CODE_TABLE,
  Aid, type AidName, aidName, pfAid, SHORT_READ_AIDS,
  StructuredFieldId, ReadPartitionType, QueryCode, type QueryCodeName, queryCodeName, MODEL_SIZES,
} from './constants.js'
export {
  type AddressMode, addressModeFor, encodeAddress, decodeAddress, addressOf, rowColOf,
  MAX_12BIT_ADDRESS, MAX_14BIT_ADDRESS,
} from './address.js'
export {
  type FieldAttribute, type FieldAttributeOptions, type Intensity, type Wcc, type WccOptions,
  encodeFieldAttribute, decodeFieldAttribute, fieldAttributeBits, encodeWcc, decodeWcc,
} from './fields.js'
export {
  type OutboundRecord, type OutboundOrder, type AttributePair, type StructuredField, type ParseOptions,
  parseOutbound, parseOrders, parseStructuredFields,
} from './outbound.js'
export { ScreenWriter, type ScreenWriterOptions, type ExtendedFieldOptions, type InputFieldOptions } from './writer.js'
export { RecordTemplate } from './template.js'
export { Screen, type ScreenOptions, type ScreenField } from './screen.js'
export {
  type InboundRecord, type InboundField, type InboundOptions, type QueryReply, type UsableArea, type CharacterSet,
  type BuildInboundOptions, type BuildInboundField, type BuildQueryReplyOptions,
  parseInbound, buildInbound, buildQueryReply,
} from './inbound.js'
