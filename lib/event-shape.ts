// Listener storage of a fixed shape for emitters the gateway keeps for as long as a session lives.
//
// Node's EventEmitter keeps its listeners in a null-prototype object (Node.js lib/events.js),
// which V8 holds as a hash dictionary: about 450 bytes per emitter once a few events are
// listened to, three emitters per idle session (docs/internals.md; bench/README.md, "idle").
// Node's own streams start theirs as an object with every event name present
// (lib/internal/streams/readable.js), which V8 holds in a fixed shape shared by all of them;
// this does the same for ours.

/** Any Node EventEmitter, typed (EventEmitter<Events>) or not. */
interface Emitter { eventNames: () => readonly unknown[] }

/**
 * Starts `emitter`'s listener storage as an object with every name of `names` present (no
 * listeners yet). Removing the last listener of an event deletes its name (Node's EventEmitter),
 * and V8 keeps the shape only when the name deleted is the last one present: so list last the
 * events whose listeners go away while the emitter lives, in the order they are removed. Any other
 * removal just falls back to the dictionary Node would have used anyway. Does nothing once the
 * emitter has listeners.
 */
export function presetEventShape (emitter: Emitter, names: readonly string[]): void {
  if (emitter.eventNames().length > 0) return
  const events: Record<string, undefined> = {}
  for (const name of names) events[name] = undefined
  Object.assign(emitter, { _events: events })
}

/**
 * Gives `emitter`'s listener storage that fixed shape again, keeping every listener it has: for an
 * emitter that outlives its sessions (a dependent LU serves one client after another), whose
 * storage fell back to a dictionary when an earlier session's listeners went. Names not in
 * `names` (and symbol-keyed ones such as events.errorMonitor) are kept after them.
 */
export function restoreEventShape (emitter: Emitter, names: readonly string[]): void {
  const current = (emitter as unknown as { _events?: Record<string | symbol, unknown> })._events ?? {}
  const events: Record<string | symbol, unknown> = {}
  for (const name of names) events[name] = current[name]
  for (const key of Reflect.ownKeys(current)) if (!(key in events)) events[key] = current[key]
  Object.assign(emitter, { _events: events })
}
