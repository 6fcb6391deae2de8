import { isIP } from 'node:net'
import { echoInput } from '../domain/echo.js'

/* A CIDR range expands lazily: a /16 is 65,534 targets and must never be held in memory at once. */

export interface CidrRange {
  readonly version: 4 | 6
  readonly base: bigint
  readonly prefix: number
  /** Number of host addresses the range yields. */
  readonly size: number
}

/** The largest range we expand: a /16 of IPv4, the same count for IPv6 (/112). */
export const MAX_RANGE_SIZE = 65_536

export function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n)
}

export function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.')
}

export function ipv6ToBigInt(address: string): bigint {
  let text = address
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!)
    text = text.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const headParts = head ? head.split(':') : []
  const tailParts = tail ? tail.split(':') : []
  const missing = 8 - headParts.length - tailParts.length
  const parts = tail === undefined ? headParts : [...headParts, ...Array<string>(missing).fill('0'), ...tailParts]
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part || '0', 16)), 0n)
}

export function bigIntToIpv6(value: bigint): string {
  const parts: number[] = []
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn))
  // RFC 5952 §4.2: compress the longest run of two or more zero hextets.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (parts[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && parts[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = parts.map((p) => p.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/** Parses `ADDR/PREFIX`; returns an error message (what was expected) instead of throwing. */
export function parseCidr(text: string): CidrRange | string {
  const slash = text.indexOf('/')
  const address = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  const version = isIP(address)
  if (version === 0) return `'${echoInput(address)}' is not an IPv4 or IPv6 address`
  if (!/^\d{1,3}$/.test(prefixText)) return `'/${echoInput(prefixText, 20)}' is not a prefix length`
  const prefix = Number(prefixText)
  const width = version === 4 ? 32 : 128
  if (prefix > width) return `prefix /${prefix} is longer than ${width} bits`
  const hostBits = width - prefix
  const total = 2 ** hostBits
  // Skip the network and broadcast addresses of IPv4 ranges that have them (RFC 3021: /31 and /32 do not).
  const size = version === 4 && hostBits >= 2 ? total - 2 : total
  if (total > MAX_RANGE_SIZE) {
    return `range ${echoInput(text)} has ${total > 1e15 ? `2^${hostBits}` : total} addresses; the most one range may expand to is ${MAX_RANGE_SIZE} (an IPv4 /16, an IPv6 /112)`
  }
  const raw = version === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address)
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(hostBits)) - 1n)
  return { version: version as 4 | 6, base: raw & mask, prefix, size }
}

/** The host addresses of a range, in order, one at a time. */
export function* expandCidr(range: CidrRange): Generator<string> {
  const width = range.version === 4 ? 32 : 128
  const total = 1n << BigInt(width - range.prefix)
  const skipEnds = range.version === 4 && width - range.prefix >= 2
  const first = skipEnds ? 1n : 0n
  const last = skipEnds ? total - 2n : total - 1n
  for (let offset = first; offset <= last; offset++) {
    const value = range.base + offset
    yield range.version === 4 ? bigIntToIpv4(value) : bigIntToIpv6(value)
  }
}
