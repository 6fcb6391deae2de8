import { sql, type Transaction } from 'kysely'
import type { LiveFinding } from '../domain/finding-plan.js'
import { sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { batches } from './batches.js'
import { hostsServing, markGcdChecked, stillPending, writeKeyVerdicts } from './key-verdicts.js'
import { toLiveFinding } from './rows.js'
import { writeFindings } from './scan-findings.js'
import type { Database } from './schema.js'
import type { SharedPrimeSession } from './store.js'

/* The writes of a scan's shared-prime check (app/known-bad-keys.ts), in the short transaction
 * Store.recordSharedPrimes holds under the recording lock, after the batch GCD has run outside it. */

/** Keys a check must mark compared before it refreshes the planner's statistics of the keys table. */
const ANALYZE_AFTER_CHECKED_KEYS = 1_000

export function createSharedPrimeSession(tx: Transaction<Database>): SharedPrimeSession {
  return {
    stillPending: (ids) => stillPending(tx, ids),
    writeKeyVerdicts: (writes) => writeKeyVerdicts(tx, writes),
    async markGcdChecked(ids) {
      await markGcdChecked(tx, ids)
      // A first scan's check marks every key the scan's ANALYZE (recording-session.ts) has just
      // counted as pending: refresh the statistics, or the next scan plans its pending-key read for
      // 100,000 rows that are not there.
      if (ids.length >= ANALYZE_AFTER_CHECKED_KEYS) await sql`ANALYZE keys`.execute(tx)
    },
    hostsServing: (fingerprints) => hostsServing(tx, fingerprints),

    async sharedPrimeKeysSeenBy(scanId: number) {
      const rows = await sql<{ sha256: Uint8Array; compromised: string; compromised_detail: string | null }>`
        SELECT k.sha256, k.compromised, k.compromised_detail FROM keys k
        WHERE k.compromised = 'shared-prime' AND k.id IN (SELECT key_id FROM sightings WHERE last_scan_id = ${scanId}::int AND current)`.execute(tx)
      return new Map(rows.rows.map((r) => [sha256FromDigest(r.sha256), { check: r.compromised, detail: r.compromised_detail ?? '' }]))
    },

    async liveFindings(identities: readonly string[]): Promise<LiveFinding[]> {
      const out: LiveFinding[] = []
      for (const batch of batches([...new Set(identities)])) {
        const rows = await tx
          .selectFrom('findings as f')
          .innerJoin('hosts as h', 'h.id', 'f.host_id')
          .select(['f.id', 'f.identity', 'f.kind', 'f.status', 'h.name as host', 'f.hosts', 'f.key_type'])
          .where('f.status', '<>', 'resolved')
          .where('f.identity', 'in', batch)
          .execute()
        out.push(...rows.map(toLiveFinding))
      }
      return out
    },

    async writeFindings(scanId, at, plan): Promise<void> {
      await writeFindings(tx, scanId, at, plan)
      if (plan.report.length > 0) {
        await sql`UPDATE scans SET findings = findings + ${plan.report.length}::int WHERE id = ${scanId}::int`.execute(tx)
      }
    },
  }
}
