import { sql, type Transaction } from 'kysely'
import type { LiveFinding, Reconciliation } from '../domain/finding-plan.js'
import type { KeyHolders } from '../domain/key-holders.js'
import { batches } from './batches.js'
import { toKeyHolders, toLiveFinding, type KeyHoldersRow } from './rows.js'
import type { Database } from './schema.js'

/* What a scan reads to judge findings across hosts, and the findings it writes: inserts, touches and
 * resolutions of a reconciliation plan, each a fixed number of statements per batch. */

type Tx = Transaction<Database>

/**
 * Every current holder of each key this scan saw that more than one host currently serves.
 * `wholeFleet`: the scan wrote a good part of the history's hosts (a nightly scan), so one pass over
 * all sightings is cheaper than looking up the holders of each of its keys.
 */
export async function loadSharedKeys(tx: Tx, scanId: number, wholeFleet: boolean): Promise<KeyHolders[]> {
  // The keys held more than once are found first, on sightings alone; only those are joined to their
  // hosts and keys. Joining every sighting of the scan before grouping, and sorting them all by host
  // name, took 5.5 s of a 100,000-host rescan on the embedded store, where almost no key is shared;
  // grouping first by lookups 1.8-2.5 s, one pass over all sightings 0.3-0.4 s. The planner cannot
  // choose between the two itself: its statistics predate this scan, whose sightings it takes for none.
  const shared = wholeFleet
    ? sql`SELECT held.key_id FROM sightings held WHERE held.current
          GROUP BY held.key_id HAVING count(*) > 1 AND bool_or(held.last_scan_id = ${scanId}::int)`
    : sql`SELECT held.key_id FROM sightings held
          WHERE held.current AND held.key_id IN (SELECT key_id FROM sightings WHERE last_scan_id = ${scanId}::int AND current)
          GROUP BY held.key_id HAVING count(*) > 1`
  // Endpoints travel as `address port` (endpointOf's form), so hosts on one endpoint count as one server.
  const rows = await sql<KeyHoldersRow>`
    SELECT k.sha256, k.type, array_agg(h.name ORDER BY h.name) AS hosts,
           array_agg(CASE WHEN s.address IS NULL THEN NULL ELSE s.address || ' ' || coalesce(s.port, h.port) END ORDER BY h.name) AS endpoints
    FROM (${shared}) shared
    JOIN sightings s ON s.key_id = shared.key_id AND s.current
    JOIN hosts h ON h.id = s.host_id JOIN keys k ON k.id = s.key_id
    GROUP BY k.id`.execute(tx)
  return rows.rows.map(toKeyHolders)
}

/** Whether `written` hosts are a good part (a quarter or more) of the history's, by the planner's
 * estimate of its size; a table never analysed is small (a scan analyses from 1,000 new hosts). */
export async function writesMostOfFleet(tx: Tx, written: number): Promise<boolean> {
  const row = await sql<{ n: number }>`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'hosts'::regclass`.execute(tx)
  const estimate = row.rows[0]?.n ?? -1
  return estimate < 0 || written * 4 >= estimate
}

/** Open and accepted findings, but not those this scan (scanId) has already written. */
export async function loadLiveFindings(tx: Tx, scanId: number): Promise<LiveFinding[]> {
  const rows = await tx
    .selectFrom('findings as f')
    .innerJoin('hosts as h', 'h.id', 'f.host_id')
    .select(['f.id', 'f.identity', 'f.kind', 'f.status', 'h.name as host', 'f.hosts', 'f.key_type'])
    .where('f.status', '<>', 'resolved')
    // Pruning a scan sets its findings' first_scan_id to null; those are live too.
    .where((eb) => eb.or([eb('f.first_scan_id', 'is', null), eb('f.first_scan_id', '<>', scanId)]))
    .execute()
  return rows.map(toLiveFinding)
}

export async function writeFindings(tx: Tx, scanId: number, at: Date, plan: Reconciliation): Promise<void> {
  // Findings name their host; the join finds its id (and drops a finding about a host never recorded)
  // without reading 100,000 ids back after a first scan. ORDER BY keeps ids in the report's order.
  for (const batch of batches(plan.insert, 2_000)) {
    // hosts goes in as one JSON document: arrays of arrays do not unnest into text[] rows.
    await sql`
      INSERT INTO findings (identity, kind, severity, host_id, hosts, key_type, fingerprint, previous, message, status,
                            first_scan_id, last_scan_id, first_seen, last_seen, resolved_at)
      SELECT v.identity, v.kind, v.severity, h.id,
             ARRAY(SELECT jsonb_array_elements_text(v.hosts)), v.key_type, v.fingerprint, v.previous, v.message,
             CASE WHEN v.resolved THEN 'resolved' WHEN v.waived THEN 'waived' ELSE 'open' END,
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
          waived: i.waived === true,
        })),
      )}::jsonb) AS v(n int, identity text, kind text, severity text, host text, hosts jsonb, key_type text,
                      fingerprint text, previous text, message text, resolved boolean, waived boolean)
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
  // A waiver that expired while its condition lasts: the finding is open again, and no longer says who waived it.
  for (const batch of batches(plan.reopen ?? [])) {
    await sql`UPDATE findings SET status = 'open', accepted_at = NULL, accepted_by = NULL, accept_reason = NULL
              WHERE id = ANY(${batch}::int[]) AND status = 'waived'`.execute(tx)
  }
  for (const batch of batches(plan.resolve)) {
    await sql`UPDATE findings SET status = 'resolved', resolved_at = ${at}::timestamptz
              WHERE id = ANY(${batch}::int[])`.execute(tx)
  }
}
