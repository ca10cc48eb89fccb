export { startGateway, type Gateway, type GatewayDeps, type GatewayStatus } from './gateway.js'
export { LuRegistry, Lease, expandPools, type LuDefinition, type LuState, type PoolCounts } from './lu-pool.js'
export { ListenerAllocator } from './allocator.js'
export { ListenerManager } from './listeners.js'

export type { HostSide, ClientBinding } from './host-side.js'
