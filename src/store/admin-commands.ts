import { trustCurrentCertificates } from './certificate-writer.js'
import { sql, type Transaction } from 'kysely'
import { UserError } from '../domain/errors.js'
import type { Acceptance } from '../domain/history.js'
import { sha256FromDigest } from '../fingerprint/digest-forms.js'
import type { Database } from './schema.js'
import { hostIdByName } from './store-reads.js'
import type { PruneReport } from './store.js'

/* What an operator changes by hand: accept, allow-shared, prune. Each runs inside the transaction the
 * store opens for it; acceptHost's also holds the recording lock, as it rewrites trust a scan reads. */

type Tx = Transaction<Database>

/** Trusts the keys the host serves now and closes its open findings; null when the host is unknown. */
export async function acceptHost(
  tx: Tx,
  name: string,
  by: { actor: string; reason: string | null; at: Date },
): Promise<Acceptance | null> {
  const found = await hostIdByName(tx, name).executeTakeFirst()
  if (!found) return null
  const current = await tx
    .updateTable('sightings')
    .set({ trust: 'trusted' })
    .from('keys')
    .whereRef('keys.id', '=', 'sightings.key_id')
    .where('sightings.host_id', '=', found.id)
    .where('sightings.current', '=', true)
    .returning('keys.sha256')
    .execute()
  if (current.length === 0) {
    throw new UserError(`${found.name} has no keys a scan has seen it serve; scan it before accepting its keys`)
  }
  await tx
    .updateTable('sightings')
    .set({ trust: 'superseded' })
    .where('host_id', '=', found.id)
    .where('current', '=', false)
    .where('trust', '=', 'trusted')
    .execute()
  const accepted = await tx
    .updateTable('findings')
    .set({ status: 'accepted', accepted_at: by.at, accepted_by: by.actor, accept_reason: by.reason })
    .where('status', '=', 'open')
    // Trusting the keys served does not make an out-of-band statement agree: a new statement ends it.
    .where('kind', '!=', 'oob_mismatch')
    .where((eb) => eb.or([eb('host_id', '=', found.id), eb(sql<boolean>`${found.name} = ANY(hosts)`, '=', true)]))
    .returning('id')
    .execute()
  await trustCurrentCertificates(tx, found.id)
  const fingerprints = current.map((r) => sha256FromDigest(r.sha256))
  await tx
    .insertInto('acceptances')
    .values({ host_id: found.id, accepted_at: by.at, accepted_by: by.actor, reason: by.reason, fingerprints })
    .execute()
  return {
    host: found.name,
    acceptedAt: by.at,
    acceptedBy: by.actor,
    reason: by.reason,
    fingerprints,
    findingsAccepted: accepted.length,
  }
}

/** Records that these hosts may serve one key between them (a share group). */
export async function allowShared(tx: Tx, hosts: readonly string[], by: { actor: string; at: Date }): Promise<void> {
  const group = await tx
    .insertInto('share_groups')
    .values({ created_at: by.at, created_by: by.actor })
    .returning('id')
    .executeTakeFirstOrThrow()
  await tx
    .insertInto('share_group_members')
    .values([...new Set(hosts.map((h) => h.toLowerCase()))].map((host_name) => ({ group_id: group.id, host_name })))
    .execute()
}

/** Drops scans (and their per-host failures) that finished before `before`; never sightings or findings. */
export async function prune(tx: Tx, before: Date): Promise<PruneReport> {
  const failures = await tx
    .selectFrom('scan_failures')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('scan_id', 'in', tx.selectFrom('scans').select('id').where('finished_at', '<', before))
    .executeTakeFirstOrThrow()
  const scans = await tx.deleteFrom('scans').where('finished_at', '<', before).returning('id').execute()
  return { scans: scans.length, failures: failures.n }
}
