import { sql, type Kysely, type Transaction } from 'kysely'
import { OperationalError, UserError } from '../domain/errors.js'
import type { Acceptance, Waiver, HostTimeline, KeyRecord, StoredFinding, RefusedKey, TrustedAuthority, TrustedKey } from '../domain/history.js'
import type { Finding, FindingKind } from '../domain/finding.js'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import * as admin from './admin-commands.js'
import * as authorities from './cert-authorities.js'
import { fleetConfigurations } from './audit-reads.js'
import type { AuditedHost } from '../domain/fleet-audit.js'
import { importKnownHosts } from './known-hosts-import.js'
import { keyStatementsAbout, recordKeyStatement, type StatementRecorded } from './key-statements.js'
import type { KeyStatement } from '../domain/key-statement.js'
import type { MigrationReport } from './migrate.js'
import { createRecordingSession } from './recording-session.js'
import { readRsaModuli, type StoredModulus } from './key-verdicts.js'
import { createSharedPrimeSession } from './shared-prime-session.js'
import type { Database } from './schema.js'
import * as reads from './store-reads.js'
import { recordedScanReport, type RecordedScanReport } from './scan-report-reads.js'
import { readFleetSnapshot } from './publish-reads.js'
import type { FleetSnapshot } from '../domain/fleet.js'
import type {
  CertAuthorityEntry,
  CertAuthorityTrust,
  FindingFilter,
  ImportEntry,
  ImportReport,
  KeySelector,
  PruneReport,
  RecordingSession,
  SharedPrimeSession,
  Store,
  StoreStats,
  RevokedKeyEntry,
} from './store.js'

/* The Store over kysely: each method is one function of store-reads.ts, admin-commands.ts,
 * known-hosts-import.ts, cert-authorities.ts or a recording session, run in the transaction (and under the lock) it needs,
 * with driver failures turned into OperationalErrors that say what failed where. */

/** Key of the advisory lock that serialises scan recording on PostgreSQL ('hkrc'). */
const RECORDING_LOCK_KEY = 0x686b7263

/** Key of the advisory lock one scan's shared-prime check holds at a time on PostgreSQL ('hkgc'), and
 * how it is waited for: polled, up to half an hour (a first comparison of 100,000 keys takes 1.5 minutes
 * on an idle 2-core machine, several on a busy one). */
