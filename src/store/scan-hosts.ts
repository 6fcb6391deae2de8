import { sql, type Transaction } from 'kysely'
import type { KeyFamily } from '../domain/host-key.js'
import { HOST_STATUSES, type HostStatus } from '../domain/observation.js'
import { batches } from './batches.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import { insertHostNames, type HostName } from './host-writer.js'
import { verdictsByKey, writeKeyVerdicts, type VerdictWrite } from './key-verdicts.js'
import type { Database } from './schema.js'
import { recordScannedSightings } from './sighting-writer.js'
import type { HostWrite } from './store.js'

/* One chunk of a scan's hosts, written: each statement takes whole columns as array parameters
 * (INSERT ... SELECT FROM unnest(...), UPDATE ... FROM unnest(...)), so a chunk costs a fixed number
 * of round trips whatever its size. */

export interface HostsWritten {
  /** The id of every host written, by name. */
  readonly ids: Map<string, number>
  /** Hosts this chunk added to the history, and hosts it already had. */
  readonly inserted: number
  readonly updated: number
}

function hostColumns(list: readonly ScannedHost[]) {
  return {
    status: list.map((h) => h.status),
    error: list.map((h) => h.error),
    address: list.map((h) => h.address),
    port: list.map((h) => h.port),
    banner: list.map((h) => h.banner),
  }
}

/** Writes hosts, names, keys, sightings and failures of one chunk, and the known-bad-key verdicts of
 * its keys (with the key when the key is new): a bounded number of statements. */
export async function writeScannedHosts(
  tx: Transaction<Database>,
  scanId: number,
  at: Date,
  asked: ReadonlySet<KeyFamily>,
  writes: readonly HostWrite[],
  verdicts: readonly VerdictWrite[] = [],
): Promise<HostsWritten> {
  // Hosts: insert the new, update the known with this scan's state.
  const fresh = writes.filter((w) => !w.stored).map((w) => w.scanned)
  const ids = new Map<string, number>(writes.filter((w) => w.stored).map((w) => [w.scanned.host, w.stored!.id]))
  const updated = ids.size
  if (fresh.length > 0) {
    const c = hostColumns(fresh)
    const inserted = await sql<{ id: number; name: string }>`
      INSERT INTO hosts (name, port, first_seen, last_scan_id, last_status, last_error, last_reached, last_address, last_port,
                         last_banner, failed_scans, config_id)
      SELECT n, p, ${at}::timestamptz, ${scanId}::int, s, e, CASE WHEN s IN ('ok', 'partial') THEN ${at}::timestamptz END, a, p, b,
             CASE WHEN s IN ('ok', 'partial') THEN 0 ELSE 1 END, c
      FROM unnest(${fresh.map((h) => h.host)}::text[], ${c.status}::text[], ${c.error}::text[], ${c.address}::text[],
                  ${c.port}::int[], ${c.banner}::text[], ${writes.filter((w) => !w.stored).map((w) => w.configId)}::int[]) AS v(n, s, e, a, p, b, c)
      RETURNING id, name`.execute(tx)
    for (const r of inserted.rows) ids.set(r.name, r.id)
  }
  const known = writes.filter((w) => w.stored)
  if (known.length > 0) {
    const c = hostColumns(known.map((w) => w.scanned))
    await sql`
      UPDATE hosts SET last_scan_id = ${scanId}::int, last_status = v.s, last_error = v.e, config_id = coalesce(v.c, hosts.config_id),
             last_reached = CASE WHEN v.s IN ('ok', 'partial') THEN ${at}::timestamptz ELSE hosts.last_reached END,
             failed_scans = CASE WHEN v.s IN ('ok', 'partial') THEN 0 ELSE hosts.failed_scans + 1 END,
             last_address = CASE WHEN v.s = 'dns-error' THEN hosts.last_address ELSE v.a END,
             last_port = v.p, last_banner = coalesce(v.b, hosts.last_banner)
      FROM unnest(${known.map((w) => w.stored!.id)}::int[], ${c.status}::text[], ${c.error}::text[],
                  ${c.address}::text[], ${c.port}::int[], ${c.banner}::text[], ${known.map((w) => w.configId)}::int[]) AS v(id, s, e, a, p, b, c)
      WHERE hosts.id = v.id`.execute(tx)
  }
  await recordConfigChanges(tx, scanId, at, writes, ids)

  // Names and addresses not recorded yet.
  const names: HostName[] = []
  for (const w of writes) {
    const hostId = ids.get(w.scanned.host)!
    const have = w.stored?.names
    for (const name of w.scanned.aliases) if (!have?.has(name)) names.push({ hostId, name, kind: 'alias' })
    for (const name of w.scanned.addresses) if (!have?.has(name)) names.push({ hostId, name, kind: 'address' })
  }
  await insertHostNames(tx, names, at)

  const unwritten = verdictsByKey(verdicts)
  await recordScannedSightings(tx, scanId, at, asked, writes, ids, unwritten)
  // Verdicts on keys stored before this chunk (checks of a newer version, a blocklist hit).
  if (unwritten.size > 0) await writeKeyVerdicts(tx, [...unwritten.values()])

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
  return { ids, inserted: fresh.length, updated }
}

/** One host_config_changes row per host whose configuration is new to it (its first included). */
async function recordConfigChanges(tx: Transaction<Database>, scanId: number, at: Date, writes: readonly HostWrite[], ids: ReadonlyMap<string, number>): Promise<void> {
  const changed = writes.filter((w) => w.configId !== null && w.configId !== (w.stored?.configId ?? null))
  if (changed.length === 0) return
  await sql`
    INSERT INTO host_config_changes (host_id, config_id, since, scan_id)
    SELECT h, c, ${at}::timestamptz, ${scanId}::int FROM unnest(${changed.map((w) => ids.get(w.scanned.host)!)}::int[], ${changed.map((w) => w.configId)}::int[]) AS v(h, c)
    ON CONFLICT DO NOTHING`.execute(tx)
}

/** Of these host names, those this scan wrote, with the status it wrote last. What a scan judges at
 * its end (which live findings its hosts resolve) is read back here rather than kept a host at a time:
 * a 1,000,000-host scan would hold sets of every name it reached. */
export async function scannedHosts(tx: Transaction<Database>, scanId: number, names: readonly string[]): Promise<Map<string, HostStatus>> {
  const out = new Map<string, HostStatus>()
  for (const batch of batches([...new Set(names)])) {
    const rows = await sql<{ name: string; last_status: string }>`
      SELECT name, last_status FROM hosts WHERE name = ANY(${batch}::text[]) AND last_scan_id = ${scanId}::int`.execute(tx)
    for (const r of rows.rows) {
      const status = HOST_STATUSES.find((s) => s === r.last_status)
      if (status) out.set(r.name, status)
    }
  }
  return out
}

/** Hosts this scan wrote, and how many of them it reached (as writeScannedHosts sets last_reached). */
export async function scanHostCounts(tx: Transaction<Database>, scanId: number): Promise<{ asked: number; reached: number }> {
  const row = await sql<{ asked: number; reached: number }>`
    SELECT count(*)::int AS asked, (count(*) FILTER (WHERE last_status IN ('ok', 'partial')))::int AS reached
    FROM hosts WHERE last_scan_id = ${scanId}::int`.execute(tx)
  return row.rows[0] ?? { asked: 0, reached: 0 }
}
