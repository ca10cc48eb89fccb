// KeepAlive engine (KB Q137309; docs/operations.md "KeepAlive"): one outstanding keepalive per
// connection, event 700 per overdue watchdog tick, event 701 and an abort at keepAliveLimit.
export {
  keepAliveStep, initialKeepAliveState,
  type KeepAliveMethod, type ProbeMethod, type CloseKind, type KeepAliveSettings,
  type KeepAliveState, type KeepAliveInput, type KeepAliveAction, type KeepAliveStep,
} from './machine.js'
export { KeepAliveEngine } from './engine.js'
export {
  attachKeepAlive, telnetKeepAliveTarget,
  type KeepAliveTarget, type KeepAliveMetrics, type AttachKeepAliveOptions, type KeepAliveHandle,
  type TelnetKeepAliveSession,
} from './attach.js'
