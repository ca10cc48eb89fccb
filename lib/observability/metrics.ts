// Every metric in docs/metrics.md, defined once. Names and labels are a contract with
// dashboards, alert rules and tests: change them only together with deploy/prometheus and
// deploy/grafana. Labels are bounded sets (pool, host, listener, backend, partner, mode); never
// client address or LU.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { buildInfo } from './build-info.js'

export { Registry }

export function createRegistry (): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
  // check metrics rejects them); process_* and the other nodejs_* metrics cover the same ground.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  // The `*_build_info` gauge idiom (Prometheus "Writing exporters"): value 1, what runs in labels.
  const { version, node } = buildInfo()
  new Gauge({ name: 'tn3270_build_info', help: 'Always 1; labels say which tn3270-lb version and Node.js runtime this process is', labelNames: ['version', 'node'] as const, registers: [registry] })
    .set({ version, node }, 1)
  return registry
}

/** RFC 2562 default response-time bucket boundaries are 1, 2, 5 and 10 s; finer ones below. */
const RESPONSE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]
const FAST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** How a config reload ended (docs/operations.md "Reload"). */
export type ReloadResult = 'applied' | 'unchanged' | 'refused'

/** Same name in every role's registry; `role` tells them apart where they are scraped together. */
function configReloads (registers: Registry[]) {
  return new Counter({ name: 'tn3270_config_reloads_total', help: 'Config reloads (SIGHUP, POST /v1/reload) by result: applied, unchanged, refused (nothing applied)', labelNames: ['role', 'result'] as const, registers })
}

/**
 * TLS on client-facing listeners, the same names for both roles (`role` = gateway | proxy):
 * handshakes by result and the served certificate's notAfter (for the expiry alert).
 */
export function createTlsMetrics (registry: Registry) {
  const registers = [registry]
  return {
    handshakes: new Counter({ name: 'tn3270_tls_handshakes_total', help: 'Clients taken into TLS (or not) on a listener, by result: ok, plain, failed, timeout, declined, closed, plain_listener', labelNames: ['role', 'listener', 'result'] as const, registers }),
    certificateExpiry: new Gauge({ name: 'tn3270_tls_certificate_expiry_seconds', help: 'notAfter of the certificate the listener serves, as Unix time in seconds', labelNames: ['role', 'listener'] as const, registers }),
  }
}
export type TlsMetrics = ReturnType<typeof createTlsMetrics>

