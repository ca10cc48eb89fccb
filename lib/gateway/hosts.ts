// Creates the host side for each configured host by link type.
import type { GatewayHostConfig, SnaLinkConfig, Tn3270LinkConfig } from '../config/index.js'
import type { RouteHandler } from '../observability/index.js'
import type { HostSide } from './host-side.js'
import { SnaHostSide, type HostSideContext } from './sna-host.js'
import { createTn3270HostSide } from './tn3270-host.js'

export interface HostFactoryContext extends HostSideContext {
  addRoute: (route: RouteHandler) => void
}

export function createHostSide (host: GatewayHostConfig, ctx: HostFactoryContext): HostSide {
  if (host.link.type === 'sna') return new SnaHostSide(host as GatewayHostConfig & { link: SnaLinkConfig }, ctx)
  return createTn3270HostSide(host as GatewayHostConfig & { link: Tn3270LinkConfig }, ctx)
}
