import { mergeSameServer, namesAndAddresses } from '../analysis/same-server.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import { isAddressIdentity } from '../domain/target.js'
import type { IdentityClaim } from '../store/host-identity.js'
import type { RecordingSession, StoredHost } from '../store/store.js'

/** One server of a chunk: its scanned identities merged, and its host in the history (null if new). */
export interface Server {
  readonly host: ScannedHost
  readonly id: number | null
  /** The identities the inventory used for it in this chunk. */
  readonly identities: readonly string[]
  /** Other hosts of the history that are this server known by one of its addresses, to join into it. */
  readonly absorbs?: readonly { readonly id: number; readonly name: string }[]
}

/**
 * Finds which host of the history each scanned host is (README "History": identity rules), merges the
 * scanned hosts that are one server, and adopts hashed known_hosts entries for hosts without keys.
 * Within the chunk, a new name and a new address identity on the same endpoint are one server too.
 */
export async function identifyServers(
  session: RecordingSession,
  scanned: readonly ScannedHost[],
): Promise<{ servers: Server[]; history: Map<number, StoredHost> }> {
  const claims = scanned.map((host) => ({ identity: host.host, port: host.port, ...namesAndAddresses(host) }))
  const ids = await session.resolveHosts(claims)
  let history = await session.loadHosts([...new Set(ids.values())])
  // A host with no keys yet takes the hashed known_hosts entries that name it as its baseline.
  const candidates = scanned.flatMap((host, i) => {
    const id = ids.get(i) ?? null
    if (id !== null && history.get(id)!.sightings.length > 0) return []
    const { names, addresses } = claims[i]!
    return [{ identity: host.host, port: host.port, names: [...names, ...addresses], id }]
  })
  const adopted = await session.adoptHashedEntries(candidates)
  if (adopted.size > 0) {
    scanned.forEach((host, i) => {
      const id = adopted.get(host.host)
      if (id !== undefined) ids.set(i, id)
    })
    history = await session.loadHosts([...new Set(ids.values())])
  }

  const absorbs = await addressHostsToJoin(session, scanned, claims, ids, history)
  const byId = new Map<number, ScannedHost[]>()
  const fresh: ScannedHost[] = []
  scanned.forEach((host, i) => {
    const id = ids.get(i)
    if (id === undefined) fresh.push(host)
    else byId.set(id, [...(byId.get(id) ?? []), host])
  })
  const servers: Server[] = [...byId].map(([id, hosts]) => ({
    host: mergeSameServer(hosts),
    id,
    identities: hosts.map((h) => h.host),
    ...(absorbs.has(id) ? { absorbs: absorbs.get(id)! } : {}),
  }))
  // New hosts: an address identity joins a new name on the same endpoint.
  const byEndpoint = new Map<string, ScannedHost[]>()
  const alone: ScannedHost[] = []
  for (const host of fresh) {
    if (!host.address) alone.push(host)
    else byEndpoint.set(`${host.address} ${host.port}`, [...(byEndpoint.get(`${host.address} ${host.port}`) ?? []), host])
  }
  for (const hosts of byEndpoint.values()) {
    const named = hosts.filter((h) => !isAddressIdentity(h.host))
    const byAddress = hosts.filter((h) => isAddressIdentity(h.host))
    if (named.length === 0 || byAddress.length === 0) {
      alone.push(...hosts)
      continue
    }
    servers.push({ host: mergeSameServer([named[0]!, ...byAddress]), id: null, identities: [named[0]!, ...byAddress].map((h) => h.host) })
    alone.push(...named.slice(1))
  }
  for (const host of alone) servers.push({ host, id: null, identities: [host.host] })
  return { servers, history }
}

/**
 * The hosts of the history to join into each resolved host, by its id: hosts whose identity is one of
 * the addresses the inventory now lists the server under by name (`ADDR,ADDR NAME`), that no other
 * claim of this chunk resolved to, and that serve a key this scan saw the server serve: the inventory
 * says they are one server, and the key says so too. Without a key in common they stay apart (another
 * machine once had that address). When the claim resolved by address to a host without a key in common
 * and another of its addresses has one, that one is the server: `ids` and `history` are updated to it.
 */
async function addressHostsToJoin(
  session: RecordingSession,
  scanned: readonly ScannedHost[],
  claims: readonly IdentityClaim[],
  ids: Map<number, number>,
  history: Map<number, StoredHost>,
): Promise<Map<number, { id: number; name: string }[]>> {
  const joins = new Map<number, { id: number; name: string }[]>()
  if (!claims.some((c) => c.addresses.length > 1)) return joins
  const others = await session.addressHosts(claims, ids)
  if (others.size === 0) return joins
  const counts = new Map<number, number>()
  for (const id of ids.values()) counts.set(id, (counts.get(id) ?? 0) + 1)
  const candidates = [...new Set([...others.values()].flat())].filter((id) => !counts.has(id))
  if (candidates.length === 0) return joins
  const stored = await session.loadHosts(candidates)
  const taken = new Set<number>()
  for (const [claim, list] of others) {
    const chosen = ids.get(claim)
    if (chosen === undefined) continue
    const served = new Set(scanned[claim]!.keys.map((k) => k.sha256))
    const sharesKey = (host: StoredHost) => host.sightings.some((s) => s.current && served.has(s.sha256))
    const sharing = list.flatMap((id) => {
      const host = stored.get(id)
      return host && !taken.has(id) && sharesKey(host) ? [host] : []
    })
    if (sharing.length === 0) continue
    let into = chosen
    const current = history.get(chosen)!
    // Resolved by address to a host that is another machine's history (and that no other claim uses):
    // the address whose history has the key is this server.
    if (isAddressIdentity(current.host) && !sharesKey(current) && counts.get(chosen) === 1) {
      into = sharing[0]!.id
      ids.set(claim, into)
      history.set(into, sharing[0]!)
      sharing.shift()
    }
    for (const host of sharing) {
      taken.add(host.id)
      joins.set(into, [...(joins.get(into) ?? []), { id: host.id, name: host.host }])
    }
  }
  return joins
}
