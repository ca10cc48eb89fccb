// Public surface of the SNA module (docs/internals.md "sna/").
export { SnaMalformedError, ByteReader, hex, keptCopy } from './bytes.js'
export * from './headers.js'
export * from './piu.js'
export * from './ru.js'
export * from './bind.js'
export * from './sense.js'
export * from './chain.js'
export type { Decision, ResponseEvent, ProtocolErrorEvent, RespondOptions, Role } from './requests.js'
export * from './activation.js'
export * from './halfsession.js'
export { DependentLuNode, DependentLu, type DependentLuNodeOptions, type LuState, type LuDataEvent, type LuRequestEvent, type LuEvents, type NodeEvents, type SendDataOpts } from './node.js'
// Pacing (KB Q181737) by name: its IPM type is called PacingIpm here because piu.ts owns `Ipm`.
export {
  CreditGate, creditFromClientState, PacingSense, pacingFromBindRu, pacingWindows,
  PacingSender, PacingReceiver, SessionPacing,
  type CreditDecision, type CreditEvent, type CreditGateOptions, type ClientCreditState,
  type PacingViolation, type PacingIpm, type BindPacingWindows, type PacedRequest, type SenderDecision,
  type SubmitResult, type PacingSenderOptions, type ReceiverDecision, type PacingReceiverOptions,
  type SessionPacingOptions, type IpmDecision,
} from './pacing.js'
