export { loadConfig, ENV_PREFIX, type LoadOptions } from './load.js'
export { parseDuration, parseSize, formatDuration } from './units.js'
export * from './gateway.js'
export * from './hostsim.js'
