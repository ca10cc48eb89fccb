// A small TN3270 gateway for the routing tests (docs/routing.md): it reads the proxy's PROXY v2
// header (HAProxy doc/proxy-protocol.txt), resumes the handed-over negotiation from the TLV 0xE0
// snapshot with lib/tn3270's negotiateServer (docs/tn3270.md), hands out LUs from in-memory pools,
// paints `HELLO <lu>` once in session, and serves a gateway-shaped /status (pools with spare and
// luRanges). Misbehaviours on request: close at once, stall, or ignore the hand-over and start a
// fresh negotiation (a listener that does not take the proxy's header).
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { compactLuNames } from '../../lib/gateway/lu-pool.js'
import { findTlv, PP2_TYPE_TN3270_NEGOTIATION, readProxyHeader } from '../../lib/proxy-protocol/index.js'
import { decodeSnapshot, negotiateServer, type DeviceDecision, type DeviceRequest, type Tn3270ServerSession } from '../../lib/tn3270/index.js'
import { encode } from '../../lib/datastream/index.js'

export type TnBehaviour = 'serve' | 'close' | 'stall' | 'fresh'

export class TnGateway {
  behaviour: TnBehaviour = 'serve'
  /** Refuse every request with this reason, whatever /status says (a race lost to another proxy). */
  refuseAll: DeviceDecision | undefined
  readonly held = new Set<string>()
  readonly requests: DeviceRequest[] = []
  readonly sessions = new Set<Tn3270ServerSession>()
  accepted = 0
  port = 0
  adminPort = 0
  private server: net.Server | undefined
  private admin: http.Server | undefined
  private readonly sockets = new Set<net.Socket>()

  constructor (readonly name: string, readonly pools: Array<{ name: string, lus: string[] }>) {}

  get adminUrl (): string { return `http://127.0.0.1:${this.adminPort}` }

  async start (): Promise<this> {
    this.server = net.createServer({ pauseOnConnect: true }, s => { void this.accept(s) })
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    this.port = (this.server.address() as AddressInfo).port
    this.admin = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(this.status()))
    })
    this.admin.listen(0, '127.0.0.1')
    await once(this.admin, 'listening')
    this.adminPort = (this.admin.address() as AddressInfo).port
    return this
  }

  async stop (): Promise<void> {
    this.server?.close()
    for (const s of this.sockets) s.destroy()
    this.admin?.closeAllConnections()
    await new Promise<void>(resolve => this.admin === undefined ? resolve() : this.admin.close(() => resolve()))
  }

  status (): unknown {
    const pools = this.pools.map(p => {
      const free = p.lus.filter(l => !this.held.has(l)).length
      return { name: p.name, host: 'H', total: p.lus.length, free, inUse: p.lus.length - free, unavailable: 0, spare: free, luRanges: compactLuNames(p.lus) }
    })
    return {
      role: 'gateway', name: this.name, ready: true, draining: false,
      listeners: [{ name: 'tn3270', address: `127.0.0.1:${this.port}`, open: true, pools: this.pools.map(p => p.name) }],
      pools, hostLinks: [], sessions: { active: this.sessions.size, negotiating: 0 },
    }
  }

  private allocate (req: DeviceRequest): DeviceDecision {
    this.requests.push(req)
    if (this.refuseAll !== undefined) return this.refuseAll
    const name = req.resourceName
    const pool = name === undefined ? this.pools.find(p => p.lus.some(l => !this.held.has(l))) : this.pools.find(p => p.name === name)
    const lu = pool !== undefined
      ? pool.lus.find(l => !this.held.has(l))
      : this.pools.some(p => p.lus.includes(name!)) ? (this.held.has(name!) ? undefined : name) : null
    if (lu === null) return { ok: false, reason: 'INV-NAME', message: `no LU or pool named ${name}` }
    if (lu === undefined) return { ok: false, reason: 'DEVICE-IN-USE', message: 'nothing free' }
    this.held.add(lu)
    return { ok: true, lu, bindImage: false, lease: { lu, pool: pool?.name ?? 'P', release: () => { this.held.delete(lu) } } }
  }

  private async accept (socket: net.Socket): Promise<void> {
    this.accepted++
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => {})
    if (this.behaviour === 'close') { socket.destroy(); return }
    socket.resume()
    const id = await readProxyHeader(socket, { mode: 'required', trustedSources: ['127.0.0.0/8'] }, 2000).catch(() => undefined)
    if (id === undefined || this.behaviour === 'stall') return
    const tlv = findTlv(id.tlvs, PP2_TYPE_TN3270_NEGOTIATION)
    const resume = tlv === undefined || this.behaviour === 'fresh' ? undefined : decodeSnapshot(tlv)
    const negotiation = negotiateServer(socket, { provider: { allocate: r => this.allocate(r) }, client: id.client, timeout: 3000, ...(resume === undefined ? {} : { resume }) })
    // readProxyHeader left the socket paused; the negotiator listens now.
    socket.resume()
    try {
      const session = await negotiation
      this.sessions.add(session)
      session.once('close', () => { this.sessions.delete(session); session.lease.release() })
      // Erase/Write, WCC restore keyboard, the text (GA23-0059).
      session.send3270(Buffer.from([0xf5, 0xc2, ...encode(`HELLO ${session.lu}`)]))
    } catch { /* the proxy closed a refused hand-over */ }
  }
}
