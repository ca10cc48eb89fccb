// Front proxy end to end: the gateway names the client's real address behind the proxy (PROXY v2 from
// a trusted network), in its KeepAlive events 700/701 too; and a PROXY v2 header from an untrusted
// address is refused before any negotiation, with a warn line naming PROXY_HEADER_UNTRUSTED
// (HAProxy doc/proxy-protocol.txt).
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { ErrorCodes } from '../../lib/errors.js'
import { encodeProxyV2 } from '../../lib/proxy-protocol/index.js'
import { metricValue, httpRequest } from '../helpers/e2e-gateway.js'
import { capturingLogger, demoGatewayConfig, proxyPort, startDemoLikeGateway, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { until } from '../helpers/until.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'

t.test('keepalive events 700/701 triggered through the proxy name the client, not the proxy', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 1, hosts: 1, lus: 2, sets: ['keepalive.watchdogTimeout=150ms', 'keepalive.keepAliveLimit=3'] })
  const c = await E2eClient.open(proxyPort(d), { answerTimingMark: false })
  t.teardown(() => c.destroy())
  const client = `127.0.0.1:${c.socket.localPort!}`
  t.match(c.lu, /^GW1A/, `raw client through the proxy got ${c.lu}`)
  const closed = new Promise<void>(resolve => c.socket.once('close', () => resolve()))

  const ms = await until('event 701', () => lines.some(l => l.event === 701), 10_000)
  t.comment(`event 701 ${ms} ms after the first screen; ${c.timingMarks} TIMING-MARKs reached the client`)
  const start = lines.find(l => l.event === 'session_start' && l.lu === c.lu)
  t.equal(start?.client, client, `gateway session_start names the client ${client}`)
  const proxyStart = lines.find(l => l.event === 'session_start' && l.role === 'proxy')
  t.equal(proxyStart?.client, client, 'the proxy saw the same client')
  const e700 = lines.filter(l => l.event === 700)
  const e701 = lines.filter(l => l.event === 701)
  t.ok(e700.length >= 2, `event 700 at overdue ticks (${e700.length})`)
  t.ok(e700.every(l => l.client === client), `every event 700 names ${client} (${[...new Set(e700.map(l => l.client))].join(', ')})`)
  t.equal(e701.length, 1, 'event 701 once')
  t.equal(e701[0]!.client, client, `event 701 names ${client}`)
  t.equal(e701[0]!.level, 'error')
  t.equal(e701[0]!.gateway, 'gw1')
  t.equal(e701[0]!.lu, c.lu, 'event 701 names the LU')
  t.equal(c.timingMarks, 1, 'one keepalive at a time: a single TIMING-MARK was ever sent')

  await closed
  t.pass(`the client connection was closed by the abort (${c.closedWith ?? 'closed'})`)
  await until('proxy session ended', () => lines.some(l => l.event === 'session_end' && l.role === 'proxy' && l.client === client))
  const end = lines.find(l => l.event === 'session_end' && l.role === 'proxy' && l.client === client)!
  t.equal(end.termination, 'backend_closed', 'the proxy relayed the gateway\'s close')
})

/** Connects, optionally writes `first`, and collects whatever arrives until the server closes. */
async function probe (port: number, first?: Buffer): Promise<{ socket: Socket, localPort: number, bytes: Buffer, how: string, ms: number }> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const t0 = Date.now()
  const localPort = socket.localPort ?? 0
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  let how = 'closed'
  socket.on('end', () => { how = 'fin' })
  socket.on('error', (err: NodeJS.ErrnoException) => { how = err.code ?? err.message })
  if (first !== undefined) socket.write(first)
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  const timeout = new Promise<void>(resolve => setTimeout(resolve, 5000).unref())
  await Promise.race([closed, timeout])
  if (!socket.destroyed) { how = 'still open after 5 s'; socket.destroy() }
  return { socket, localPort, bytes: Buffer.concat(chunks), how, ms: Date.now() - t0 }
}

for (const mode of ['optional', 'required'] as const) {
  t.test(`a PROXY v2 header from an untrusted address is refused without negotiation (${mode} mode, trusted 10.0.0.0/8)`, async t => {
    const lines: LogLine[] = []
    // The demo provides the host simulator; the gateway under test is started beside it.
    const d = await startProxyDemo(t, lines, { gateways: 1, hosts: 1, lus: 2 })
    const config = demoGatewayConfig({
      index: 9,
      hosts: 1,
      lus: 2,
      port: 0,
      adminPort: 0,
      hostLinkPorts: d.hosts.map(h => h.linkAddress.port),
      proxyProtocol: { mode, trustedSources: ['10.0.0.0/8'] },
    })
    const gw = await startDemoLikeGateway(t, config, capturingLogger(lines))
    const port = gw.listenerPort('tn3270')
    // CloseListenSocket: the listener opens once the host link is up and the LUs are active, which
    // a loaded machine may not have reached when startGateway resolves.
    await until('gw9 listener open', () => gw.status().listeners.every(l => l.open))
    const header = encodeProxyV2({ src: { address: '192.0.2.7', port: 40000 }, dst: { address: '127.0.0.1', port } })
    const r = await probe(port, header)
    const peer = `127.0.0.1:${r.localPort}`
    t.teardown(() => { if (!t.passing()) for (const l of lines) if (l.gateway === 'gw9' && l.level !== 'info') t.comment(JSON.stringify(l)) })
    t.comment(`closed ${r.ms} ms after the header (${r.how}), ${r.bytes.length} bytes received`)
    t.equal(r.bytes.length, 0, 'no byte of negotiation reached the client (no IAC DO TN3270E)')
    t.not(r.how, 'still open after 5 s', 'the connection was closed')
    const warn = await until('connection rejected log line', () => lines.some(l => l.msg === 'connection rejected' && l.client === peer), 5000)
    const line = lines.find(l => l.msg === 'connection rejected' && l.client === peer)!
    t.comment(`warn line (after ${warn} ms): ${JSON.stringify({ level: line.level, client: line.client, code: line.code, reason: line.reason })}`)
    t.equal(line.level, 'warn')
    t.equal(line.code, ErrorCodes.PROXY_HEADER_UNTRUSTED, 'the reason code is PROXY_HEADER_UNTRUSTED')
    t.match(line.reason, /trusted/, 'the message says why')
    t.equal(line.client, peer, 'it names the real peer, not the address the header claimed')
    t.notOk(lines.some(l => l.client === '192.0.2.7:40000'), 'the claimed address appears nowhere')
    t.equal(line.gateway, 'gw9')
    const metrics = (await httpRequest(gw.adminAddress.port, '/metrics')).body
    t.equal(metricValue(metrics, 'tn3270_gateway_connections_total', { listener: 'tn3270', result: 'rejected_error' }), 1, 'counted as rejected_error')
    t.equal(gw.status().pools[0]!.free, 2, 'no LU was touched')

    if (mode === 'optional') {
      // Control: a direct client that sends no header is still served (it is not a proxy).
      const c = await E2eClient.open(port)
      t.teardown(() => c.destroy())
      t.match(c.lu, /^GW9A/, `a direct client without a header is served (${c.lu})`)
    } else {
      // required: a client without a header from an untrusted address is refused as well.
      const bare = await probe(port)
      t.equal(bare.bytes.length, 0, `a headerless client is refused too (${bare.how}, ${bare.ms} ms)`)
    }
  })
}
