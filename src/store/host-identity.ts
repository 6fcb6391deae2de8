import { sql, type Kysely, type Transaction } from 'kysely'
import { hostIdentity, isIpLiteral, parseIdentity } from '../domain/target.js'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import { batches } from './batches.js'
import type { StoredVerdict } from './key-verdicts.js'
import { toSighting, type SightingRow } from './rows.js'
import type { Database } from './schema.js'
import type { StoredHost, StoredSighting } from './store.js'

/* Which stored host a scanned or imported identity is: the identity rules of README "History".
 *
 *   host     : one SSH server, one key history. Its identity is the name the inventory first gave it
 *              (`web1`, `[web1]:2222`, or an address); its other names and addresses are aliases.
 *   by name  : a name (identity or alias) on the same port is the same host, wherever it resolves
 *              now. A name whose address moves keeps its history: other keys at the new address are
 *              key_changed, which is exactly what DNS spoofing looks like.
 *   by address : an identity that is an address, or a name the history does not know yet, joins a
 *              host known by that address on that port: a host whose identity is that address (a
 *              scan or known_hosts line by address), or, for an address identity only, the one host
 *              that has the address among its names and has not been seen at another address since
 *              (however the name row was labelled: an inventory line `ADDR NAME` records ADDR as an
 *              alias). When several hosts have it (two inventory lines on one address), none is
 *              chosen: an address scan must not pick one of two names at random.
 *              A name never joins a host known by another name just because they share an address:
 *              when the name later resolves elsewhere that would turn into a false key_changed.
 * Names compare case-insensitively (RFC 4343) and are kept lowercase. */

type Db = Transaction<Database> | Kysely<Database>

/** What one scanned host or known_hosts line says about who it is. */
export interface IdentityClaim {
  /** As hostIdentity writes it: `name` on port 22, `[name]:port` otherwise. */
  readonly identity: string
  readonly port: number
  /** Bare DNS names it is also known by (not addresses). */
  readonly names: readonly string[]
  /** IP literals it was reached at or listed with. */
  readonly addresses: readonly string[]
}

/** How strongly a stored host matched a claim: lower wins. */
const BY_IDENTITY = 0
const BY_NAME = 1
const BY_ADDRESS = 2

