// Where session audit records go (lib/gateway/audit.ts, docs/operations.md "Audit records"): the
// log as `event: "session_audit"`, or one JSON line each appended to audit.file, reopened after
// log rotation (SIGHUP), switched by a reload, off when disabled; and the record's own fields
// (lib/gateway/session-record.ts).
import t from 'tap'
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { ErrorCodes } from '../../lib/errors.js'
import { AuditLog } from '../../lib/gateway/audit.js'
import { SessionActivity, sessionAuditRecord, sessionFacts, splitHostPort, type SessionSource } from '../../lib/gateway/session-record.js'
import { createLogger, silentLogger } from '../../lib/observability/index.js'
import { until } from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-audit-'))

function source (over: Partial<SessionSource> = {}): SessionSource {
  const activity = new SessionActivity()
  activity.recordsIn = 3
  activity.recordsOut = 5
  activity.application = 'DEMO'
  return {
    client: '[2001:db8::7]:40001',
    proxied: true,
    tls: undefined,
    listener: 'tn3270',
    lease: { lu: 'GW1A001', pool: 'HOSTA', host: 'HOSTA' },
    session: { deviceType: 'IBM-3278-2-E', mode: 'tn3270e', socket: { bytesRead: 120, bytesWritten: 4096 } },
    activity,
    startedAt: Date.parse('2026-01-02T03:04:05.000Z'),
    ...over,
  }
}

const record = () => sessionAuditRecord(source(), Date.parse('2026-01-02T03:04:07.500Z'), 'client closed: peer closed the connection')
const lines = (file: string): Array<Record<string, unknown>> => readFileSync(file, 'utf8').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)

t.test('the record: client address and port, what the session was given, times, counts each way, end reason', async t => {
  t.same(record(), {
    clientAddress: '2001:db8::7', clientPort: 40001, proxied: true, tls: null, listener: 'tn3270', pool: 'HOSTA', lu: 'GW1A001', host: 'HOSTA',
    application: 'DEMO', deviceType: 'IBM-3278-2-E', mode: 'tn3270e', bytesIn: 120, bytesOut: 4096, recordsIn: 3, recordsOut: 5,
    start: '2026-01-02T03:04:05.000Z', end: '2026-01-02T03:04:07.500Z', durationMs: 2500, endReason: 'client closed: peer closed the connection',
  })
  t.match(sessionFacts(source({ tls: { terminatedBy: 'gateway', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', certificate: true, verified: true, subject: 'CN=alice', sans: [] } })), { tls: { subject: 'CN=alice', terminatedBy: 'gateway' }, since: '2026-01-02T03:04:05.000Z' })
  const a = new SessionActivity()
  t.match(sessionFacts(source({ activity: a })), { application: null, recordsIn: 0 })
  t.same(splitHostPort('192.0.2.1:23'), { address: '192.0.2.1', port: 23 })
  t.same(splitHostPort('unknown'), { address: 'unknown', port: 0 })
  t.same(splitHostPort('x:y'), { address: 'x', port: 0 })
})

t.test('to the log by default: one info line, event session_audit', async t => {
  const out: Array<Record<string, unknown>> = []
  const sink = new PassThrough()
  sink.on('data', (c: Buffer) => { for (const l of c.toString().split('\n')) if (l !== '') out.push(JSON.parse(l) as Record<string, unknown>) })
  const audit = new AuditLog({ enabled: true }, 'gw1', createLogger({ destination: sink, base: { gateway: 'gw1' } }))
  t.equal(audit.target, 'log')
  audit.write(record())
  await until('the line', () => out.length === 1)
  t.match(out[0], { level: 'info', event: 'session_audit', gateway: 'gw1', lu: 'GW1A001', endReason: /client closed/, msg: 'session audit record' })
  audit.configure({ enabled: false })
  t.equal(audit.target, 'off')
  audit.write(record())
  await audit.close()
  t.equal(out.length, 1, 'disabled: nothing written')
})

t.test('to a file: appended JSON lines, reopened after rotation, switched by a reload', async t => {
  const file = join(dir, 'audit.jsonl')
  writeFileSync(file, '{"earlier":true}\n')
  const audit = new AuditLog({ enabled: true, file }, 'gw1', silentLogger())
  t.teardown(() => audit.close())
  t.equal(audit.target, file)
  audit.write(record())
  await until('appended', () => lines(file).length === 2)
  t.match(lines(file), [{ earlier: true }, { event: 'session_audit', gateway: 'gw1', lu: 'GW1A001', time: /^\d{4}-/ }])
  // logrotate moves the file away, then signals: the next record starts a new file at the path.
  renameSync(file, `${file}.1`)
  audit.reopen()
  audit.write(record())
  await until('a new file', () => { try { return lines(file).length === 1 } catch { return false } })
  t.equal(lines(`${file}.1`).length, 2, 'the rotated file keeps what it had')
  const other = join(dir, 'other.jsonl')
  audit.configure({ enabled: true, file: other })
  audit.write(record())
  await until('the new path', () => { try { return lines(other).length === 1 } catch { return false } })
  t.equal(lines(file).length, 1, 'nothing more in the old path')
  t.throws(() => { audit.configure({ enabled: true, file: join(dir, 'no/such/dir/a.jsonl') }) }, { code: ErrorCodes.CONFIG_INVALID, message: /^config: audit\.file = ".*no\/such\/dir\/a\.jsonl": expected a file the gateway can append to/ })
  t.equal(audit.target, other, 'a path that cannot be opened leaves the old one in use')
  audit.configure({ enabled: true })
  t.equal(audit.target, 'log')
  await audit.close()
  await audit.close()
})

t.test('a file that cannot be opened fails at once', async t => {
  t.throws(() => new AuditLog({ enabled: true, file: dir }, 'gw1', silentLogger()), { code: ErrorCodes.CONFIG_INVALID })
})
