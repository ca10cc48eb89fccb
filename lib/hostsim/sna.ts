// The SNA pieces the host simulator uses, in one place: codecs and chaining from the sna module's
// public surface, and the pure pacing engine (lib/sna/pacing.ts, not re-exported by sna/index.ts
// because its BindPacing name differs from the BIND codec's).
export * from '../sna/index.js'
export { PacingSender, PacingReceiver, PacingSense, type Ipm as PacingIpm } from '../sna/pacing.js'
