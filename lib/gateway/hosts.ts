// Creates the host side for each configured host by link type, and waits (on their events, not
// by polling) for their links during start-up.
import type { Clock } from '../clock.js'
import type { GatewayHostConfig, SnaLinkConfig } from '../config/index.js'
import type { HostSide, HostSideContext } from './host-side.js'
import { SnaHostSide } from './sna-host.js'
import { createTn3270HostSide } from './tn3270-host.js'

export function createHostSide (host: GatewayHostConfig, ctx: HostSideContext): HostSide {
  if (host.link.type === 'sna') return new SnaHostSide(host as GatewayHostConfig & { link: SnaLinkConfig }, ctx)
  return createTn3270HostSide(host, ctx)
}

/**
 * Resolves once every host side is up, or after `ms` with whatever came up: a gateway whose host
 * is down still starts (its listeners stay closed until an LU can be served, KB Q101235).
 */
export async function awaitHostsUp (hosts: readonly HostSide[], ms: number, clock: Clock): Promise<void> {
  const down = new Set(hosts.filter(h => !h.up))
  if (down.size === 0) return
  await new Promise<void>(resolve => {
    const offs: Array<() => void> = []
    const finish = (): void => {
      clock.clearTimeout(timer)
      for (const off of offs) off()
      resolve()
    }
    const timer = clock.setTimeout(finish, ms)
    for (const h of down) {
      const onUp = (): void => {
        down.delete(h)
        if (down.size === 0) finish()
      }
      h.on('up', onUp)
      offs.push(() => { h.off('up', onUp) })
    }
  })
}
