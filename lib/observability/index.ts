// lib/observability's public surface (docs/internals.md): logs, metrics (docs/metrics.md) and the
// admin server with its token check and status page (docs/operations.md).
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.js'
export { createRegistry, createGatewayMetrics, createProxyMetrics, createTlsMetrics, Registry, type GatewayMetrics, type ProxyMetrics, type ReloadResult, type TlsMetrics } from './metrics.js'
export { startAdminServer, sendJson, readBody, type AdminOptions, type AdminServer, type RouteHandler } from './admin.js'
export { withRunInfo } from './admin.js'
export { bearerMatches } from './admin-auth.js'
export { apiRoutes, badRequest, notFound, conflict, onlyKeys, type ApiRoute, type ApiRequest, type ApiMethod } from './api.js'
export { buildInfo, type BuildInfo } from './build-info.js'
export { reportReload } from './reload-log.js'
export { renderStatus } from './status-render.js'
export { statusPage, STATUS_PAGE_CSP } from './status-page.js'
