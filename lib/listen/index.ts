// Public surface of listen/: what gateway and proxy listeners share about their ports — the
// ephemeral port range check and the reopen backoff (docs/operations.md "Listener ports").
export { LOCAL_PORT_RANGE_FILE, parsePortRange, readEphemeralRange, inEphemeralRange, type PortRange } from './ephemeral.js'
export { reopenDelay, REOPEN_MIN_MS, REOPEN_MAX_MS } from './reopen.js'
