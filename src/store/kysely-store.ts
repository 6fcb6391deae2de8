import { sql, type Kysely } from 'kysely'
import { OperationalError, UserError } from '../domain/errors.js'
import { familyOfType } from '../domain/host-key.js'
import { hostIdentity } from '../domain/target.js'
import { readKeyTypeAndBits, sha256Fingerprint } from '../fingerprint/key-blob.js'
import { batches } from './batches.js'
import type { MigrationReport } from './migrate.js'
import { sha256FromDigest } from '../fingerprint/digest-forms.js'
import { resolveHostIds } from './host-identity.js'
import { insertBareHosts, insertHostNames } from './host-writer.js'
import { keyIds, type KeyToWrite } from './key-writer.js'
import { insertImportedSightings } from './sighting-writer.js'
import { createRecordingSession, loadShareGroups } from './recording-session.js'
import { toHostTimeline, toKeyRecord, toStoredFinding, toTrustedKey, type FindingRow, type KeyRecordRow } from './rows.js'
import type { Database } from './schema.js'
import type { FindingFilter, ImportEntry, ImportReport, KeySelector, PruneReport, RecordingSession, Store, StoreStats } from './store.js'
import type { Acceptance, HostTimeline, KeyRecord, StoredFinding, TrustedKey } from '../domain/history.js'

/** Key of the advisory lock that serialises scan recording on PostgreSQL ('hkrc'). */
const RECORDING_LOCK_KEY = 0x686b7263

export interface KyselyStoreOptions {
  readonly backend: 'postgres' | 'embedded'
  readonly location: string
  readonly migrations: MigrationReport
  /** Removes secrets from a driver's message before it reaches an error. */
  readonly redact: (text: string) => string
  /** Runs after the database is closed (releases the embedded lock). */
  readonly onClose?: () => Promise<void> | void
}

function isDomainError(e: unknown): boolean {
  return e instanceof UserError || e instanceof OperationalError
}

