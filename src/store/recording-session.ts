import { sql, type Transaction } from 'kysely'
import { familyOfType, type KeyFamily, type Sha256Fingerprint } from '../domain/host-key.js'
import { hashedNameMatches } from '../fingerprint/known-hosts-hash.js'
import { hostIdentity } from '../domain/target.js'
import { batches } from './batches.js'
import { insertBareHosts, insertHostNames, type HostName } from './host-writer.js'
import { keyIds } from './key-writer.js'
import { insertImportedSightings } from './sighting-writer.js'
import { sha256DigestBase64, sha256FromDigest } from '../fingerprint/digest-forms.js'
import { toImportedHashed, toKeyHolders, toLiveFinding, type ImportedHashed, type ImportedHashedRow, type KeyHoldersRow } from './rows.js'
import type { Database } from './schema.js'
import { loadStoredHosts, renameHost, resolveHostIds } from './host-identity.js'
import { loadShareGroups } from './store-reads.js'
import type { HashedCandidate, HostWrite, RecordingSession, ScanMeta } from './store.js'
import type { KeyHolders } from '../domain/key-holders.js'
import type { LiveFinding, Reconciliation } from '../domain/finding-plan.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'

/* A scan's writes, batched: every statement below takes whole columns as array parameters
 * (INSERT ... SELECT FROM unnest(...), UPDATE ... FROM unnest(...), WHERE id = ANY(...)), so a chunk
 * of hosts costs a fixed number of round trips whatever its size. Unchanged sightings are updated in
 * place, never inserted again. */

type Tx = Transaction<Database>

/** Hosts a scan must add, and outnumber the hosts it already knew, before it refreshes the planner's
 * statistics itself (see finishScan). */
const ANALYZE_AFTER_NEW_HOSTS = 1_000

