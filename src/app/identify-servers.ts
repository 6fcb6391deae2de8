import { mergeSameServer, namesAndAddresses } from '../analysis/same-server.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import { isAddressIdentity } from '../domain/target.js'
import type { RecordingSession, StoredHost } from '../store/store.js'

/** One server of a chunk: its scanned identities merged, and its host in the history (null if new). */
export interface Server {
  readonly host: ScannedHost
  readonly id: number | null
  /** The identities the inventory used for it in this chunk. */
  readonly identities: readonly string[]
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

  const byId = new Map<number, ScannedHost[]>()
  const fresh: ScannedHost[] = []
  scanned.forEach((host, i) => {
    const id = ids.get(i)
    if (id === undefined) fresh.push(host)
    else byId.set(id, [...(byId.get(id) ?? []), host])
  })
  const servers: Server[] = [...byId].map(([id, hosts]) => ({ host: mergeSameServer(hosts), id, identities: hosts.map((h) => h.host) }))
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
