// Creates the host side for each configured host by link type.
import type { GatewayHostConfig, SnaLinkConfig } from '../config/index.js'
import type { RouteHandler } from '../observability/index.js'
import type { HostSide } from './host-side.js'
import { SnaHostSide, type HostSideContext } from './sna-host.js'

export interface HostFactoryContext extends HostSideContext {
  addRoute: (route: RouteHandler) => void
}

export function createHostSide (host: GatewayHostConfig, ctx: HostFactoryContext): HostSide {
  if (host.link.type === 'sna') return new SnaHostSide(host as GatewayHostConfig & { link: SnaLinkConfig }, ctx)
  throw new Error(`hosts.${host.name}.link.type = tn3270: not wired yet`)
}