/** A Store over any kysely PostgreSQL-dialect database: pg's Pool or PGlite. */
export class KyselyStore implements Store {
  readonly backend: 'postgres' | 'embedded'
  readonly location: string
  readonly migrations: MigrationReport
  private closed = false

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: KyselyStoreOptions,
  ) {
    this.backend = options.backend
    this.location = options.location
    this.migrations = options.migrations
  }

  /** Wraps a driver failure into an OperationalError that says where, without secrets. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (isDomainError(e)) throw e
      throw new OperationalError(`${what} in ${this.location} failed: ${this.options.redact((e as Error).message)}`, { cause: e })
    }
  }

  recording<T>(fn: (session: RecordingSession) => Promise<T>): Promise<T> {
    return this.guard('recording the scan (nothing was written)', () =>
      this.db.transaction().execute(async (tx) => {
        // Concurrent scans on one PostgreSQL take turns: each reads the history the previous one wrote.
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(RECORDING_LOCK_KEY)})`.execute(tx)
        return fn(createRecordingSession(tx))
      }),
    )
  }

  private keyRecords() {
    return this.db
      .selectFrom('sightings as s')
      .innerJoin('hosts as h', 'h.id', 's.host_id')
      .innerJoin('keys as k', 'k.id', 's.key_id')
      .select([
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
        's.trust',
        's.source',
      ])
  }

  matchHosts(name: string, port: number | null): Promise<string[]> {
    return this.guard('finding the host', async () => {
      const bare = name.toLowerCase()
      const rows = await sql<{ name: string }>`
        SELECT DISTINCT h.name FROM hosts h
        WHERE (${port}::int IS NULL OR h.port = ${port}::int)
          AND (h.name = ${bare} OR h.name = '[' || ${bare} || ']:' || h.port
               OR EXISTS (SELECT 1 FROM host_names n WHERE n.host_id = h.id AND n.name = ${bare}))
        ORDER BY h.name`.execute(this.db)
      return rows.rows.map((r) => r.name)
    })
  }

  hostNames(): Promise<string[]> {
    return this.guard('listing hosts', async () => {
      const rows = await sql<{ name: string }>`SELECT name FROM hosts UNION SELECT name FROM host_names`.execute(this.db)
      return rows.rows.map((r) => r.name)
    })
  }

  lookupKey(selector: KeySelector): Promise<KeyRecord[]> {
    return this.guard('lookup', async () => {
      const rows = await this.keyRecords()
        .where(selector.kind === 'sha256' ? 'k.sha256' : 'k.md5', '=', selector.digest)
        .orderBy('h.name')
        .orderBy('s.first_seen')
        .execute()
      return rows.map((r) => toKeyRecord(r as KeyRecordRow))
    })
  }

  /** Host names are case-insensitive (RFC 4343) and kept lowercase, as the inventory writes them. */
  private hostIdByName(given: string, db: Kysely<Database> = this.db) {
    const name = given.toLowerCase()
    return db
      .selectFrom('hosts')
      .select(['id', 'name'])
      .where((eb) =>
        eb.or([
          eb('name', '=', name),
          eb('id', 'in', eb.selectFrom('host_names').select('host_id').where('name', '=', name)),
        ]),
      )
      .orderBy(sql`name = ${name}`, 'desc')
      .orderBy('id')
  }

  lookupHost(name: string): Promise<KeyRecord[]> {
    return this.guard('lookup', async () => {
      const ids = (await this.hostIdByName(name).execute()).map((h) => h.id)
      if (ids.length === 0) return []
      const rows = await this.keyRecords()
        .where('s.host_id', 'in', ids)
        .orderBy('h.name')
        .orderBy('s.current', 'desc')
        .orderBy('k.type')
        .orderBy('s.first_seen')
        .execute()
      return rows.map((r) => toKeyRecord(r as KeyRecordRow))
    })
  }

  private findingsQuery() {
    return this.db
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

  listFindings(filter: FindingFilter): Promise<StoredFinding[]> {
    return this.guard('listing findings', async () => {
      let q = this.findingsQuery()
      if (filter.openOnly) q = q.where('f.status', '=', 'open')
      if (filter.since) q = q.where('f.last_seen', '>=', filter.since)
      if (filter.host) {
        const host = filter.host
        q = q.where((eb) => eb.or([eb('h.name', '=', host), eb(sql<boolean>`${host} = ANY(f.hosts)`, '=', true)]))
      }
      if (filter.kinds && filter.kinds.length > 0) q = q.where('f.kind', 'in', [...filter.kinds])
      const rows = await q.orderBy('f.last_seen', 'desc').orderBy('f.id', 'desc').execute()
      return rows.map((r) => toStoredFinding(r as FindingRow))
    })
  }

  hostTimeline(name: string): Promise<HostTimeline | null> {
    return this.guard('reading history', async () => {
      const found = await this.hostIdByName(name).executeTakeFirst()
      if (!found) return null
      const host = await this.db.selectFrom('hosts').selectAll().where('id', '=', found.id).executeTakeFirstOrThrow()
      const names = await this.db.selectFrom('host_names').select('name').where('host_id', '=', host.id).orderBy('name').execute()
      const keys = await this.keyRecords().where('s.host_id', '=', host.id).orderBy('s.first_seen').orderBy('k.type').execute()
      const findings = await this.listFindings({ host: host.name })
      const acceptances = await this.db
        .selectFrom('acceptances')
        .selectAll()
        .where('host_id', '=', host.id)
        .orderBy('accepted_at')
        .execute()
      const failures = await this.db
        .selectFrom('scan_failures as f')
        .innerJoin('scans as s', 's.id', 'f.scan_id')
        .select(['f.scan_id', 's.finished_at', 'f.status', 'f.error'])
        .where('f.host_id', '=', host.id)
        .orderBy('s.finished_at')
        .execute()
      return toHostTimeline({ host, names, keys: keys as KeyRecordRow[], findings, acceptances, failures })
    })
  }

  acceptHost(name: string, by: { actor: string; reason: string | null; at: Date }): Promise<Acceptance | null> {
    return this.guard('accepting', () =>
      this.db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(RECORDING_LOCK_KEY)})`.execute(tx)
        const found = await this.hostIdByName(name, tx).executeTakeFirst()
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
          .where((eb) => eb.or([eb('host_id', '=', found.id), eb(sql<boolean>`${found.name} = ANY(hosts)`, '=', true)]))
          .returning('id')
          .execute()
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
      }),
    )
  }

  allowShared(hosts: readonly string[], by: { actor: string; at: Date }): Promise<void> {
    return this.guard('recording a share group', () =>
      this.db.transaction().execute(async (tx) => {
        const group = await tx
          .insertInto('share_groups')
          .values({ created_at: by.at, created_by: by.actor })
          .returning('id')
          .executeTakeFirstOrThrow()
        await tx
          .insertInto('share_group_members')
          .values([...new Set(hosts.map((h) => h.toLowerCase()))].map((host_name) => ({ group_id: group.id, host_name })))
          .execute()
      }),
    )
  }

  listShareGroups(): Promise<string[][]> {
    return this.guard('listing share groups', () => loadShareGroups(this.db))
  }

  trustedKeys(): Promise<TrustedKey[]> {
    return this.guard('listing trusted keys', async () => {
      const rows = await this.db
        .selectFrom('sightings as s')
        .innerJoin('hosts as h', 'h.id', 's.host_id')
        .innerJoin('keys as k', 'k.id', 's.key_id')
        .select([
          'h.name',
          's.port',
          'h.last_port',
          'k.type',
          'k.blob',
          sql<string[]>`ARRAY(SELECT n.name FROM host_names n WHERE n.host_id = h.id ORDER BY n.kind DESC, n.name)`.as('aliases'),
        ])
        .where('s.trust', '=', 'trusted')
        .orderBy('h.name')
        .orderBy('k.type')
        .execute()
      return rows.map(toTrustedKey)
    })
  }

  importKnownHosts(entries: readonly ImportEntry[], by: { source: string; at: Date }): Promise<ImportReport> {
    return this.guard('importing known_hosts', () =>
      this.db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(RECORDING_LOCK_KEY)})`.execute(tx)
        const at = by.at
        // Keys, each read once from its blob.
        const keyOf = new Map<Buffer, KeyToWrite>(entries.map((e) => [e.blob, { blob: e.blob, sha256: sha256Fingerprint(e.blob), ...readKeyTypeAndBits(e.blob) }]))
        const keyId = await keyIds(tx, [...keyOf.values()], at)
        const idOfKey = (blob: Buffer) => keyId.get(keyOf.get(blob)!.sha256)!
        const plain = entries.filter((e): e is Extract<ImportEntry, { kind: 'plain' }> => e.kind === 'plain')
        const hashed = entries.filter((e): e is Extract<ImportEntry, { kind: 'hashed' }> => e.kind === 'hashed')
        const revoked = entries.filter((e) => e.kind === 'revoked')
        const authorities = entries.filter((e): e is Extract<ImportEntry, { kind: 'cert-authority' }> => e.kind === 'cert-authority')
        // Each line seeds the host its names are, however that host was scanned or imported before.
        const identities = [...new Map(plain.map((e) => [e.host, e])).values()]
        const resolved = await resolveHostIds(
          tx,
          identities.map((e) => ({ identity: e.host, port: e.port, names: e.aliases, addresses: e.addresses })),
        )
        const hostId = new Map<string, number>()
        identities.forEach((e, i) => {
          const id = resolved.get(i)
          if (id !== undefined) hostId.set(e.host, id)
        })
        const fresh = identities.filter((e) => !hostId.has(e.host)).map((e) => ({ identity: e.host, port: e.port }))
        for (const [name, id] of await insertBareHosts(tx, fresh, at)) hostId.set(name, id)
        await insertHostNames(
          tx,
          plain.flatMap((e) => [
            ...e.aliases.map((name) => ({ hostId: hostId.get(e.host)!, name, kind: 'alias' as const })),
            ...e.addresses
              .filter((a) => hostIdentity(a, e.port) !== e.host)
              .map((name) => ({ hostId: hostId.get(e.host)!, name, kind: 'address' as const })),
          ]),
          at,
        )
        const keys = await insertImportedSightings(
          tx,
          plain.map((e) => ({ hostId: hostId.get(e.host)!, keyId: idOfKey(e.blob), family: familyOfType(keyOf.get(e.blob)!.type), port: e.port })),
          at,
        )
        for (const batch of batches(hashed)) {
          await sql`
            INSERT INTO imported_hashed (salt, hmac, key_id, imported_at, source)
            SELECT s, m, k, ${at}::timestamptz, ${by.source}
            FROM unnest(${batch.map((e) => e.salt)}::bytea[], ${batch.map((e) => e.hmac)}::bytea[],
                        ${batch.map((e) => idOfKey(e.blob))}::int[]) AS v(s, m, k)
            WHERE NOT EXISTS (SELECT 1 FROM imported_hashed i WHERE i.salt = v.s AND i.hmac = v.m AND i.key_id = v.k)`.execute(tx)
        }
        for (const batch of batches(revoked)) {
          await sql`
            INSERT INTO revoked_keys (key_id, imported_at, source)
            SELECT DISTINCT k, ${at}::timestamptz, ${by.source}::text FROM unnest(${batch.map((e) => idOfKey(e.blob))}::int[]) AS v(k)
            ON CONFLICT (key_id) DO NOTHING`.execute(tx)
        }
        for (const authority of authorities) {
          await sql`
            INSERT INTO cert_authorities (key_id, patterns, imported_at, source)
            VALUES (${idOfKey(authority.blob)}, ${[...authority.patterns]}::text[], ${at}::timestamptz, ${by.source})
            ON CONFLICT (key_id, patterns) DO NOTHING`.execute(tx)
        }
        return { hosts: identities.length, keys, hashed: hashed.length, revoked: revoked.length, authorities: authorities.length }
      }),
    )
  }

  prune(before: Date): Promise<PruneReport> {
    return this.guard('pruning', () =>
      this.db.transaction().execute(async (tx) => {
        const failures = await tx
          .selectFrom('scan_failures')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('scan_id', 'in', tx.selectFrom('scans').select('id').where('finished_at', '<', before))
          .executeTakeFirstOrThrow()
        const scans = await tx.deleteFrom('scans').where('finished_at', '<', before).returning('id').execute()
        return { scans: scans.length, failures: failures.n }
      }),
    )
  }

  stats(): Promise<StoreStats> {
    return this.guard('counting rows', async () => {
      const count = (table: keyof Database) => sql<number>`(SELECT count(*)::int FROM ${sql.table(table)})`
      const row = await this.db
        .selectNoFrom([
          count('hosts').as('hosts'),
          count('keys').as('keys'),
          count('sightings').as('sightings'),
          count('scans').as('scans'),
          count('scan_failures').as('scanFailures'),
          count('findings').as('findings'),
        ])
        .executeTakeFirstOrThrow()
      return row
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.db.destroy()
    } finally {
      await this.options.onClose?.()
    }
  }
}
