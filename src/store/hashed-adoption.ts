import { sql, type Transaction } from 'kysely'
import { familyOfType } from '../domain/host-key.js'
import { hostIdentity } from '../domain/target.js'
import { hashedNameMatches } from '../domain/fingerprint/known-hosts-hash.js'
import { insertBareHosts } from './host-writer.js'
import { toImportedHashed, type ImportedHashed, type ImportedHashedRow } from './rows.js'
import type { Database } from './schema.js'
import { insertImportedSightings } from './sighting-writer.js'
import type { HashedCandidate } from './store.js'

/* A hashed known_hosts line names no host until a scan meets a host whose name hashes to it (the
 * salt and HMAC-SHA1 of `name` or `[name]:port`). Then its key becomes that host's imported baseline,
 * exactly as a plain line would have made it, and the waiting entry is gone. */

/**
 * Adopts, for one recording session, the waiting hashed entries that name these hosts; returns the id
 * of every host that took some, by identity, creating the hosts that are new. The entries are read
 * once per session and matched in memory.
 */
export function hashedEntryAdopter(tx: Transaction<Database>): (hosts: readonly HashedCandidate[]) => Promise<Map<string, number>> {
  let waiting: ImportedHashed[] | null = null
  return async (hosts) => {
    const adoptedIds = new Map<string, number>()
    if (waiting === null) {
      const rows = await sql<ImportedHashedRow>`
        SELECT i.id, i.salt, i.hmac, i.key_id, k.type FROM imported_hashed i JOIN keys k ON k.id = i.key_id`.execute(tx)
      waiting = rows.rows.map(toImportedHashed)
    }
    if (waiting.length === 0 || hosts.length === 0) return adoptedIds
    const adopted: { host: HashedCandidate; entry: ImportedHashed }[] = []
    for (const host of hosts) {
      // Every name the host goes by, as known_hosts would write it (`[name]:port` off port 22).
      const names = [host.identity, ...host.names.map((n) => hostIdentity(n, host.port))]
      for (const entry of waiting) {
        if (names.some((n) => hashedNameMatches(entry.salt, entry.hmac, n))) adopted.push({ host, entry })
      }
    }
    if (adopted.length === 0) return adoptedIds
    const at = new Date()
    const fresh = [...new Map(adopted.filter((a) => a.host.id === null).map((a) => [a.host.identity, a.host])).values()]
    for (const [name, id] of await insertBareHosts(tx, fresh, at)) adoptedIds.set(name, id)
    for (const a of adopted) if (a.host.id !== null) adoptedIds.set(a.host.identity, a.host.id)
    const idOf = (h: HashedCandidate) => adoptedIds.get(h.identity)!
    const pairs = [...new Map(adopted.map((a) => [`${idOf(a.host)}|${a.entry.keyId}`, a])).values()]
    await insertImportedSightings(
      tx,
      pairs.map((a) => ({ hostId: idOf(a.host), keyId: a.entry.keyId, family: familyOfType(a.entry.type), port: a.host.port })),
      at,
    )
    const used = new Set(adopted.map((a) => a.entry.id))
    await sql`DELETE FROM imported_hashed WHERE id = ANY(${[...used]}::int[])`.execute(tx)
    waiting = waiting.filter((e) => !used.has(e.id))
    return adoptedIds
  }
}
