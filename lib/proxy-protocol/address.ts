// IP address text <-> bytes and the CIDR check a PROXY header receiver needs before it trusts a
// header (HAProxy doc/proxy-protocol.txt §2.2: accept it "only from known sources"). Pure.
import { ErrorCodes, lbError } from '../errors.js'

/** Parses IPv4 or IPv6 text (`::`, embedded dotted quad, zone id ignored) to 4 or 16 bytes. */
export function parseIp (text: string): { family: 4 | 6, bytes: Buffer } | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text)
    return bytes === undefined ? undefined : { family: 6, bytes }
  }
  const bytes = parseIpv4(text)
  return bytes === undefined ? undefined : { family: 4, bytes }
}

function parseIpv4 (text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(4)
  return writeIpv4(text, out, 0) ? out : undefined
}

/**
 * Writes dotted-quad IPv4 text (four decimal parts of 1-3 digits, each at most 255) as 4 bytes at
 * `at`; false, with `out` partly written, when the text is not one. A character loop: the PROXY v2
 * encoder runs it twice per proxied session (bench/README.md, front CPU per new session).
 */
export function writeIpv4 (text: string, out: Uint8Array, at: number): boolean {
  let part = 0
  let digits = 0
  let value = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 3) return false
      value = value * 10 + c - 0x30
    } else if (c === 0x2e && digits > 0 && part < 3) {
      if (value > 255) return false
      out[at + part++] = value
      digits = 0
      value = 0
    } else {
      return false
    }
  }
  if (part !== 3 || digits === 0 || value > 255) return false
  out[at + 3] = value
  return true
}

function parseIpv6 (input: string): Buffer | undefined {
  const text = input.split('%')[0]
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (half: string): number[] | undefined => {
    if (half === '') return []
    const out: number[] = []
    const parts = half.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p)
        if (v4 === undefined) return undefined
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2))
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined
        out.push(parseInt(p, 16))
      }
    }
    return out
  }
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

/** `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2) as its IPv4 bytes, else undefined. */
export function v4Mapped (bytes: Buffer): Buffer | undefined {
  if (bytes.length !== 16) return undefined
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined
  return bytes.subarray(12)
}

export function formatIpv6 (bytes: Buffer): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i))
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}


/**
 * True if `address` lies in one of `cidrs` (`10.0.0.0/8`, `::1/128`, or a bare address = host).
 * IPv4-mapped IPv6 addresses (as Node reports clients on a dual-stack socket) match IPv4 CIDRs.
 * An unparsable address matches nothing; an unparsable CIDR throws (it is a config error).
 */
export function cidrMatch (address: string, cidrs: readonly string[]): boolean {
  const ip = parseIp(address)
  if (ip === undefined) return false
  const mapped = ip.family === 6 ? v4Mapped(ip.bytes) : undefined
  for (const cidr of cidrs) {
    const [net, bitsText, extra] = cidr.split('/')
    const netIp = parseIp(net)
    const maxBits = netIp?.family === 4 ? 32 : 128
    const bits = bitsText === undefined ? maxBits : (/^\d+$/.test(bitsText) ? Number(bitsText) : NaN)
    if (netIp === undefined || extra !== undefined || !(bits >= 0 && bits <= maxBits)) {
      throw lbError(ErrorCodes.PROXY_HEADER_UNTRUSTED, `trusted source ${JSON.stringify(cidr)} is not a network like 10.0.0.0/8 or ::1/128`)
    }
    const candidate = netIp.family === ip.family ? ip.bytes : (netIp.family === 4 ? mapped : undefined)
    if (candidate !== undefined && prefixEqual(candidate, netIp.bytes, bits)) return true
  }
  return false
}

function prefixEqual (a: Buffer, b: Buffer, bits: number): boolean {
  const whole = Math.floor(bits / 8)
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false
  const rest = bits % 8
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[whole] & mask) === (b[whole] & mask)
}
