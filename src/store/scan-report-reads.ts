import type { Kysely } from 'kysely'
import type { Finding } from '../domain/finding.js'
import { toFinding, type FindingRow } from './rows.js'
import type { Database } from './schema.js'

/* What a recorded scan reported, read back from the history: for a distributed run whose judge was
 * lost after recording the scan (app/judge-run.ts), whose report must be the one the judge would have
 * printed. A scan reports every finding it raised that was not accepted before: the ones it inserted
 * (open, or resolved at birth: new_host, cert_renewed, config_changed) and the open ones it raised
 * again (touched). Each of those rows carries the scan as its last_scan_id; the scan's row counts them
 * (scans.findings, the shared-prime check's included). */

/** A recorded scan's report as the history holds it. */
export interface RecordedScanReport {
  /** When the scan finished: the clock its judging used. */
  readonly finishedAt: Date
  /** The findings it reported, new_host aside; in the order they were written. */
  readonly findings: Finding[]
  /** The new_host findings it raised. */
  readonly newHosts: number
  /** How many findings the scan reported when it was recorded (scans.findings). When the rows above
   * number fewer, something since (a later scan, an accept, a prune) has moved some of them on. */
  readonly counted: number
}

/** The report of scan scanId, from its findings' rows; null when the history has no such scan. */
export async function recordedScanReport(db: Kysely<Database>, scanId: number): Promise<RecordedScanReport | null> {
  // One snapshot: the scan's count and its findings' rows as of the same moment.
  return db.transaction().setIsolationLevel('repeatable read').execute((tx) => readReport(tx, scanId))
}

async function readReport(db: Kysely<Database>, scanId: number): Promise<RecordedScanReport | null> {
  const scan = await db.selectFrom('scans').select(['finished_at', 'findings']).where('id', '=', scanId).executeTakeFirst()
  if (!scan) return null
  const reported = db
    .selectFrom('findings as f')
    .where('f.last_scan_id', '=', scanId)
    // Accepted before: raised again, not reported. Resolved: only those this scan inserted so (a
    // finding it raised again is open; a later scan's resolving would have been a later scan).
    .where((eb) => eb.or([eb('f.status', '=', 'open'), eb.and([eb('f.status', '=', 'resolved'), eb('f.first_scan_id', '=', scanId)])]))
  // new_host only counted: a first night has one per host, read back with Store.scanFindings.
  const newHosts = await reported.where('f.kind', '=', 'new_host').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()
  const rows = await reported
    .innerJoin('hosts as h', 'h.id', 'f.host_id')
    .select(['f.kind', 'f.severity', 'h.name as host', 'f.hosts', 'f.key_type', 'f.fingerprint', 'f.previous', 'f.message', 'f.status'])
    .where('f.kind', '<>', 'new_host')
    .orderBy('f.id')
    .execute()
  // The host as the finding named it when raised (hosts[0]), as Store.scanFindings reads it.
  const findings = rows.map((row) => toFinding({ ...(row as unknown as FindingRow), host: row.hosts[0] ?? row.host }))
  return { finishedAt: scan.finished_at, findings, newHosts: Number(newHosts.n), counted: scan.findings }
}
