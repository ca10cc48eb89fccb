// Public surface of lib/proxy, the front proxy (docs/internals.md "proxy/"): listeners with
// LU-aware balancing, invisible failover, its own CloseListenSocket (KB Q101235), PROXY v2 toward
// gateways (lib/proxy-protocol), admin HTTP and a soft-stop drain. Other modules import only this.
export { startProxy, type Proxy, type ProxyDeps } from './proxy.js'
export type { ShutdownOptions, LifecycleState } from './lifecycle.js'
export type { ProxyStatus } from './status.js'
export type { ProxyListenerStatus } from './frontend.js'
export type { DrainReport } from './drain.js'
export type { BackendStatus } from './pool.js'
export { chooseBackend, canServe, eligibility, compareBackends, nextTransition, type BackendView, type BackendStatusView, type Eligibility } from './balancer.js'
export { parseGatewayStatus, type GatewayCapacity } from './status-poll.js'
export { resolveDnsSource, systemResolver, type Resolver, type SrvRecord } from './discovery.js'
export { startProxyPrimary, serveAsWorker, workerCount, workerIndex, workerAdminPort, restartDelay, WORKER_INDEX_ENV, RESTART_MIN_MS, RESTART_MAX_MS, RESTART_RESET_AFTER_MS, type PrimaryOptions, type ProxyPrimary, type WorkerRole, type WorkersSetting } from './workers.js'
export { mergeWorkerStatus, type PrimaryStatus, type WorkerStatus } from './worker-status.js'
