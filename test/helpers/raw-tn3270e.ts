// The old name of the raw TN3270E test client, kept only while test/e2e/gateway-pending-cap.test.ts
// and test/e2e/gateway-inband-refusal.test.ts still import it: the one implementation is E2eClient
// (e2e-tn3270-client.ts). Those tests can call `E2eClient.open(port)` and `destroy()` instead,
// and this file can then go.
import { E2eClient } from './e2e-tn3270-client.js'

export interface RawClientOptions {
  port: number
  host?: string
  /** CONNECT name (LU or pool); undefined = generic. */
  resource?: string
  /** Answer DO TIMING-MARK with WONT (like x3270); false = stay silent. */
  answerTimingMark?: boolean
}

export interface RawSession {
  /** The LU the server named in DEVICE-TYPE IS. */
  readonly lu: string
  readonly client: E2eClient
  close: () => void
}

export const RawTn3270eClient = {
  /** A negotiated session showing its first screen (E2eClient.open). */
  async connect (opts: RawClientOptions): Promise<RawSession> {
    const client = await E2eClient.open(opts.port, { host: opts.host, connect: opts.resource, answerTimingMark: opts.answerTimingMark })
    return { lu: client.lu ?? '', client, close: () => client.destroy() }
  },
}
