import { isIP } from 'node:net'

/* target      : what the inventory names: an identity (host), where to connect (address), and a port
 * identity    : the name findings and history are about; the first NAME of an inventory line, else
 *               the target as written
 * address     : what we connect to: an IP literal or a name the system resolver turns into one */

export interface Target {
  /** The host's identity: history, findings and known_hosts lines are keyed by it. */
  readonly host: string
  /** Where to connect: an IP literal (v4 or v6, no brackets) or a DNS name. */
  readonly address: string
  readonly port: number
  /** Further names of the same host (ssh-keyscan -f lines list several). */
  readonly aliases: readonly string[]
  /** Where the target was read from, for messages: `hosts.txt:12`, `argv`. */
  readonly source: string
}

export const DEFAULT_SSH_PORT = 22

/**
 * A host's identity as OpenSSH's known_hosts names it: `name` on port 22, `[name]:port` otherwise.
 * Two SSH servers on one name but different ports are different identities, with their own history.
 */
export function hostIdentity(name: string, port: number): string {
  return port === DEFAULT_SSH_PORT ? name : `[${name}]:${port}`
}

/** The bare name and port of an identity made by hostIdentity. */
export function parseIdentity(identity: string): { name: string; port: number } {
  const match = /^\[(.+)\]:(\d{1,5})$/.exec(identity)
  return match ? { name: match[1]!, port: Number(match[2]) } : { name: identity, port: DEFAULT_SSH_PORT }
}

/** True for an IPv4 or IPv6 literal (no brackets, no zone index). */
export function isIpLiteral(text: string): boolean {
  return isIP(text) !== 0
}

/** True when an identity names its server by address (`10.0.0.5`, `[10.0.0.5]:2222`), not by a name. */
export function isAddressIdentity(identity: string): boolean {
  return isIpLiteral(parseIdentity(identity).name)
}

/** `[::1]:22` style for v6, `host:port` otherwise; how people and OpenSSH write an endpoint. */
export function formatEndpoint(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`
}
