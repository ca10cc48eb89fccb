// Public surface of listen/: what gateway and proxy listeners share — per-client caps, and the
// ephemeral port range check and reopen backoff of their ports (docs/operations.md "Listener ports").
export { LOCAL_PORT_RANGE_FILE, parsePortRange, readEphemeralRange, inEphemeralRange, type PortRange } from './ephemeral.js'
export { reopenDelay, REOPEN_MIN_MS, REOPEN_MAX_MS } from './reopen.js'
export { ClientLimits, type ClientLimit, type ClientCaps, type ClientSlot, type Admission } from './client-limits.js'
export { PROC_LIMITS_FILE, parseOpenFileLimit, openFileLimit, connectionsWithin } from './open-files.js'
