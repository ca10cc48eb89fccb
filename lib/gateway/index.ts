// gateway/ public surface (docs/internals.md gateway/): startGateway and what its callers and
// tests need to see of a running gateway.
export { startGateway, type Gateway, type GatewayDeps, type GatewayStatus } from './gateway.js'
export { LuRegistry, Lease, expandPools, type AdminState, type LuDefinition, type LuState, type PoolCounts } from './lu-pool.js'
export type { ReloadReport } from './reload.js'
export { SessionActivity, type SessionAuditRecord, type SessionFacts, type TlsIdentity } from './session-record.js'
export { ListenerAllocator } from './allocator.js'
export { ListenerManager } from './listeners.js'
export { appcRoutes } from './appc-routes.js'
export type { ConnectionEndInfo, ConnectionPhase, ConnectionResult, StagePhase, ClientIdentity } from './connection.js'
export type { HostSide, HostSideEvents, ClientBinding, Lu62Port, Lu62Attachment } from './host-side.js'
