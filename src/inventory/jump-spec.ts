import { isIP } from 'node:net'
import { echoInput } from '../domain/echo.js'
import { isHostName } from './address.js'
import { parsePort } from './target-spec.js'

/* jump spec : one jump host as `ssh -J` and ProxyJump write it (ssh(1) -J, ssh_config(5) ProxyJump):
 *             `[user@]host[:port]` or `ssh://[user@]host[:port]`, an IPv6 address in brackets when
 *             a port follows; a chain is a comma-separated list, first hop first.
 * Parsing returns what was written; what is not (user, port, HostName) comes from the client config
 * and the defaults later (src/inventory/ssh-config.ts). */

export interface JumpSpec {
  readonly user: string | null
  /** Lowercase, without brackets. */
  readonly host: string
  readonly port: number | null
}

/** OpenSSH's valid_ruser() refuses these in a user name (they would reach a shell unquoted). */
const BAD_USER = /[\s'"`$;&<>|(){}\\]/

function parseOne(text: string): JumpSpec | string {
  let rest = text
  if (/^ssh:\/\//i.test(rest)) {
    rest = rest.slice('ssh://'.length)
    if (rest.endsWith('/')) rest = rest.slice(0, -1)
  }
  let user: string | null = null
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    user = rest.slice(0, at)
    rest = rest.slice(at + 1)
    if (user.length === 0 || BAD_USER.test(user)) return `'${echoInput(user)}' is not a user name`
  }
  let host = rest
  let port: number | null = null
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest)
  if (bracketed) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2])
    if (bracketed[2] !== undefined && port === null) return `'${echoInput(bracketed[2], 20)}' is not a port (1-65535)`
  } else if (isIP(rest) !== 6) {
    const colon = rest.lastIndexOf(':')
    if (colon >= 0) {
      port = parsePort(rest.slice(colon + 1))
      if (port === null) return `'${echoInput(rest.slice(colon + 1), 20)}' is not a port (1-65535)`
      host = rest.slice(0, colon)
    }
  }
  if (isIP(host) === 0 && !isHostName(host)) return `'${echoInput(host)}' is not a host name or address`
  return { user, host: host.toLowerCase(), port }
}

/** Parses `[user@]host[:port][,…]`; returns the hops, first first, or what is wrong in words. */
export function parseJumpSpecs(text: string): JumpSpec[] | string {
  const trimmed = text.trim()
  if (trimmed.length === 0) return 'no jump host given'
  const hops: JumpSpec[] = []
  for (const part of trimmed.split(',')) {
    const hop = parseOne(part.trim())
    if (typeof hop === 'string') return `'${echoInput(trimmed)}': ${hop} (expected [user@]host[:port][,...])`
    hops.push(hop)
  }
  return hops
}
