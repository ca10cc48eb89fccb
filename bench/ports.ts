// Listener ports for the processes of a run. A CLI listener cannot use port 0: under
// CloseListenSocket (KB Q101235) the gateway and the proxy close their listener when no LU is
// free and reopen it later on the port from their config, so the port is fixed up front. Ports
// come from below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768
// and up here), where an outgoing connection can never take them while a listener is closed;
// each is checked free by binding it first. At the end of a run the same check tells whether
// any listener was left behind.
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'

const LOW = 20_000
const HIGH_DEFAULT = 32_767
const handedOut = new Set<number>()
let next = 0

function ephemeralStart (): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return lo !== undefined && lo > LOW + 1000 ? lo - 1 : HIGH_DEFAULT
  } catch {
    return HIGH_DEFAULT
  }
}

/** Whether nothing listens on host:port (binding it succeeds). */
export async function portIsFree (port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise(resolve => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)))
  })
}

/** A port below the ephemeral range, free right now and not handed out before in this run. */
export async function allocatePort (host = '127.0.0.1'): Promise<number> {
  const high = ephemeralStart()
  if (next === 0) next = LOW + Math.floor(Math.random() * (high - LOW - 2000))
  for (let tries = 0; tries < high - LOW; tries++) {
    const p = next
    next = next >= high ? LOW : next + 1
    if (handedOut.has(p)) continue
    if (await portIsFree(p, host)) {
      handedOut.add(p)
      return p
    }
  }
  throw new Error(`no free port between ${LOW} and ${high}`)
}

/** Ports handed out in this run that something still listens on (should be none after a run). */
export async function leftoverListeners (host = '127.0.0.1'): Promise<number[]> {
  const busy: number[] = []
  for (const p of handedOut) if (!await portIsFree(p, host)) busy.push(p)
  return busy.sort((a, b) => a - b)
}

/** Also checks this port (one the OS chose, e.g. an admin listener on port 0) at the end of the run. */
export function rememberPort (port: number): void {
  handedOut.add(port)
}
