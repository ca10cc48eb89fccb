export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.js'
export { createRegistry, createGatewayMetrics, createProxyMetrics, Registry, type GatewayMetrics, type ProxyMetrics } from './metrics.js'
export { startAdminServer, sendJson, readBody, type AdminOptions, type AdminServer, type RouteHandler } from './admin.js'