export function createRecordingSession(tx: Tx): RecordingSession {
  let hashed: ImportedHashed[] | null = null
  let revokedCount: number | null = null
  let newHosts = 0
  let knownHosts = 0

  return {
    async insertScan(meta: ScanMeta): Promise<number> {
      const row = await tx
        .insertInto('scans')
        .values({
          started_at: meta.startedAt,
          finished_at: meta.finishedAt,
          vantage: meta.vantage,
          request: JSON.stringify(meta.request),
          hosts_asked: 0,
          hosts_reached: 0,
          keys_seen: 0,
          findings: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return row.id
    },

    async adoptHashedEntries(hosts: readonly HashedCandidate[]): Promise<Map<string, number>> {
      const adoptedIds = new Map<string, number>()
      if (hashed === null) {
        const rows = await sql<ImportedHashedRow>`
          SELECT i.id, i.salt, i.hmac, i.key_id, k.type FROM imported_hashed i JOIN keys k ON k.id = i.key_id`.execute(tx)
        hashed = rows.rows.map(toImportedHashed)
      }
      if (hashed.length === 0 || hosts.length === 0) return adoptedIds
      const adopted: { host: HashedCandidate; entry: ImportedHashed }[] = []
      for (const host of hosts) {
        // Every name the host goes by, as known_hosts would write it (`[name]:port` off port 22).
        const names = [host.identity, ...host.names.map((n) => hostIdentity(n, host.port))]
        for (const entry of hashed) {
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
      hashed = hashed.filter((e) => !used.has(e.id))
      return adoptedIds
    },

    resolveHosts: (claims) => resolveHostIds(tx, claims),

    loadHosts: (ids) => loadStoredHosts(tx, ids),

    renameHost: (id, from, to, at) => renameHost(tx, id, from, to, at),

    async revokedKeys(fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, string>> {
      const revoked = new Map<Sha256Fingerprint, string>()
      if (revokedCount === null) {
        const row = await sql<{ n: number }>`SELECT count(*)::int AS n FROM revoked_keys`.execute(tx)
        revokedCount = row.rows[0]!.n
      }
      if (revokedCount === 0) return revoked
      for (const batch of batches([...new Set(fingerprints)])) {
        const rows = await sql<{ sha256: Uint8Array; source: string }>`
          SELECT k.sha256, r.source FROM revoked_keys r JOIN keys k ON k.id = r.key_id
          WHERE k.sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${batch.map(sha256DigestBase64)}::text[]) AS v(d)))`.execute(tx)
        for (const row of rows.rows) revoked.set(sha256FromDigest(row.sha256), row.source)
      }
      return revoked
    },

    async writeHosts(scanId, at, asked: ReadonlySet<KeyFamily>, writes: readonly HostWrite[]): Promise<Map<string, number>> {
      // Hosts: insert the new, update the known with this scan's state.
      const fresh = writes.filter((w) => !w.stored).map((w) => w.scanned)
      const ids = new Map<string, number>(writes.filter((w) => w.stored).map((w) => [w.scanned.host, w.stored!.id]))
      newHosts += fresh.length
      knownHosts += ids.size
      const hostColumns = (list: readonly ScannedHost[]) => ({
        status: list.map((h) => h.status),
        error: list.map((h) => h.error),
        address: list.map((h) => h.address),
        port: list.map((h) => h.port),
        banner: list.map((h) => h.banner),
      })
      if (fresh.length > 0) {
        const c = hostColumns(fresh)
        const inserted = await sql<{ id: number; name: string }>`
          INSERT INTO hosts (name, port, first_seen, last_scan_id, last_status, last_error, last_reached, last_address, last_port,
                             last_banner, failed_scans)
          SELECT n, p, ${at}::timestamptz, ${scanId}::int, s, e, CASE WHEN s IN ('ok', 'partial') THEN ${at}::timestamptz END, a, p, b,
                 CASE WHEN s IN ('ok', 'partial') THEN 0 ELSE 1 END
          FROM unnest(${fresh.map((h) => h.host)}::text[], ${c.status}::text[], ${c.error}::text[], ${c.address}::text[],
                      ${c.port}::int[], ${c.banner}::text[]) AS v(n, s, e, a, p, b)
          RETURNING id, name`.execute(tx)
        for (const r of inserted.rows) ids.set(r.name, r.id)
      }
      const known = writes.filter((w) => w.stored)
      if (known.length > 0) {
        const c = hostColumns(known.map((w) => w.scanned))
        await sql`
          UPDATE hosts SET last_scan_id = ${scanId}::int, last_status = v.s, last_error = v.e,
                 last_reached = CASE WHEN v.s IN ('ok', 'partial') THEN ${at}::timestamptz ELSE hosts.last_reached END,
                 failed_scans = CASE WHEN v.s IN ('ok', 'partial') THEN 0 ELSE hosts.failed_scans + 1 END,
                 last_address = CASE WHEN v.s = 'dns-error' THEN hosts.last_address ELSE v.a END,
                 last_port = v.p, last_banner = coalesce(v.b, hosts.last_banner)
          FROM unnest(${known.map((w) => w.stored!.id)}::int[], ${c.status}::text[], ${c.error}::text[],
                      ${c.address}::text[], ${c.port}::int[], ${c.banner}::text[]) AS v(id, s, e, a, p, b)
          WHERE hosts.id = v.id`.execute(tx)
      }

      // Names and addresses not recorded yet.
      const names: HostName[] = []
      for (const w of writes) {
        const hostId = ids.get(w.scanned.host)!
        const have = w.stored?.names
        for (const name of w.scanned.aliases) if (!have?.has(name)) names.push({ hostId, name, kind: 'alias' })
        for (const name of w.scanned.addresses) if (!have?.has(name)) names.push({ hostId, name, kind: 'address' })
      }
      await insertHostNames(tx, names, at)

      // Sightings: touch what is served again, insert what is new, clear `current` for what is gone.
      const touch: { id: number; address: string | null; port: number }[] = []
      const retrust: { id: number; trust: string }[] = []
      const uncurrent: number[] = []
      const newcomers: { host: ScannedHost; key: ScannedKey; trust: string }[] = []
      for (const w of writes) {
        if (!w.scanned.reached) continue
        const bySha = new Map((w.stored?.sightings ?? []).map((s) => [s.sha256, s]))
        const served = new Set<Sha256Fingerprint>()
        for (const key of w.scanned.keys) {
          served.add(key.sha256)
          const trust = w.trust.get(key.sha256) ?? 'trusted'
          const existing = bySha.get(key.sha256)
          if (existing) {
            touch.push({ id: existing.id, address: w.scanned.address, port: w.scanned.port })
            if (existing.trust !== trust) retrust.push({ id: existing.id, trust })
          } else {
            newcomers.push({ host: w.scanned, key, trust })
          }
        }
        for (const s of w.stored?.sightings ?? []) {
          const collected = asked.has(s.family) && !w.scanned.failedFamilies.has(s.family)
          if (s.current && !served.has(s.sha256) && collected) uncurrent.push(s.id)
        }
      }
      for (const batch of batches(touch)) {
        await sql`
          UPDATE sightings SET current = true, last_seen = ${at}::timestamptz, last_scan_id = ${scanId}::int,
                 address = v.a, port = v.p
          FROM unnest(${batch.map((t) => t.id)}::int[], ${batch.map((t) => t.address)}::text[], ${batch.map((t) => t.port)}::int[]) AS v(id, a, p)
          WHERE sightings.id = v.id`.execute(tx)
      }
      if (retrust.length > 0) {
        await sql`
          UPDATE sightings SET trust = v.t FROM unnest(${retrust.map((r) => r.id)}::int[], ${retrust.map((r) => r.trust)}::text[]) AS v(id, t)
          WHERE sightings.id = v.id`.execute(tx)
      }
      if (uncurrent.length > 0) {
        await sql`UPDATE sightings SET current = false WHERE id = ANY(${uncurrent}::int[])`.execute(tx)
      }
      if (newcomers.length > 0) {
        const keyIdOf = await keyIds(tx, newcomers.map((n) => n.key), at)
        for (const batch of batches(newcomers)) {
          await sql`
            INSERT INTO sightings (host_id, key_id, family, trust, current, source, first_seen, last_seen, first_scan_id, last_scan_id, address, port)
            SELECT h, k, f, t, true, 'scan', ${at}::timestamptz, ${at}::timestamptz, ${scanId}::int, ${scanId}::int, a, p
            FROM unnest(${batch.map((n) => ids.get(n.host.host)!)}::int[], ${batch.map((n) => keyIdOf.get(n.key.sha256)!)}::int[],
                        ${batch.map((n) => n.key.family)}::text[], ${batch.map((n) => n.trust)}::text[],
                        ${batch.map((n) => n.host.address)}::text[], ${batch.map((n) => n.host.port)}::int[]) AS v(h, k, f, t, a, p)`.execute(tx)
        }
      }

      // Per-scan detail: only the hosts that did not answer.
      const failed = writes.filter((w) => !w.scanned.reached)
      if (failed.length > 0) {
        await sql`
          INSERT INTO scan_failures (scan_id, host_id, status, error, address)
          SELECT ${scanId}::int, h, s, e, a FROM unnest(${failed.map((w) => ids.get(w.scanned.host)!)}::int[],
                 ${failed.map((w) => w.scanned.status)}::text[], ${failed.map((w) => w.scanned.error)}::text[],
                 ${failed.map((w) => w.scanned.address)}::text[]) AS v(h, s, e, a)
          ON CONFLICT DO NOTHING`.execute(tx)
      }
      return ids
    },

    async loadSharedKeys(scanId: number): Promise<KeyHolders[]> {
      // Endpoints travel as `address port` (endpointOf's form), so hosts on one endpoint count as one server.
      const rows = await sql<KeyHoldersRow>`
        SELECT k.sha256, k.type, array_agg(h.name ORDER BY h.name) AS hosts,
               array_agg(CASE WHEN s.address IS NULL THEN NULL ELSE s.address || ' ' || coalesce(s.port, h.port) END ORDER BY h.name) AS endpoints
        FROM sightings s JOIN hosts h ON h.id = s.host_id JOIN keys k ON k.id = s.key_id
        WHERE s.current AND s.key_id IN (SELECT key_id FROM sightings WHERE last_scan_id = ${scanId}::int AND current)
        GROUP BY k.id HAVING count(*) > 1`.execute(tx)
      return rows.rows.map(toKeyHolders)
    },

    async loadShareGroups(): Promise<string[][]> {
      return loadShareGroups(tx)
    },

    async loadLiveFindings(scanId: number): Promise<LiveFinding[]> {
      const rows = await tx
        .selectFrom('findings as f')
        .innerJoin('hosts as h', 'h.id', 'f.host_id')
        .select(['f.id', 'f.identity', 'f.kind', 'f.status', 'h.name as host', 'f.hosts', 'f.key_type'])
        .where('f.status', '<>', 'resolved')
        // Pruning a scan sets its findings' first_scan_id to null; those are live too.
        .where((eb) => eb.or([eb('f.first_scan_id', 'is', null), eb('f.first_scan_id', '<>', scanId)]))
        .execute()
      return rows.map(toLiveFinding)
    },

    async writeFindings(scanId: number, at: Date, plan: Reconciliation): Promise<void> {
      // Findings name their host; the join finds its id (and drops a finding about a host never recorded)
      // without reading 100,000 ids back after a first scan. ORDER BY keeps ids in the report's order.
      for (const batch of batches(plan.insert, 2_000)) {
        // hosts goes in as one JSON document: arrays of arrays do not unnest into text[] rows.
        await sql`
          INSERT INTO findings (identity, kind, severity, host_id, hosts, key_type, fingerprint, previous, message, status,
                                first_scan_id, last_scan_id, first_seen, last_seen, resolved_at)
          SELECT v.identity, v.kind, v.severity, h.id,
                 ARRAY(SELECT jsonb_array_elements_text(v.hosts)), v.key_type, v.fingerprint, v.previous, v.message,
                 CASE WHEN v.resolved THEN 'resolved' ELSE 'open' END,
                 ${scanId}::int, ${scanId}::int, ${at}::timestamptz, ${at}::timestamptz,
                 CASE WHEN v.resolved THEN ${at}::timestamptz END
          FROM jsonb_to_recordset(${JSON.stringify(
            batch.map((i, n) => ({
              n,
              identity: i.identity,
              kind: i.finding.kind,
              severity: i.finding.severity,
              host: i.finding.host,
              hosts: i.finding.hosts,
              key_type: i.finding.keyType,
              fingerprint: i.finding.fingerprint,
              previous: i.finding.previous,
              message: i.finding.message,
              resolved: i.resolved,
            })),
          )}::jsonb) AS v(n int, identity text, kind text, severity text, host text, hosts jsonb, key_type text,
                          fingerprint text, previous text, message text, resolved boolean)
          JOIN hosts h ON h.name = v.host
          ORDER BY v.n`.execute(tx)
      }
      for (const batch of batches(plan.touch, 2_000)) {
        await sql`
          UPDATE findings SET last_scan_id = ${scanId}::int, last_seen = ${at}::timestamptz, message = v.message,
                 severity = v.severity, hosts = ARRAY(SELECT jsonb_array_elements_text(v.hosts))
          FROM jsonb_to_recordset(${JSON.stringify(
            batch.map((t) => ({ id: t.id, message: t.finding.message, severity: t.finding.severity, hosts: t.finding.hosts })),
          )}::jsonb) AS v(id int, message text, severity text, hosts jsonb)
          WHERE findings.id = v.id`.execute(tx)
      }
      for (const batch of batches(plan.resolve)) {
        await sql`UPDATE findings SET status = 'resolved', resolved_at = ${at}::timestamptz
                  WHERE id = ANY(${batch}::int[])`.execute(tx)
      }
    },

    async finishScan(scanId, counts): Promise<void> {
      await tx
        .updateTable('scans')
        .set({
          hosts_asked: counts.hostsAsked,
          hosts_reached: counts.hostsReached,
          keys_seen: counts.keysSeen,
          findings: counts.findings,
        })
        .where('id', '=', scanId)
        .execute()
      // A scan that filled an empty or small history leaves tables the planner has no statistics for
      // until autovacuum gets to them (a minute later, or never on the embedded store): the next scan's
      // `host_id = ANY($1)` lookups and `FROM unnest(...)` updates then ran as sequential scans, ~250 ms
      // each per chunk, doubling a 100,000-host rescan. ANALYZE may run inside the transaction and
      // counts the rows it inserted; it samples at most 30,000 rows a table.
      if (newHosts >= ANALYZE_AFTER_NEW_HOSTS && newHosts > knownHosts) {
        await sql`ANALYZE hosts, host_names, keys, sightings, findings`.execute(tx)
      }
    },
  }
}
