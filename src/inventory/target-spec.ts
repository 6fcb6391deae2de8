import { isIP } from 'node:net'
import { DEFAULT_SSH_PORT, hostIdentity, type Target } from '../domain/target.js'
import { expandCidr, parseCidr, type CidrRange } from './cidr.js'
import { isHostName } from './address.js'
import { echoInput } from '../domain/echo.js'

/* A target spec is one word of the inventory: `host`, `host:port`, `[host]:port`, `[v6]:port`,
 * an IPv4/IPv6 literal, or a CIDR range. Parsing returns a value or a message saying what was
 * expected; the caller adds where (argv, file:line). */

export type TargetSpec =
  | { readonly kind: 'single'; readonly host: string; readonly port: number }
  | { readonly kind: 'range'; readonly range: CidrRange; readonly port: number; readonly text: string }

export const TARGET_FORMS = 'host, host:port, [host]:port, an IPv4/IPv6 address, [v6-address]:port or a CIDR range'

/** Parses a port number 1..65535 written in decimal. */
export function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null
  const port = Number(text)
  return port >= 1 && port <= 65535 ? port : null
}

export function parseTargetSpec(text: string, defaultPort: number = DEFAULT_SSH_PORT): TargetSpec | string {
  if (text.length === 0) return 'empty target'
  if (text.length > 300) return `'${echoInput(text, 40)}' is too long to be a target`

  let host: string
  let port = defaultPort
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text)
  if (bracketed) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) {
      const parsed = parsePort(bracketed[2])
      if (parsed === null) return `'${echoInput(bracketed[2], 20)}' in '${echoInput(text)}' is not a port (1-65535)`
      port = parsed
    }
  } else if (text.includes('/')) {
    const range = parseCidr(text)
    if (typeof range === 'string') return `'${echoInput(text)}' is not a CIDR range: ${range}`
    return { kind: 'range', range, port, text }
  } else if (isIP(text) === 6) {
    host = text
  } else {
    const colon = text.lastIndexOf(':')
    if (colon >= 0) {
      if (text.indexOf(':') !== colon) return `'${echoInput(text)}' is not an IPv6 address (write [address]:port to give a port)`
      const parsed = parsePort(text.slice(colon + 1))
      if (parsed === null) return `'${echoInput(text.slice(colon + 1), 20)}' in '${echoInput(text)}' is not a port (1-65535)`
      host = text.slice(0, colon)
      port = parsed
    } else {
      host = text
    }
  }
  if (isIP(host) === 0 && !isHostName(host)) return `'${echoInput(text)}' is not ${TARGET_FORMS}`
  return { kind: 'single', host: host.toLowerCase(), port }
}

/** How many targets a spec stands for. */
export function specSize(spec: TargetSpec): number {
  return spec.kind === 'single' ? 1 : spec.range.size
}

/**
 * The targets a spec stands for, lazily. `identity` is the NAME the inventory gave, else the host as
 * written; either way on a port other than 22 it becomes `[name]:port`, as known_hosts names it.
 */
export function* expandSpec(
  spec: TargetSpec,
  source: string,
  identity: string | null = null,
  aliases: readonly string[] = [],
): Generator<Target> {
  if (spec.kind === 'single') {
    yield { host: hostIdentity(identity ?? spec.host, spec.port), address: spec.host, port: spec.port, aliases, source }
    return
  }
  for (const address of expandCidr(spec.range)) {
    yield { host: hostIdentity(address, spec.port), address, port: spec.port, aliases: [], source }
  }
}
