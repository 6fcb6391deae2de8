import { trustCurrentCertificates } from './certificate-writer.js'
import { sql, type Transaction } from 'kysely'
import { UserError } from '../domain/errors.js'
import type { Acceptance, Waiver } from '../domain/history.js'
import { ACCEPT_CLOSES, FINDING_CATALOGUE } from '../domain/finding-catalogue.js'
import type { FindingKind } from '../domain/finding.js'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import { hostkeysCommand } from '../domain/shell-quote.js'
import type { LedgerState, SightingTrust } from '../domain/trust.js'
import { ledgerStateOf } from './ledger.js'
import { sha256DigestBase64, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { keyIds } from './key-writer.js'
import type { Database } from './schema.js'
import { hostIdByName } from './store-reads.js'
import type { PruneReport, RevokedKeyEntry } from './store.js'

/* What an operator changes by hand: accept, allow-shared, prune. Each runs inside the transaction the
 * store opens for it; acceptHost's also holds the recording lock, as it rewrites trust a scan reads. */

type Tx = Transaction<Database>

/**
 * `accept`: a trust decision and nothing else. The keys the host serves now become trusted, the trusted
 * keys it no longer serves are retired, and the findings the catalogue says accept closes (its trust
 * findings) are accepted. Findings about something still true (a weak key, DNS, the configuration) stay
 * open; only a waiver closes those. Refuses a host that serves a revoked or compromised key: no accept
 * trusts one. Null when the host is unknown.
 */
export async function acceptHost(
  tx: Tx,
  name: string,
  by: { actor: string; reason: string | null; at: Date },
): Promise<Acceptance | null> {
  const found = await hostIdByName(tx, name).executeTakeFirst()
  if (!found) return null
  const served = await sql<{ id: number; key_id: number; sha256: Uint8Array; type: string; trust: string; state: LedgerState }>`
    SELECT s.id, s.key_id, k.sha256, k.type, s.trust, ${ledgerStateOf()} AS state
    FROM sightings s JOIN keys k ON k.id = s.key_id
    WHERE s.host_id = ${found.id} AND s.current ORDER BY k.type`.execute(tx)
  if (served.rows.length === 0) {
    throw new UserError(`${found.name} has no keys a scan has seen it serve; scan it before accepting its keys`)
  }
  const refused = served.rows.filter((r) => r.state === 'revoked' || r.state === 'compromised')
  if (refused.length > 0) {
    throw new UserError(
      `${found.name} serves ${refused.map((r) => `the ${r.type} key ${sha256FromDigest(r.sha256)}, which is ${r.state}`).join(', and ')}: ` +
        `no accept can trust ${refused.length === 1 ? 'it' : 'them'}. Replace ${refused.length === 1 ? 'that key' : 'those keys'} on the host, scan it, then accept.`,
    )
  }
  const actor = `accept by ${by.actor}`
  const log = (rows: readonly { key_id: number }[], trust: SightingTrust) =>
    rows.length === 0
      ? Promise.resolve()
      : tx
          .insertInto('trust_changes')
          .values(rows.map((r) => ({ host_id: found.id, key_id: r.key_id, trust, at: by.at, actor, reason: by.reason })))
          .execute()
  const newlyTrusted = served.rows.filter((r) => r.trust !== 'trusted')
  if (newlyTrusted.length > 0) {
    await tx.updateTable('sightings').set({ trust: 'trusted' }).where('id', 'in', newlyTrusted.map((r) => r.id)).execute()
    await log(newlyTrusted, 'trusted')
  }
  const retired = await tx
    .updateTable('sightings')
    .set({ trust: 'retired' })
    .from('keys')
    .whereRef('keys.id', '=', 'sightings.key_id')
    .where('sightings.host_id', '=', found.id)
    .where('sightings.current', '=', false)
    .where('sightings.trust', '=', 'trusted')
    .returning(['sightings.key_id', 'keys.sha256'])
    .execute()
  await log(retired, 'retired')
  const closed = await tx
    .updateTable('findings')
    .set({ status: 'accepted', accepted_at: by.at, accepted_by: by.actor, accept_reason: by.reason })
    .where('status', '=', 'open')
    .where('kind', 'in', [...ACCEPT_CLOSES])
    .where((eb) => eb.or([eb('host_id', '=', found.id), eb(sql<boolean>`${found.name} = ANY(hosts)`, '=', true)]))
    .returning(['kind', 'fingerprint'])
    .execute()
  const stillOpen = await tx
    .selectFrom('findings')
    .select(['kind', 'fingerprint'])
    .where('host_id', '=', found.id)
    .where('status', '=', 'open')
    .orderBy('kind')
    .execute()
  await trustCurrentCertificates(tx, found.id)
  const fingerprints = served.rows.map((r) => sha256FromDigest(r.sha256))
  await tx
    .insertInto('acceptances')
    .values({ host_id: found.id, accepted_at: by.at, accepted_by: by.actor, reason: by.reason, fingerprints })
    .execute()
  const brief = (rows: readonly { kind: string; fingerprint: string | null }[]) =>
    rows.map((r) => ({ kind: r.kind as FindingKind, fingerprint: r.fingerprint as Sha256Fingerprint | null }))
  return {
    host: found.name,
    acceptedAt: by.at,
    acceptedBy: by.actor,
    reason: by.reason,
    fingerprints,
    retired: retired.map((r) => sha256FromDigest(r.sha256)),
    findingsAccepted: closed.length,
    closed: brief(closed),
    stillOpen: brief(stillOpen),
  }
}

/**
 * `waive KIND HOST`: a deliberate, listed exception for one kind of finding on one host, until `until`
 * (or for good). Its open findings become waived; findings of that kind raised while it is in force are
 * recorded waived and not reported; once it expires they are open and reported again. Trust decisions
 * are accept's, and a revoked or compromised key is never waived away.
 */
export async function waiveFindings(
  tx: Tx,
  name: string,
  kind: FindingKind,
  by: { actor: string; reason: string; until: Date | null; at: Date },
): Promise<Waiver | null> {
  const found = await hostIdByName(tx, name).executeTakeFirst()
  if (!found) return null
  const spec = FINDING_CATALOGUE[kind]
  if (spec.closedBy === 'accept') {
    throw new UserError(`${kind} is a trust decision: confirm the key with the host's owner, then run: ${hostkeysCommand('accept', found.name, '--reason', 'WHY')}`)
  }
  if (spec.closedBy === 'never') throw new UserError(`${kind} cannot be waived: ${spec.explanation}`)
  if (spec.closedBy === 'nobody') throw new UserError(`${kind} is a note for the history: there is nothing to waive`)
  if (by.until !== null && by.until.getTime() <= by.at.getTime()) throw new UserError(`--until ${by.until.toISOString()} is not in the future`)
  await tx
    .insertInto('waivers')
    .values({ host_id: found.id, kind, waived_at: by.at, waived_by: by.actor, reason: by.reason, until: by.until })
    .execute()
  const waived = await tx
    .updateTable('findings')
    .set({ status: 'waived', accepted_at: by.at, accepted_by: `waiver by ${by.actor}`, accept_reason: by.reason })
    .where('host_id', '=', found.id)
    .where('kind', '=', kind)
    .where('status', '=', 'open')
    .returning('id')
    .execute()
  return { host: found.name, kind, waivedAt: by.at, waivedBy: by.actor, reason: by.reason, until: by.until, findingsWaived: waived.length }
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

/**
 * `revoke`: marks keys revoked for good, whoever serves them: never vouched for again, exported as
 * `@revoked`, and no accept can trust them. A key given by fingerprint must be one the history knows
 * (a fingerprint alone cannot be written as an @revoked line). Returns the keys newly revoked.
 */
export async function revokeKeys(
  tx: Tx,
  entries: readonly RevokedKeyEntry[],
  by: { actor: string; reason: string; at: Date },
): Promise<Sha256Fingerprint[]> {
  const blobs = entries.flatMap((e) => (e.kind === 'blob' ? [e.key] : []))
  const ids = new Map(await keyIds(tx, blobs, by.at))
  const fingerprints = entries.flatMap((e) => (e.kind === 'fingerprint' ? [e.sha256] : []))
  if (fingerprints.length > 0) {
    const found = await sql<{ id: number; sha256: Uint8Array }>`
      SELECT id, sha256 FROM keys WHERE sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${fingerprints.map(sha256DigestBase64)}::text[]) AS v(d)))`.execute(tx)
    for (const row of found.rows) ids.set(sha256FromDigest(row.sha256), row.id)
    const unknown = fingerprints.filter((f) => !ids.has(f))
    if (unknown.length > 0) {
      throw new UserError(`${unknown.join(', ')}: no key with ${unknown.length === 1 ? 'this fingerprint' : 'these fingerprints'} is in the history; give the public key itself (a .pub or known_hosts line) to revoke a key no scan has seen`)
    }
  }
  const inserted = await sql<{ sha256: Uint8Array }>`
    INSERT INTO revoked_keys (key_id, imported_at, source, reason)
    SELECT DISTINCT k, ${by.at}::timestamptz, ${`revoke by ${by.actor}`}::text, ${by.reason}::text FROM unnest(${[...ids.values()]}::int[]) AS v(k)
    ON CONFLICT (key_id) DO NOTHING
    RETURNING (SELECT sha256 FROM keys WHERE id = key_id) AS sha256`.execute(tx)
  return inserted.rows.map((r) => sha256FromDigest(r.sha256))
}