/** The stored host id each claim resolves to (by index in `claims`); claims with no host are absent. */
export async function resolveHostIds(db: Db, claims: readonly IdentityClaim[]): Promise<Map<number, number>> {
  // Identity probes compare a full identity with hosts.name; name probes a bare name with host_names.
  const identityProbes: { claim: number; rank: number; identity: string }[] = []
  const nameProbes: { claim: number; rank: number; name: string; port: number; addressOnly: boolean }[] = []
  claims.forEach((claim, index) => {
    const own = parseIdentity(claim.identity).name
    const byAddress = isIpLiteral(own)
    identityProbes.push({ claim: index, rank: BY_IDENTITY, identity: claim.identity })
    for (const name of claim.names) {
      if (name === own) continue
      identityProbes.push({ claim: index, rank: BY_NAME, identity: hostIdentity(name, claim.port) })
      nameProbes.push({ claim: index, rank: BY_NAME, name, port: claim.port, addressOnly: false })
    }
    if (!byAddress) nameProbes.push({ claim: index, rank: BY_NAME, name: own, port: claim.port, addressOnly: false })
    for (const address of claim.addresses) {
      if (address !== own) identityProbes.push({ claim: index, rank: BY_ADDRESS, identity: hostIdentity(address, claim.port) })
      if (byAddress) nameProbes.push({ claim: index, rank: BY_ADDRESS, name: address, port: claim.port, addressOnly: true })
    }
    if (byAddress) nameProbes.push({ claim: index, rank: BY_ADDRESS, name: own, port: claim.port, addressOnly: true })
  })

  const best = new Map<number, { rank: number; id: number }>()
  const consider = (claim: number, rank: number, id: number) => {
    const current = best.get(claim)
    if (!current || rank < current.rank || (rank === current.rank && id < current.id)) best.set(claim, { rank, id })
  }
  for (const batch of batches(identityProbes)) {
    const rows = await sql<{ c: number; r: number; id: number }>`
      SELECT v.c, v.r, h.id FROM unnest(${batch.map((p) => p.claim)}::int[], ${batch.map((p) => p.rank)}::int[],
                                        ${batch.map((p) => p.identity)}::text[]) AS v(c, r, n)
      JOIN hosts h ON h.name = v.n`.execute(db)
    for (const row of rows.rows) consider(row.c, row.r, row.id)
  }
  /** Per claim, the hosts that have one of its addresses among their names. */
  const byAddressName = new Map<number, Set<number>>()
  for (const batch of batches(nameProbes)) {
    // An address counts only while the host has not been seen at another address since. A name that is
    // an IP literal is an address whatever its row's kind: a scan records the ADDR of an inventory line
    // `ADDR NAME` as an alias of NAME.
    const rows = await sql<{ c: number; r: number; id: number; a: boolean }>`
      SELECT v.c, v.r, h.id, v.a FROM unnest(${batch.map((p) => p.claim)}::int[], ${batch.map((p) => p.rank)}::int[],
                                        ${batch.map((p) => p.name)}::text[], ${batch.map((p) => p.port)}::int[],
                                        ${batch.map((p) => p.addressOnly)}::bool[]) AS v(c, r, n, p, a)
      JOIN host_names hn ON hn.name = v.n
      JOIN hosts h ON h.id = hn.host_id AND h.port = v.p
      WHERE (NOT v.a AND hn.kind = 'alias')
         OR (v.a AND (h.last_address IS NULL OR h.last_address = v.n))`.execute(db)
    for (const row of rows.rows) {
      if (!row.a) consider(row.c, row.r, row.id)
      else byAddressName.set(row.c, (byAddressName.get(row.c) ?? new Set()).add(row.id))
    }
  }
  // README identity rule 2: an address scan of an address that exactly one known host has is that host.
  for (const [claim, hosts] of byAddressName) if (hosts.size === 1) consider(claim, BY_ADDRESS, [...hosts][0]!)
  return new Map([...best].map(([claim, { id }]) => [claim, id]))
}

/** The history of each host, by id: its identity, names, sightings and failure count; with `verdicts`,
 * also the known-bad-key verdict of each key sighted, read in the same statement. */
export async function loadStoredHosts(db: Db, ids: readonly number[], verdicts?: Map<Sha256Fingerprint, StoredVerdict>): Promise<Map<number, StoredHost>> {
  type Loading = StoredHost & { sightings: StoredSighting[]; names: Set<string> }
  const byId = new Map<number, Loading>()
  for (const batch of batches([...new Set(ids)])) {
    const rows = await sql<{ id: number; name: string; port: number; last_reached: Date | null; failed_scans: number; config_id: number | null; last_scan_id: number | null }>`
      SELECT id, name, port, last_reached, failed_scans, config_id, last_scan_id FROM hosts WHERE id = ANY(${batch}::int[])`.execute(db)
    for (const r of rows.rows) {
      byId.set(r.id, {
        id: r.id,
        host: r.name,
        port: r.port,
        everReached: r.last_reached !== null,
        failedScans: r.failed_scans,
        configId: r.config_id,
        lastScanId: r.last_scan_id,
        sightings: [],
        names: new Set<string>(),
      })
    }
  }
  for (const batch of batches([...byId.keys()])) {
    type Row = SightingRow & { host_id: number; checks_version: number; compromised: string | null; compromised_detail: string | null }
    const sightings = await sql<Row>`
      SELECT s.id, s.host_id, s.key_id, s.family, s.trust, s.current, s.source, s.first_seen, s.last_seen, s.address,
             k.sha256, k.type, k.bits, k.checks_version, k.compromised, k.compromised_detail
      FROM sightings s JOIN keys k ON k.id = s.key_id
      WHERE s.host_id = ANY(${batch}::int[])`.execute(db)
    for (const row of sightings.rows) {
      const sighting = toSighting(row)
      byId.get(row.host_id)!.sightings.push(sighting)
      verdicts?.set(sighting.sha256, { checksVersion: row.checks_version, compromised: row.compromised, detail: row.compromised_detail })
    }
    const names = await sql<{ host_id: number; name: string }>`
      SELECT host_id, name FROM host_names WHERE host_id = ANY(${batch}::int[])`.execute(db)
    for (const row of names.rows) byId.get(row.host_id)!.names.add(row.name)
  }
  return byId
}

