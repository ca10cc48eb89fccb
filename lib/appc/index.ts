// appc/ public surface (docs/internals.md appc/): LU 6.2 engine (gateway side), LU 6.2 partner
// (host simulator side), the pure decision modules and the wire codecs.
export { AppcEngine, type AppcEngineOptions, type AllocateRequest, type ApingResult, type CnosResult, type CnosTrigger, type ModeInfo, type SessionInfo } from './engine.js'
export { Lu62Partner, builtInTps, type Lu62PartnerOptions, type Lu62PartnerMode, type TpHandler } from './partner.js'
export { Conversation, receiveAll, type ConversationState, type ReceiveResult } from './session.js'
export { isLu62Piu, type AppcTransport, type PiuReceiver } from './transport.js'
export { decideRecovery, recoveryStep, retryCnosCovers, failureLabel, senseHex, type BindFailure, type RecoveryDecision, type RecoverySettings, type RecoveryPhase, type RecoveryEvent } from './recovery.js'
export { canActivate, chooseActivation, bindAdmission, pickFreeSession, idleUnbindAfter, afterConversation, SESTIMEOUT_TICK_MS, type ModeLimits, type ModeCounts, type Polarity } from './limits.js'
export { encodeCnos, decodeCnos, negotiateCnos, acceptCnosReply, checkRequestedLimits, ReplyModifier, SNASVCMG, CNOS_TP, type CnosLimits, type CnosVariable } from './cnos.js'
export { encodeFmh5, decodeFmh5, encodeFmh7, decodeFmh7, attach, decodeAccessSecurity, type Fmh5, type Fmh7, type ConversationType, type SyncLevel } from './fmh.js'
export { encodeGds, decodeGdsAll, GdsParser, encodeLogicalRecord, GDS_CNOS, GDS_APPLICATION_DATA } from './gds.js'
export { buildBind, encodeBind, decodeBind, bindResponseImage, bindMode, maxRu, type Lu62Bind, type BindInit } from './bind62.js'
