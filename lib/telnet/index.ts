export * from './codes.js'
export { TelnetParser, DEFAULT_MAX_RECORD, DEFAULT_MAX_SUBNEG, type TelnetEvent, type ParserLimits } from './parser.js'
export { OptionTable, type Side, type QState, type QQueue, type Negotiation, type OptionChange, type OptionResult, type OptionPolicy } from './options.js'
export { TelnetConnection, type TelnetConnectionOptions, type TelnetConnectionEvents } from './connection.js'