/**
 * Gives a host known by address the name the inventory now gives it. The old identity's address stays
 * an address alias; live findings, other findings' host lists and share groups follow the new name.
 */
export async function renameHost(db: Db, id: number, from: string, to: string, at: Date): Promise<void> {
  await sql`UPDATE hosts SET name = ${to} WHERE id = ${id}`.execute(db)
  const { name } = parseIdentity(from)
  await sql`INSERT INTO host_names (host_id, name, kind, first_seen)
            VALUES (${id}, ${name}, ${isIpLiteral(name) ? 'address' : 'alias'}, ${at}::timestamptz)
            ON CONFLICT DO NOTHING`.execute(db)
  await sql`UPDATE findings SET identity = kind || '|' || ${to}::text || '|' || coalesce(fingerprint, '')
            WHERE host_id = ${id} AND status <> 'resolved'`.execute(db)
  await renameInFindingsAndGroups(db, from, to)
}

/** Findings' host lists (each name once) and share groups say `to` where they said `from`. */
async function renameInFindingsAndGroups(db: Db, from: string, to: string): Promise<void> {
  await sql`UPDATE findings SET hosts = ARRAY(
              SELECT h FROM unnest(array_replace(hosts, ${from}::text, ${to}::text)) WITH ORDINALITY AS u(h, i)
              GROUP BY h ORDER BY min(i))
            WHERE ${from}::text = ANY(hosts)`.execute(db)
  await sql`UPDATE share_group_members SET host_name = ${to} WHERE host_name = ${from}
            AND NOT EXISTS (SELECT 1 FROM share_group_members m WHERE m.group_id = share_group_members.group_id AND m.host_name = ${to})`.execute(db)
}

/**
 * For each claim named by a name, the other hosts of the history whose identity is one of the
 * claim's addresses on its port (`[10.0.0.5]:2222`, scanned or imported by address): a server the
 * inventory now lists once, as `ADDR,ADDR NAME`, may have one such host per address. `chosen` is the
 * host each claim resolved to; it is never among the others. By claim index; claims with none absent.
 */
export async function addressHostsOf(db: Db, claims: readonly IdentityClaim[], chosen: ReadonlyMap<number, number>): Promise<Map<number, number[]>> {
  const probes: { claim: number; identity: string }[] = []
  claims.forEach((claim, index) => {
    const own = parseIdentity(claim.identity).name
    if (isIpLiteral(own)) return
    for (const address of new Set(claim.addresses)) probes.push({ claim: index, identity: hostIdentity(address, claim.port) })
  })
  const others = new Map<number, number[]>()
  for (const batch of batches(probes)) {
    const rows = await sql<{ c: number; id: number }>`
      SELECT v.c, h.id FROM unnest(${batch.map((p) => p.claim)}::int[], ${batch.map((p) => p.identity)}::text[]) AS v(c, n)
      JOIN hosts h ON h.name = v.n`.execute(db)
    for (const { c, id } of rows.rows) {
      if (chosen.get(c) === id) continue
      const list = others.get(c) ?? []
      if (!list.includes(id)) list.push(id)
      others.set(c, list)
    }
  }
  return others
}

/**
 * Joins host `from` (known by one of the server's addresses) into host `into` (the same server under
 * its inventory name): its names become `into`'s aliases, its key history and everything else that
 * belongs to it moves over (where `into` already has the same key, certificate or change, `into`'s
 * row stays, with the earliest first sighting), its open findings are resolved (they were about two
 * hosts that are one), and the host row goes.
 */
