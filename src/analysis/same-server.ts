import { isAddressIdentity, isIpLiteral, parseIdentity } from '../domain/target.js'
import type { ScannedHost } from '../domain/scanned-host.js'

/* One server, several identities in one scan: the inventory names it by address on one line and by
 * name on another, or two of its names resolve to one host of the history. They are judged and
 * recorded as one host (README "History": identity rules). */

/** Its names (bare) and addresses, as the identity rules match them. */
export function namesAndAddresses(host: ScannedHost): { names: string[]; addresses: string[] } {
  const all = [...host.aliases, ...host.addresses, ...(host.address ? [host.address] : [])]
  const own = parseIdentity(host.host).name
  return {
    names: [...new Set(all.filter((n) => !isIpLiteral(n) && n !== own))],
    addresses: [...new Set([...(isIpLiteral(own) ? [own] : []), ...all.filter(isIpLiteral)])],
  }
}

/** The identity a merged host goes by: the history's name if it has one, else a name over an address. */
function preferredIdentity(hosts: readonly ScannedHost[], stored: string | null): string {
  if (stored !== null) return stored
  return (hosts.find((h) => !isAddressIdentity(h.host)) ?? hosts[0]!).host
}

/**
 * The scanned hosts of one server as one ScannedHost named `identity` (default: the stored name, else
 * the first name-identity). Keys are the union; reached if any answered; a family failed only if it
 * failed everywhere that answered. Every other identity becomes an alias or address of it.
 */
export function mergeSameServer(hosts: readonly ScannedHost[], stored: string | null = null): ScannedHost {
  const identity = preferredIdentity(hosts, stored)
  const answered = hosts.filter((h) => h.reached)
  const complete = answered.filter((h) => h.status === 'ok')
  const main = complete[0] ?? answered[0] ?? hosts[0]!
  const keys = new Map(hosts.flatMap((h) => h.keys).map((k) => [k.sha256, k]))
  const aliases = new Set<string>()
  const addresses = new Set<string>()
  for (const h of hosts) {
    const { name } = parseIdentity(h.host)
    if (h.host !== identity) (isIpLiteral(name) ? addresses : aliases).add(name)
    for (const a of h.aliases) aliases.add(a)
    for (const a of h.addresses) addresses.add(a)
  }
  const own = parseIdentity(identity).name
  aliases.delete(own)
  addresses.delete(own)
  return {
    ...main,
    host: identity,
    reached: answered.length > 0,
    failedFamilies: complete.length > 0 ? new Set() : new Set(answered.flatMap((h) => [...h.failedFamilies])),
    aliases: [...aliases],
    addresses: [...addresses],
    keys: [...keys.values()],
  }
}
