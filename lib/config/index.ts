// lib/config's public surface (docs/internals.md): loading, references, the schemas and the
// reference docs/configuration.md is generated from.
export { loadConfig, ENV_PREFIX, type LoadOptions } from './load.js'
export { readConfigFile } from './load.js'
export { roleOfConfig, type ConfigRole } from './role.js'
export { parseDuration, parseSize, formatDuration } from './units.js'
export { expandReferences, replicaOrdinal } from './expand.js'
export { expandLuEntry, genericLuNames, SNA_NAME } from './lu-names.js'
export { isLoopbackHost, typeLabel, type AdminConfig } from './fields.js'
export { formatConfig, redactConfig, type ConfigFormat } from './print.js'
export { configReference, replaceReference, referenceRows, type ReferenceRow } from './reference.js'
export * from './gateway.js'
export * from './hostsim.js'
export * from './proxy.js'