const SHARED_PRIME_LOCK_KEY = 0x686b6763
const SHARED_PRIME_POLL_MS = 200
const SHARED_PRIME_WAIT_MS = 30 * 60_000

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

  /** Runs fn in one transaction holding the recording lock. Concurrent scans, imports and accepts on
   * one PostgreSQL take turns: each reads the history the previous one wrote. */
  private locked<T>(fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${sql.lit(RECORDING_LOCK_KEY)})`.execute(tx)
      return fn(tx)
    })
  }

  recording<T>(fn: (session: RecordingSession) => Promise<T>): Promise<T> {
    return this.guard('recording the scan (nothing was written)', () => this.locked((tx) => fn(createRecordingSession(tx))))
  }

  rsaModuli(): Promise<{ pending: StoredModulus[]; known: StoredModulus[] }> {
    return this.guard('reading RSA moduli for the shared-prime check', () => readRsaModuli(this.db))
  }

  async sharedPrimeClaim<T>(fn: (waited: boolean) => Promise<T>): Promise<T> {
    // The embedded store is one process's (hostkeys.lock): no other scan can be checking.
    if (this.backend !== 'postgres') return fn(false)
    return this.db.connection().execute(async (connection) => {
      const what = "waiting for another scan's shared-prime check"
      let waited = false
      const giveUp = Date.now() + SHARED_PRIME_WAIT_MS
      // A session lock, polled: not a transaction the server would end as idle while the batch GCD
      // runs, nor a wait --db-timeout would cut short (the other check may be comparing a new fleet).
      while (!(await this.guard(what, () => sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${sql.lit(SHARED_PRIME_LOCK_KEY)}) AS ok`.execute(connection))).rows[0]!.ok) {
        waited = true
        if (Date.now() > giveUp) throw new OperationalError(`${what} in ${this.location} failed: still running after ${SHARED_PRIME_WAIT_MS / 60_000} minutes`)
        await new Promise((resolve) => setTimeout(resolve, SHARED_PRIME_POLL_MS))
      }
      try {
        return await fn(waited)
      } finally {
        await sql`SELECT pg_advisory_unlock(${sql.lit(SHARED_PRIME_LOCK_KEY)})`.execute(connection).catch(() => {})
      }
    })
  }

  recordSharedPrimes<T>(fn: (session: SharedPrimeSession) => Promise<T>): Promise<T> {
    return this.guard('recording the shared-prime check', () => this.locked((tx) => fn(createSharedPrimeSession(tx))))
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

  lookupCertifiedBy(selector: KeySelector): Promise<KeyRecord[]> {
    return this.guard('lookup', () => reads.lookupCertifiedBy(this.db, selector))
  }

  lookupHost(name: string): Promise<KeyRecord[]> {
    return this.guard('lookup', () => reads.lookupHost(this.db, name))
  }

  listFindings(filter: FindingFilter): Promise<StoredFinding[]> {
    return this.guard('listing findings', () => reads.listFindings(this.db, filter))
  }

  scanFindings(scanId: number, kind: FindingKind): Promise<Finding[]> {
    return this.guard('reading findings', () => reads.scanFindings(this.db, scanId, kind))
  }

  recordedScanReport(scanId: number): Promise<RecordedScanReport | null> {
    return this.guard('reading the scan\'s findings', () => recordedScanReport(this.db, scanId))
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

  refusedKeys(): Promise<RefusedKey[]> {
    return this.guard('listing refused keys', () => reads.refusedKeys(this.db))
  }

  fleetConfigurations(): Promise<AuditedHost[]> {
    return this.guard('reading server configurations', () => fleetConfigurations(this.db))
  }

  stats(): Promise<StoreStats> {
    return this.guard('counting rows', () => reads.storeStats(this.db))
  }

  fleetSnapshot(): Promise<FleetSnapshot> {
    return this.guard('reading the fleet', () => readFleetSnapshot(this.db))
  }

  acceptHost(name: string, by: { actor: string; reason: string | null; at: Date }): Promise<Acceptance | null> {
    return this.guard('accepting', () => this.locked((tx) => admin.acceptHost(tx, name, by)))
  }

  waiveFindings(name: string, kind: FindingKind, by: { actor: string; reason: string; until: Date | null; at: Date }): Promise<Waiver | null> {
    return this.guard('waiving', () => this.locked((tx) => admin.waiveFindings(tx, name, kind, by)))
  }

  revokeKeys(keys: readonly RevokedKeyEntry[], by: { actor: string; reason: string; at: Date }): Promise<Sha256Fingerprint[]> {
    return this.guard('revoking keys', () => this.locked((tx) => admin.revokeKeys(tx, keys, by)))
  }

  allowShared(hosts: readonly string[], by: { actor: string; at: Date }): Promise<void> {
    return this.guard('recording a share group', () => this.db.transaction().execute((tx) => admin.allowShared(tx, hosts, by)))
  }

  prune(before: Date): Promise<PruneReport> {
    return this.guard('pruning', () => this.db.transaction().execute((tx) => admin.prune(tx, before)))
  }

  importKnownHosts(entries: readonly ImportEntry[], by: { source: string; at: Date }): Promise<ImportReport> {
    return this.guard('importing known_hosts', () => this.locked((tx) => importKnownHosts(tx, entries, by)))
  }

  trustCertAuthorities(entries: readonly CertAuthorityEntry[], by: { source: string; at: Date }): Promise<CertAuthorityTrust[]> {
    return this.guard('trusting certificate authorities', () => this.locked((tx) => authorities.trustCertAuthorities(tx, entries, by)))
  }

  listCertAuthorities(): Promise<TrustedAuthority[]> {
    return this.guard('listing certificate authorities', () => authorities.loadCertAuthorities(this.db))
  }

  removeCertAuthority(sha256: Sha256Fingerprint): Promise<number> {
    return this.guard('removing a certificate authority', () => this.locked((tx) => authorities.removeCertAuthority(tx, sha256)))
  }

  recordKeyStatement(statement: KeyStatement): Promise<StatementRecorded> {
    return this.guard('recording the statement', () => this.locked((tx) => recordKeyStatement(tx, statement)))
  }

  keyStatements(identity: string): Promise<KeyStatement[]> {
    return this.guard('reading key statements', () => keyStatementsAbout(this.db, identity))
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
