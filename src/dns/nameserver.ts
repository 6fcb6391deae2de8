import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { OperationalError, UserError } from '../domain/errors.js'
import { echoInput } from '../domain/echo.js'

/* nameserver : an address and port we send queries to; always an IP literal, since resolving a
 *              resolver's name would need a resolver. */

export interface Nameserver {
  /** IPv4 or IPv6 literal, without brackets. */
  readonly address: string
  readonly port: number
  readonly family: 4 | 6
}

export const DNS_PORT = 53

/** `ADDR:PORT`, with brackets around IPv6 addresses, for messages. */
export function formatNameserver(server: Nameserver): string {
  return server.family === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`
}

function parsePort(text: string, input: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new UserError(`resolver '${echoInput(input)}': port '${echoInput(text, 20)}' is not a number from 1 to 65535`)
  }
  return Number(text)
}

function literal(address: string, port: number, input: string): Nameserver {
  const family = isIP(address)
  if (family === 0) {
    throw new UserError(
      `resolver '${echoInput(input)}': '${echoInput(address)}' is not an IP address (write ADDR, ADDR:PORT or [IPv6]:PORT; names are not accepted)`,
    )
  }
  return { address, port, family: family as 4 | 6 }
}

/**
 * Parses a `--resolver` value: `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`, `[2001:db8::1]:5353`.
 * A bare IPv6 address never carries a port (`::1:53` is an address); use brackets for one.
 */
export function parseNameserver(input: string): Nameserver {
  const text = input.trim()
  if (text.length === 0) throw new UserError('resolver address is empty')
  if (text.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::(.*))?$/.exec(text)
    if (!match) throw new UserError(`resolver '${echoInput(input)}': expected [IPv6] or [IPv6]:PORT`)
    const address = match[1]!
    if (isIP(address) !== 6) throw new UserError(`resolver '${echoInput(input)}': '${echoInput(address)}' is not an IPv6 address`)
    return literal(address, match[2] === undefined ? DNS_PORT : parsePort(match[2], input), input)
  }
  if (isIP(text) !== 0) return literal(text, DNS_PORT, input)
  const colon = text.lastIndexOf(':')
  if (colon > 0 && text.indexOf(':') === colon) {
    return literal(text.slice(0, colon), parsePort(text.slice(colon + 1), input), input)
  }
  return literal(text, DNS_PORT, input)
}

export interface ResolvConf {
  readonly nameservers: readonly Nameserver[]
  /** `options timeout:N`, in milliseconds, when set. */
  readonly timeoutMs: number | null
  /** `options attempts:N`, when set. */
  readonly attempts: number | null
}

/** glibc uses the first three `nameserver` lines (MAXNS, resolv.conf(5)); so do we. */
export const MAX_RESOLV_CONF_NAMESERVERS = 3

/** resolv.conf(5): with no usable `nameserver` line, the resolver on the local machine is used. */
export const LOCAL_NAMESERVER: Nameserver = Object.freeze({ address: '127.0.0.1', port: DNS_PORT, family: 4 })

/** Parses resolv.conf(5) text: `nameserver` lines (IPv4 or IPv6, port 53) and `options timeout:/attempts:`. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: Nameserver[] = []
  let timeoutMs: number | null = null
  let attempts: number | null = null
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim()
    const [keyword, ...args] = line.split(/\s+/)
    if (keyword === 'nameserver' && args[0] !== undefined) {
      const family = isIP(args[0])
      // Lines glibc would not accept are skipped, as glibc skips them, rather than failing the whole file.
      if (family !== 0 && nameservers.length < MAX_RESOLV_CONF_NAMESERVERS) {
        nameservers.push({ address: args[0], port: DNS_PORT, family: family as 4 | 6 })
      }
    } else if (keyword === 'options') {
      for (const option of args) {
        const match = /^(timeout|attempts):([0-9]{1,3})$/.exec(option)
        if (!match) continue
        const value = Number(match[2])
        // resolv.conf(5) caps timeout at 30 s and attempts at 5.
        if (match[1] === 'timeout') timeoutMs = Math.min(Math.max(value, 1), 30) * 1000
        else attempts = Math.min(Math.max(value, 1), 5)
      }
    }
  }
  return { nameservers, timeoutMs, attempts }
}

/** Reads the system's resolv.conf; a missing file means the local resolver, as glibc does. */
export async function readResolvConf(path = '/etc/resolv.conf'): Promise<ResolvConf> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { nameservers: [LOCAL_NAMESERVER], timeoutMs: null, attempts: null }
    throw new OperationalError(`cannot read ${path}: ${(e as Error).message}`, { cause: e })
  }
  const conf = parseResolvConf(text)
  return conf.nameservers.length > 0 ? conf : { ...conf, nameservers: [LOCAL_NAMESERVER] }
}
