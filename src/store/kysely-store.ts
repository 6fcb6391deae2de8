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
import { createRecordingSession } from './recording-session.js'
import * as reads from './store-reads.js'
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

  matchHosts(name: string, port: number | null): Promise<string[]> {
    return this.guard('finding the host', () => reads.matchHosts(this.db, name, port))
  }

  hostNames(): Promise<string[]> {
    return this.guard('listing hosts', () => reads.hostNames(this.db))
  }

  lookupKey(selector: KeySelector): Promise<KeyRecord[]> {
    return this.guard('lookup', () => reads.lookupKey(this.db, selector))
  }

  lookupHost(name: string): Promise<KeyRecord[]> {
    return this.guard('lookup', () => reads.lookupHost(this.db, name))
  }

  listFindings(filter: FindingFilter): Promise<StoredFinding[]> {
    return this.guard('listing findings', () => reads.listFindings(this.db, filter))
  }

  hostTimeline(name: string): Promise<HostTimeline | null> {
    return this.guard('reading history', () => reads.hostTimeline(this.db, name))
  }

  listShareGroups(): Promise<string[][]> {
    return this.guard('listing share groups', () => reads.loadShareGroups(this.db))
  }

  trustedKeys(): Promise<TrustedKey[]> {
    return this.guard('listing trusted keys', () => reads.trustedKeys(this.db))
  }

  stats(): Promise<StoreStats> {
    return this.guard('counting rows', () => reads.storeStats(this.db))
  }

  acceptHost(name: string, by: { actor: string; reason: string | null; at: Date }): Promise<Acceptance | null> {
    return this.guard('accepting', () =>
      this.db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(RECORDING_LOCK_KEY)})`.execute(tx)
        const found = await reads.hostIdByName(tx, name).executeTakeFirst()
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
