import { sql, type Kysely } from 'kysely'
import type { HostTimeline, KeyRecord, RefusedKey, StoredFinding, TrustedKey } from '../domain/history.js'
import type { KeyType } from '../domain/host-key.js'
import type { Finding, FindingKind } from '../domain/finding.js'
import { toFinding, toHostTimeline, toKeyRecord, toStoredFinding, toTrustedKey, type FindingRow, type KeyRecordRow } from './rows.js'
import type { Database } from './schema.js'
import { ledgerStateOf, vouchedFor } from './ledger.js'
import { sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import type { FindingFilter, KeySelector, StoreStats } from './store.js'

/* What lookup, history, findings, known-hosts export and `db` status read: one query function each,
 * outside any transaction. Host names are case-insensitive (RFC 4343) and kept lowercase, as the
 * inventory writes them, so every name given is lowercased before it is compared. */

type Db = Kysely<Database>

/** Each sighting with its host and key. */
function sightingsWithKeys(db: Db) {
  return db
    .selectFrom('sightings as s')
    .innerJoin('hosts as h', 'h.id', 's.host_id')
    .innerJoin('keys as k', 'k.id', 's.key_id')
}

function keyRecords(db: Db) {
  return sightingsWithKeys(db).select([
    'h.name as host',
    's.address',
    's.port',
    'k.type',
    'k.bits',
    'k.sha256',
    'k.md5',
    's.first_seen',
    's.last_seen',
    's.current',
    ledgerStateOf().as('trust'),
    's.source',
  ])
}

/** Identities of the hosts a name or address names, on that port or on any port when null. */
export async function matchHosts(db: Db, name: string, port: number | null): Promise<string[]> {
  const bare = name.toLowerCase()
  const rows = await sql<{ name: string }>`
    SELECT DISTINCT h.name FROM hosts h
    WHERE (${port}::int IS NULL OR h.port = ${port}::int)
      AND (h.name = ${bare} OR h.name = '[' || ${bare} || ']:' || h.port
           OR EXISTS (SELECT 1 FROM host_names n WHERE n.host_id = h.id AND n.name = ${bare}))
    ORDER BY h.name`.execute(db)
  return rows.rows.map((r) => r.name)
}

/** Every host identity and alias. */
export async function hostNames(db: Db): Promise<string[]> {
  const rows = await sql<{ name: string }>`SELECT name FROM hosts UNION SELECT name FROM host_names`.execute(db)
  return rows.rows.map((r) => r.name)
}

export async function lookupKey(db: Db, selector: KeySelector): Promise<KeyRecord[]> {
  const rows = await keyRecords(db)
    .where(selector.kind === 'sha256' ? 'k.sha256' : 'k.md5', '=', selector.digest)
    .orderBy('h.name')
    .orderBy('s.first_seen')
    .execute()
  return rows.map((r) => toKeyRecord(r as KeyRecordRow))
}

/** Every host and key a CA certified: the last certificate from that CA for each (host, key). */
export async function lookupCertifiedBy(db: Db, selector: KeySelector): Promise<KeyRecord[]> {
  const rows = await keyRecords(db)
    .innerJoin('certificates as c', (join) => join.onRef('c.host_id', '=', 's.host_id').onRef('c.key_id', '=', 's.key_id'))
    .innerJoin('keys as ca', 'ca.id', 'c.ca_key_id')
    .select(['c.key_identity', sql<string>`c.serial::text`.as('serial'), 'c.valid_before', 'c.last_seen as certificate_seen', 'ca.sha256 as ca_sha256'])
    .where(selector.kind === 'sha256' ? 'ca.sha256' : 'ca.md5', '=', selector.digest)
    .orderBy('h.name')
    .orderBy('k.type')
    .orderBy('c.last_seen', 'desc')
    .execute()
  const seen = new Set<string>()
  const records: KeyRecord[] = []
  for (const row of rows) {
    const record = toKeyRecord(row as KeyRecordRow)
    const at = `${record.host} ${record.sha256}`
    if (seen.has(at)) continue // an older certificate of the same key from the same CA
    seen.add(at)
    records.push({
      ...record,
      certifiedBy: {
        caSha256: sha256FromDigest(row.ca_sha256),
        keyId: row.key_identity,
        serial: row.serial,
        validBefore: row.valid_before,
        lastSeen: row.certificate_seen,
      },
    })
  }
  return records
}

/** The hosts a name is, by identity or by alias or address: the one it is the identity of first. */
export function hostIdByName(db: Db, given: string) {
  const name = given.toLowerCase()
  return db
    .selectFrom('hosts')
    .select(['id', 'name'])
    .where((eb) =>
      eb.or([eb('name', '=', name), eb('id', 'in', eb.selectFrom('host_names').select('host_id').where('name', '=', name))]),
    )
    .orderBy(sql`name = ${name}`, 'desc')
    .orderBy('id')
}

/** By host name, alias or address. */
export async function lookupHost(db: Db, name: string): Promise<KeyRecord[]> {
  const ids = (await hostIdByName(db, name).execute()).map((h) => h.id)
  if (ids.length === 0) return []
  const rows = await keyRecords(db)
    .where('s.host_id', 'in', ids)
    .orderBy('h.name')
    .orderBy('s.current', 'desc')
    .orderBy('k.type')
    .orderBy('s.first_seen')
    .execute()
  return rows.map((r) => toKeyRecord(r as KeyRecordRow))
}

function findingsQuery(db: Db) {
  return db
    .selectFrom('findings as f')
    .innerJoin('hosts as h', 'h.id', 'f.host_id')
    .select([
      'f.id',
      'f.identity',
      'f.kind',
      'f.severity',
      'h.name as host',
      'f.hosts',
      'f.key_type',
      'f.fingerprint',
      'f.previous',
      'f.message',
      'f.status',
      'f.first_seen',
      'f.last_seen',
      'f.resolved_at',
      'f.accepted_at',
      'f.accepted_by',
      'f.accept_reason',
    ])
}

/** Newest first. */
export async function listFindings(db: Db, filter: FindingFilter): Promise<StoredFinding[]> {
  let q = findingsQuery(db)
  if (filter.openOnly) q = q.where('f.status', '=', 'open')
  if (filter.since) q = q.where('f.last_seen', '>=', filter.since)
  if (filter.host) {
    const host = filter.host
    q = q.where((eb) => eb.or([eb('h.name', '=', host), eb(sql<boolean>`${host} = ANY(f.hosts)`, '=', true)]))
  }
  if (filter.kinds && filter.kinds.length > 0) q = q.where('f.kind', 'in', [...filter.kinds])
  const rows = await q.orderBy('f.last_seen', 'desc').orderBy('f.id', 'desc').execute()
  return rows.map((r) => toStoredFinding(r as FindingRow))
}

/** The findings of one kind a scan raised first, as it raised them (a distributed run's report reads
 * its new_host findings back here rather than keeping them in its judge's memory). */
export async function scanFindings(db: Db, scanId: number, kind: FindingKind): Promise<Finding[]> {
  const rows = await findingsQuery(db).where('f.first_scan_id', '=', scanId).where('f.kind', '=', kind).orderBy('f.id').execute()
  // The host as the finding named it when raised (hosts[0]), not as the history may have renamed it since.
  return rows.map((r) => toFinding({ ...(r as FindingRow), host: (r as FindingRow).hosts[0] ?? (r as FindingRow).host }))
}

/** A host's whole history, found by any name it goes by; null when no host has that name. */
export async function hostTimeline(db: Db, name: string): Promise<HostTimeline | null> {
  const found = await hostIdByName(db, name).executeTakeFirst()
  if (!found) return null
  const host = await db.selectFrom('hosts').selectAll().where('id', '=', found.id).executeTakeFirstOrThrow()
  const names = await db.selectFrom('host_names').select('name').where('host_id', '=', host.id).orderBy('name').execute()
  const keys = await keyRecords(db).where('s.host_id', '=', host.id).orderBy('s.first_seen').orderBy('k.type').execute()
  const findings = await listFindings(db, { host: host.name })
  const acceptances = await db.selectFrom('acceptances').selectAll().where('host_id', '=', host.id).orderBy('accepted_at').execute()
  const failures = await db
    .selectFrom('scan_failures as f')
    .innerJoin('scans as s', 's.id', 'f.scan_id')
    .select(['f.scan_id', 's.finished_at', 'f.status', 'f.error'])
    .where('f.host_id', '=', host.id)
    .orderBy('s.finished_at')
    .execute()
  const trustChanges = await db
    .selectFrom('trust_changes as c')
    .innerJoin('keys as k', 'k.id', 'c.key_id')
    .select(['k.sha256', 'c.trust', 'c.at', 'c.actor', 'c.reason'])
    .where('c.host_id', '=', host.id)
    .orderBy('c.at')
    .orderBy('c.id')
    .execute()
  const waivers = await db.selectFrom('waivers').selectAll().where('host_id', '=', host.id).orderBy('waived_at').execute()
  return toHostTimeline({ host, names, keys: keys as KeyRecordRow[], findings, acceptances, failures, trustChanges, waivers })
}

/** Every trusted key with the names a known_hosts line gives it. */
export async function trustedKeys(db: Db): Promise<TrustedKey[]> {
  const rows = await sightingsWithKeys(db)
    .select([
      'h.name',
      's.port',
      'h.last_port',
      'k.type',
      'k.blob',
      sql<string[]>`ARRAY(SELECT n.name FROM host_names n WHERE n.host_id = h.id ORDER BY n.kind DESC, n.name)`.as('aliases'),
    ])
    .where(vouchedFor())
    .orderBy('h.name')
    .orderBy('k.type')
    .execute()
  return rows.map(toTrustedKey)
}

/** Every key the ledger refuses whoever serves it: revoked (@revoked, `hostkeys revoke`, CAs included)
 * or compromised and served by some host. known_hosts exports write them as `@revoked` lines. */
export async function refusedKeys(db: Db): Promise<RefusedKey[]> {
  const rows = await sql<{ type: string; blob: Uint8Array; state: 'revoked' | 'compromised' }>`
    SELECT k.type, k.blob, CASE WHEN r.key_id IS NOT NULL THEN 'revoked' ELSE 'compromised' END AS state
    FROM keys k LEFT JOIN revoked_keys r ON r.key_id = k.id
    WHERE r.key_id IS NOT NULL OR (k.compromised IS NOT NULL AND EXISTS (SELECT 1 FROM sightings s WHERE s.key_id = k.id))
    ORDER BY k.type, k.sha256`.execute(db)
  return rows.rows.map((r) => ({ type: r.type as KeyType, blob: Buffer.from(r.blob), state: r.state }))
}

/** The hosts of each share group (hosts allowed to serve one key), group by group. */
export async function loadShareGroups(db: Db): Promise<string[][]> {
  const rows = await db.selectFrom('share_group_members').select(['group_id', 'host_name']).orderBy('group_id').execute()
  const groups = new Map<number, string[]>()
  for (const r of rows) {
    const g = groups.get(r.group_id)
    if (g) g.push(r.host_name)
    else groups.set(r.group_id, [r.host_name])
  }
  return [...groups.values()]
}

export async function storeStats(db: Db): Promise<StoreStats> {
  const count = (table: keyof Database) => sql<number>`(SELECT count(*)::int FROM ${sql.table(table)})`
  return db
    .selectNoFrom([
      count('hosts').as('hosts'),
      count('keys').as('keys'),
      count('sightings').as('sightings'),
      count('scans').as('scans'),
      count('scan_failures').as('scanFailures'),
      count('findings').as('findings'),
    ])
    .executeTakeFirstOrThrow()
}