export async function absorbHost(db: Db, from: { id: number; name: string }, into: { id: number; name: string }, at: Date): Promise<void> {
  const { name } = parseIdentity(from.name)
  await sql`INSERT INTO host_names (host_id, name, kind, first_seen)
            SELECT ${into.id}, name, kind, first_seen FROM host_names WHERE host_id = ${from.id}
            ON CONFLICT DO NOTHING`.execute(db)
  await sql`INSERT INTO host_names (host_id, name, kind, first_seen)
            VALUES (${into.id}, ${name}, ${isIpLiteral(name) ? 'address' : 'alias'}, ${at}::timestamptz)
            ON CONFLICT DO NOTHING`.execute(db)
  // Trust never travels into a host that has trusted keys of its own (domain/trust.ts): what the other
  // identity trusted (a one-off scan of an address an interceptor answered at, say) becomes pending
  // here and is judged as served keys are. A host with no trusted key may take the joined one's trust.
  const owns = await sql<{ trusted: boolean }>`
    SELECT EXISTS (SELECT 1 FROM sightings WHERE host_id = ${into.id} AND trust = 'trusted') AS trusted`.execute(db)
  const intoTrusts = owns.rows[0]!.trusted
  const actor = `join of ${from.name} into ${into.name}`
  // Sightings: the same key on both keeps into's row, first seen at the earlier of the two.
  await sql`UPDATE sightings t SET first_seen = LEAST(t.first_seen, f.first_seen),
              trust = CASE WHEN NOT ${intoTrusts}::boolean AND f.trust = 'trusted' THEN 'trusted' ELSE t.trust END
            FROM sightings f WHERE f.host_id = ${from.id} AND t.host_id = ${into.id} AND t.key_id = f.key_id`.execute(db)
  await sql`WITH moved AS (
              UPDATE sightings f SET host_id = ${into.id},
                     trust = CASE WHEN ${intoTrusts}::boolean AND f.trust = 'trusted' THEN 'pending' ELSE f.trust END
              WHERE f.host_id = ${from.id}
                AND NOT EXISTS (SELECT 1 FROM sightings t WHERE t.host_id = ${into.id} AND t.key_id = f.key_id)
              RETURNING f.key_id, f.trust)
            INSERT INTO trust_changes (host_id, key_id, trust, at, actor)
            SELECT ${into.id}, key_id, trust, ${at}::timestamptz, ${actor} FROM moved`.execute(db)
  await sql`UPDATE certificates f SET host_id = ${into.id} WHERE f.host_id = ${from.id}
            AND NOT EXISTS (SELECT 1 FROM certificates t WHERE t.host_id = ${into.id} AND t.sha256 = f.sha256)`.execute(db)
  await sql`UPDATE host_config_changes f SET host_id = ${into.id} WHERE f.host_id = ${from.id}
            AND NOT EXISTS (SELECT 1 FROM host_config_changes t WHERE t.host_id = ${into.id} AND t.since = f.since)`.execute(db)
  await sql`UPDATE scan_failures f SET host_id = ${into.id} WHERE f.host_id = ${from.id}
            AND NOT EXISTS (SELECT 1 FROM scan_failures t WHERE t.host_id = ${into.id} AND t.scan_id = f.scan_id)`.execute(db)
  await sql`UPDATE acceptances SET host_id = ${into.id} WHERE host_id = ${from.id}`.execute(db)
  await sql`UPDATE key_statements SET host_id = ${into.id} WHERE host_id = ${from.id}`.execute(db)
  await sql`UPDATE findings SET status = 'resolved', resolved_at = ${at}::timestamptz
            WHERE host_id = ${from.id} AND status <> 'resolved'`.execute(db)
  await sql`UPDATE findings SET host_id = ${into.id} WHERE host_id = ${from.id}`.execute(db)
  // Other findings naming it (a duplicate_key of the two, say) now name the one host.
  await renameInFindingsAndGroups(db, from.name, into.name)
  await sql`DELETE FROM share_group_members WHERE host_name = ${from.name}`.execute(db)
  await sql`DELETE FROM hosts WHERE id = ${from.id}`.execute(db)
}