export function createGatewayMetrics (registry: Registry) {
  const registers = [registry]
  return {
    tls: createTlsMetrics(registry),
    clientLimitRefusals: new Counter({ name: 'tn3270_gateway_client_limit_refusals_total', help: 'Connections refused because their client (by real address) was at a per-client cap: pending (negotiation.maxPendingPerClient) or sessions (maxSessionsPerClient)', labelNames: ['listener', 'limit'] as const, registers }),
    lus: new Gauge({ name: 'tn3270_gateway_lus', help: 'LUs per pool and its host by state (free, in_use, unavailable; disabled LUs count as unavailable)', labelNames: ['pool', 'host', 'state'] as const, registers }),
    listenerOpen: new Gauge({ name: 'tn3270_gateway_listener_open', help: '1 while the listener accepts connections, 0 while closed (CloseListenSocket)', labelNames: ['listener'] as const, registers }),
    listenerCloses: new Counter({ name: 'tn3270_gateway_listener_closes_total', help: 'Times a listener closed because no LU could be served', labelNames: ['listener'] as const, registers }),
    listenerReopenFailures: new Counter({ name: 'tn3270_gateway_listener_reopen_failures_total', help: 'Attempts to reopen a closed listener that failed (port taken: EADDRINUSE); each is retried', labelNames: ['listener'] as const, registers }),
    connections: new Counter({ name: 'tn3270_gateway_connections_total', help: 'Client connections by result (RFC 2561 InConnects, ConnResrceRejs, ConnErrorRejs)', labelNames: ['listener', 'result'] as const, registers }),
    sessionsActive: new Gauge({ name: 'tn3270_gateway_sessions_active', help: 'Client sessions holding an LU, by pool and mode (tn3270, tn3270e)', labelNames: ['pool', 'mode'] as const, registers }),
    deviceTypeRejects: new Counter({ name: 'tn3270_gateway_device_type_rejects_total', help: 'TN3270E DEVICE-TYPE REJECTs sent, by reason', labelNames: ['reason'] as const, registers }),
    negotiationSeconds: new Histogram({ name: 'tn3270_gateway_negotiation_seconds', help: 'Time from accept to a negotiated TN3270(E) session', buckets: FAST_BUCKETS, registers }),
    responseTimeSeconds: new Histogram({ name: 'tn3270_gateway_response_time_seconds', help: 'Time from a client inbound record to the host reply that unlocks the keyboard (RFC 2562)', labelNames: ['pool'] as const, buckets: RESPONSE_BUCKETS, registers }),
    hostLinkUp: new Gauge({ name: 'tn3270_gateway_host_link_up', help: '1 while the host link is up and its LUs are active', labelNames: ['host'] as const, registers }),
    pacingCreditWaitSeconds: new Histogram({ name: 'tn3270_gateway_pacing_credit_wait_seconds', help: 'Time a host pacing window waited for client credit before the IPR was sent', buckets: FAST_BUCKETS, registers }),
    pacingStalledSessions: new Gauge({ name: 'tn3270_gateway_pacing_stalled_sessions', help: 'Sessions waiting for client credit longer than pacing.stallAfter', registers }),
    keepaliveSent: new Counter({ name: 'tn3270_gateway_keepalive_sent_total', help: 'Keepalives sent to clients', registers }),
    keepaliveOverdue: new Counter({ name: 'tn3270_gateway_keepalive_overdue_total', help: 'Watchdog ticks with a keepalive still outstanding (event 700)', registers }),
    keepaliveAborts: new Counter({ name: 'tn3270_gateway_keepalive_aborts_total', help: 'Connections aborted at keepAliveLimit (event 701), by close kind', labelNames: ['close'] as const, registers }),
    appcSessions: new Gauge({ name: 'tn3270_gateway_appc_sessions', help: 'LU 6.2 sessions by partner, mode, polarity (winner, loser) and state (bound, in_use, pending)', labelNames: ['partner', 'mode', 'polarity', 'state'] as const, registers }),
    appcCnos: new Counter({ name: 'tn3270_gateway_appc_cnos_total', help: 'CNOS exchanges by trigger (start_of_day, operator, recovery) and result', labelNames: ['partner', 'mode', 'trigger', 'result'] as const, registers }),
    appcBindFailures: new Counter({ name: 'tn3270_gateway_appc_bind_failures_total', help: 'LU 6.2 BINDs refused by the partner, by sense (UNBIND for a BIND answered by UNBIND)', labelNames: ['partner', 'mode', 'sense'] as const, registers }),
    appcSestimeoutUnbinds: new Counter({ name: 'tn3270_gateway_appc_sestimeout_unbinds_total', help: 'Idle contention-winner sessions unbound by SESTIMEOUT', labelNames: ['partner', 'mode'] as const, registers }),
    configReloads: configReloads(registers),
  }
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>

export function createProxyMetrics (registry: Registry) {
  const registers = [registry]
  return {
    tls: createTlsMetrics(registry),
    clientLimitRefusals: new Counter({ name: 'tn3270_proxy_client_limit_refusals_total', help: 'Client connections refused at accept because their address was at a per-client cap: pending (maxPendingPerClient) or sessions (maxSessionsPerClient)', labelNames: ['listener', 'limit'] as const, registers }),
    listenerOpen: new Gauge({ name: 'tn3270_proxy_listener_open', help: '1 while the proxy listener accepts, 0 while closed because no backend can take a client', labelNames: ['listener'] as const, registers }),
    listenerReopenFailures: new Counter({ name: 'tn3270_proxy_listener_reopen_failures_total', help: 'Attempts to reopen a closed listener that failed (port taken: EADDRINUSE); each is retried', labelNames: ['listener'] as const, registers }),
    connections: new Counter({ name: 'tn3270_proxy_connections_total', help: 'Client connections by result (forwarded, no_backend, error)', labelNames: ['listener', 'result'] as const, registers }),
    sessionsActive: new Gauge({ name: 'tn3270_proxy_sessions_active', help: 'Client sessions being relayed', labelNames: ['listener'] as const, registers }),
    backendUp: new Gauge({ name: 'tn3270_proxy_backend_up', help: '1 while the backend is up (status poll and passive checks)', labelNames: ['backend'] as const, registers }),
    backendSessionsActive: new Gauge({ name: 'tn3270_proxy_backend_sessions_active', help: 'Sessions this proxy relays to the backend', labelNames: ['backend'] as const, registers }),
    backendLusFree: new Gauge({ name: 'tn3270_proxy_backend_lus_free', help: 'Free LUs the backend reported in its last /status', labelNames: ['backend'] as const, registers }),
    backendConnectErrors: new Counter({ name: 'tn3270_proxy_backend_connect_errors_total', help: 'Failed backend connects by reason (refused, timeout, reset, other)', labelNames: ['backend', 'reason'] as const, registers }),
    failovers: new Counter({ name: 'tn3270_proxy_failovers_total', help: 'Client connections that needed another backend after a failed connect', labelNames: ['listener'] as const, registers }),
    backendConnectSeconds: new Histogram({ name: 'tn3270_proxy_backend_connect_seconds', help: 'Backend TCP connect time', buckets: FAST_BUCKETS, registers }),
    // tn3270e routing (docs/routing.md)
    routingDecisions: new Counter({ name: 'tn3270_proxy_routing_decisions_total', help: 'Device requests routed: kind (generic, pool, lu, associate, unknown) and result (handed_over, or the REJECT reason the client got, or aborted)', labelNames: ['listener', 'kind', 'result'] as const, registers }),
    handoverRefusals: new Counter({ name: 'tn3270_proxy_handover_refusals_total', help: 'Hand-overs a gateway did not take after the connect, by reason (its REJECT reason, ttype_send, closed, timeout, protocol); retried invisibly on another gateway', labelNames: ['backend', 'reason'] as const, registers }),
    handoverSeconds: new Histogram({ name: 'tn3270_proxy_handover_seconds', help: 'Client accept to hand-over accepted by a gateway (negotiation up to the device request, choice, connect, the gateway\'s answer)', buckets: FAST_BUCKETS, registers }),
    affinity: new Counter({ name: 'tn3270_proxy_affinity_total', help: 'Reconnects within affinity.keepFor: kept = got its previous LU, lost = that LU could not be had', labelNames: ['listener', 'result'] as const, registers }),
    backendPoolLusFree: new Gauge({ name: 'tn3270_proxy_backend_pool_lus_free', help: 'LUs a new client can get per pool of the backend, in its last /status (tn3270e routing)', labelNames: ['backend', 'pool'] as const, registers }),
    configReloads: configReloads(registers),
  }
}
export type ProxyMetrics = ReturnType<typeof createProxyMetrics>
