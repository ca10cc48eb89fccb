// The unpaced baseline of the FLOOD scenario, in its own process like the gateway: a plain TCP
// server that, on a client's first bytes, writes the same n records FLOOD n puts on the wire
// (TN3270E header, the DEMO flood record, IAC EOR; RFC 2355 §8.1) as fast as write()/'drain'
// allows, with no pacing. Usage: node plain-server.js <count>; prints its listening line.
import { createServer, type AddressInfo } from 'node:net'
import { floodRecord } from '../lib/hostsim/index.js'
import { frame } from './client.js'

/** The records FLOOD n sends, framed as a TN3270E server puts them on the wire (3270-DATA, seq i). */
export function floodWire (n: number): Buffer[] {
  const ctx = { host: 'HOSTA', lu: 'L1001001', rows: 24, cols: 80 }
  const out: Buffer[] = []
  for (let i = 1; i <= n; i++) {
    const header = Buffer.from([0, 0, 0, (i >> 8) & 0xff, i & 0xff])
    out.push(frame(Buffer.concat([header, floodRecord(ctx, i, n)])))
  }
  return out
}

function main (): void {
  const count = Number(process.argv[2])
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write('usage: plain-server.js <count>\n')
    process.exit(2)
  }
  const records = floodWire(count)
  const server = createServer(socket => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.once('data', () => {
      let i = 0
      const pump = (): void => {
        while (i < records.length) {
          if (!socket.write(records[i++]!)) { socket.once('drain', pump); return }
        }
      }
      pump()
    })
  })
  // This listener never closes, so an OS-chosen port is safe.
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as AddressInfo
    process.stdout.write(`listening plain-server flood ${a.address}:${a.port}\n`)
  })
  process.on('SIGTERM', () => process.exit(0))
}

main()
