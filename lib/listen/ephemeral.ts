// A listener that closes and reopens its port (CloseListenSocket, KB Q101235) can find the port
// taken while it was closed: the kernel hands ports from net.ipv4.ip_local_port_range to outgoing
// connections, and a port in TIME-WAIT refuses a new bind for up to two minutes. A port inside
// that range should be listed in net.ipv4.ip_local_reserved_ports (Linux kernel documentation,
// Documentation/networking/ip-sysctl.rst) or moved out of the range (docs/operations.md).
import { readFile } from 'node:fs/promises'

/** The ephemeral port range, as Linux publishes it. */
export const LOCAL_PORT_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range'

export interface PortRange { low: number, high: number }

/** "32768\t60999" → { low: 32768, high: 60999 }; undefined for anything else. */
export function parsePortRange (text: string): PortRange | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text)
  if (m === null) return undefined
  const low = Number(m[1])
  const high = Number(m[2])
  return low >= 1 && low <= high && high <= 65535 ? { low, high } : undefined
}

/** The kernel's range, or undefined where there is no such file (not Linux, a restricted sandbox). */
export async function readEphemeralRange (file = LOCAL_PORT_RANGE_FILE): Promise<PortRange | undefined> {
  try {
    return parsePortRange(await readFile(file, 'utf8'))
  } catch {
    return undefined
  }
}

/** A configured port (0 = any port, chosen by the kernel: nothing to warn about) inside the range. */
export function inEphemeralRange (port: number, range: PortRange | undefined): boolean {
  return range !== undefined && port !== 0 && port >= range.low && port <= range.high
}
