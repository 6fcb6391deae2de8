import type { ServerConfig } from '../domain/server-config.js'
import type { AuditedHost } from '../domain/fleet-audit.js'
import type { StoredModulus, StoredVerdict, VerdictWrite } from './key-verdicts.js'
import type { Finding, FindingKind } from '../domain/finding.js'
import type { HostKey, KeyFamily, Sha256Fingerprint } from '../domain/host-key.js'
import type { HostHistory, Sighting, SightingTrust } from '../domain/sighting.js'
import type { IdentityClaim } from './host-identity.js'
import type { ClaimedStatements, StatementClaim, StatementRecorded } from './key-statements.js'
import type { KeyStatement } from '../domain/key-statement.js'
import type { MigrationReport } from './migrate.js'
import type { RecordedScanReport } from './scan-report-reads.js'
import type { AuthorityTrust, RecordedCertificate } from '../domain/certificate-history.js'
import type { CertificateWrite } from './certificate-writer.js'
import type { LiveFinding, Reconciliation } from '../domain/finding-plan.js'
import type { KeyHolders } from '../domain/key-holders.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import type { HostStatus } from '../domain/observation.js'
import type { FleetSnapshot } from '../domain/fleet.js'
import type { Acceptance, Waiver, KeyRecord, StoredFinding, HostTimeline, RefusedKey, TrustedAuthority, TrustedKey } from '../domain/history.js'

/* Store : the history behind one `--db`: PostgreSQL or an embedded PGlite directory, same schema.
 * Everything a use case reads or writes goes through this interface; SQL stays in src/store/. */

export interface ScanRequest {
  /** Key families asked for (`-t`); null means every family the hosts offer. */
  readonly keyFamilies: readonly KeyFamily[] | null
  /** SSHFP records were checked (no --no-dns): only such a scan can resolve SSHFP and dns_error findings. */
  readonly dnsChecked?: boolean
  /** What was asked, as given: targets, inventory files, options. Stored as JSON with the scan. */
  readonly [detail: string]: unknown
}

export interface ScanMeta {
  readonly startedAt: Date
  readonly finishedAt: Date
  /** Where the scan ran from (`--vantage`, default the machine's hostname). */
  readonly vantage: string
  readonly request: ScanRequest
}

export interface StoredSighting extends Sighting {
  readonly id: number
  readonly keyId: number
}

export interface StoredHost extends HostHistory {
  readonly id: number
  /** The identity's port. */
  readonly port: number
  /** Aliases and addresses already recorded. */
  readonly names: ReadonlySet<string>
  readonly sightings: readonly StoredSighting[]
  /** The server configuration (banner and KEXINIT) the last scan that read one saw; null if none has. */
  readonly configId: number | null
  /** The scan that last wrote the host: a host the recording scan has written already is a repeat. */
  readonly lastScanId: number | null
}

/** What a scan's writes for one chunk of hosts need. */
export interface HostWrite {
  readonly scanned: ScannedHost
  readonly stored: StoredHost | undefined
  /** Trust of each served key after this scan (from the analysis). */
  readonly trust: ReadonlyMap<Sha256Fingerprint, SightingTrust>
  /** The server configuration this scan read (ConfigIds), or null when it read none. */
  readonly configId: number | null
}

/** A host that may take hashed known_hosts entries as its baseline: it has no sightings yet. */
export interface HashedCandidate {
  readonly identity: string
  readonly port: number
  /** Every other name and address it goes by, bare. */
  readonly names: readonly string[]
  /** Its stored host, or null when it is new to the history. */
  readonly id: number | null
}

/** The recording half of the store: only valid inside `Store.recording`, which is one transaction. */
export interface RecordingSession {
  /** Inserts the scan's row; its counts are filled in by finishScan. */
  insertScan(meta: ScanMeta): Promise<number>
  /** Which stored host each claim is (by index), under the identity rules of README "History". */
  resolveHosts(claims: readonly IdentityClaim[]): Promise<Map<number, number>>
  /**
   * Turns hashed known_hosts entries that match one of these hosts' names into its imported baseline,
   * creating the host when it is new; returns the id of every host that took some, by identity.
   */
  adoptHashedEntries(hosts: readonly HashedCandidate[]): Promise<Map<string, number>>
  loadHosts(ids: readonly number[]): Promise<Map<number, StoredHost>>
  /** Gives a host known by address the name the inventory now gives it. */
  renameHost(id: number, from: string, to: string, at: Date): Promise<void>
  /** For claims made under a name, the other hosts known by one of their addresses (by claim index). */
  addressHosts(claims: readonly IdentityClaim[], chosen: ReadonlyMap<number, number>): Promise<Map<number, number[]>>
  /** Joins host `from` into host `into`: one server the history knew as two (README "Identity"). */
  absorbHost(from: { id: number; name: string }, into: { id: number; name: string }, at: Date): Promise<void>
  /** The keys among these that an imported `@revoked` line names, with the file that named them. */
  revokedKeys(fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, string>>
  /** Waivers in force at `at`, as `kind|host` (analysis/finding-lifecycle.ts waiverKey). */
  activeWaivers(at: Date): Promise<Set<string>>
  /** Trusted CAs and the host patterns each is trusted for. */
  authorityTrust(): Promise<AuthorityTrust[]>
  /** The id of each server configuration, by its digest in hex, adding those not stored yet. */
  configIds(configs: ReadonlyMap<string, ServerConfig>, at: Date): Promise<Map<string, number>>
  /** Stored configurations by id (to say what changed). */
  loadConfigs(ids: readonly number[]): Promise<Map<number, ServerConfig>>
  /** Which of these hosts had that configuration at some earlier time, as `hostId configId`. */
  earlierConfigs(pairs: readonly { hostId: number; configId: number }[]): Promise<Set<string>>
  /** The stored known-bad-key verdict of each of these keys the history has. */
  keyVerdicts(fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, StoredVerdict>>
  /** The last certificate recorded per family of each of these hosts (by id); empty at no cost when
   * the history has never recorded one. */
  lastCertificates(hostIds: readonly number[]): Promise<Map<number, Map<KeyFamily, RecordedCertificate>>>
  /** Records the certificates hosts served, and the families they now serve without one. */
  writeCertificates(scanId: number, at: Date, writes: readonly CertificateWrite[]): Promise<void>
  /** Writes hosts, names, keys, sightings and failures of one chunk, and `verdicts` (KnownBadKeys.
   * judgeChunk's) on its keys: a bounded number of statements. Returns the id of every host written, by name. */
  writeHosts(
    scanId: number,
    at: Date,
    asked: ReadonlySet<KeyFamily>,
    writes: readonly HostWrite[],
    verdicts?: readonly VerdictWrite[],
  ): Promise<Map<string, number>>
  /** Of these host names, those this scan wrote, with the status it wrote last (the host's verdict:
   * an unreached repeat of a host is not written over a reached one). */
  scannedHosts(scanId: number, names: readonly string[]): Promise<Map<string, HostStatus>>
  /** Hosts this scan wrote, and how many of them it reached. */
  scanHostCounts(scanId: number): Promise<{ asked: number; reached: number }>
  /** Every current holder of each key this scan saw that more than one host currently serves. */
  loadSharedKeys(scanId: number): Promise<KeyHolders[]>
  loadShareGroups(): Promise<string[][]>
  /** Open and accepted findings, but not those this scan (scanId) has already written. */
  loadLiveFindings(scanId: number): Promise<LiveFinding[]>
  writeFindings(scanId: number, at: Date, plan: Reconciliation): Promise<void>
  finishScan(scanId: number, counts: { hostsAsked: number; hostsReached: number; keysSeen: number; findings: number }): Promise<void>
  /** The statements in force about these hosts' keys (`expect`, `self-report`): by host id, and those
   * not bound to a host yet by any of the claim's names. Empty at no cost when there are none. */
  keyStatements(claims: readonly StatementClaim[]): Promise<ClaimedStatements>
  /** Binds statements found by name to the hosts this scan wrote for them. */
  bindKeyStatements(bindings: readonly { statementId: number; hostId: number }[], at: Date): Promise<void>
}

/** The writes of a scan's shared-prime check: only valid inside `Store.recordSharedPrimes`. */
export interface SharedPrimeSession {
  /** Which of these keys no shared-prime check has compared yet (another scan's may have, meanwhile). */
  stillPending(ids: readonly number[]): Promise<Set<number>>
  writeKeyVerdicts(writes: readonly VerdictWrite[]): Promise<void>
  markGcdChecked(ids: readonly number[]): Promise<void>
  /** The hosts serving each of these keys now. */
  hostsServing(fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, string[]>>
  /** Keys a shared-prime check found bad that the scan (scanId) saw served, with their verdicts. */
  sharedPrimeKeysSeenBy(scanId: number): Promise<Map<Sha256Fingerprint, { check: string; detail: string }>>
  /** Open and accepted findings with these identities. */
  liveFindings(identities: readonly string[]): Promise<LiveFinding[]>
  /** Writes the plan's findings as the scan's (scanId), counted with its findings. */
  writeFindings(scanId: number, at: Date, plan: Reconciliation): Promise<void>
}

export type KeySelector =
  | { readonly kind: 'sha256'; readonly digest: Buffer }
  | { readonly kind: 'md5'; readonly digest: Buffer }


export interface FindingFilter {
  readonly openOnly?: boolean
  readonly since?: Date | null
  readonly host?: string | null
  readonly kinds?: readonly FindingKind[]
}





/** A known_hosts entry to import: plain names, a hashed name waiting for a scan, a revoked key, a CA. */
export type ImportEntry =
  | {
      readonly kind: 'plain'
      /** The identity its first name gives (`name`, `[name]:port`). */
      readonly host: string
      /** Its other names, bare, and its addresses. */
      readonly aliases: readonly string[]
      readonly addresses: readonly string[]
      readonly port: number
      readonly blob: Buffer
    }
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly hmac: Buffer; readonly blob: Buffer }
  | { readonly kind: 'revoked'; readonly blob: Buffer }
  | { readonly kind: 'cert-authority'; readonly patterns: readonly string[]; readonly blob: Buffer }

export interface ImportReport {
  readonly hosts: number
  readonly keys: number
  readonly hashed: number
  readonly revoked: number
  readonly authorities: number
}

/** A key to revoke: its blob when known (a .pub or known_hosts line), else its fingerprint, which the history must know. */
export type RevokedKeyEntry = { readonly kind: 'blob'; readonly key: HostKey } | { readonly kind: 'fingerprint'; readonly sha256: Sha256Fingerprint }

/** A CA key to trust for the hosts one pattern list names (an `@cert-authority PATTERNS KEY` line). */
export interface CertAuthorityEntry {
  readonly blob: Buffer
  /** Parsed by parseHostPatterns: lowercase, at least one not negated, none with a comma. */
  readonly patterns: readonly string[]
}

/** What trusting one CA changed: its pattern lists now, and those added and removed. */
export interface CertAuthorityTrust {
  readonly sha256: Sha256Fingerprint
  /** Every pattern list the CA has now, oldest first (one kept from before keeps its date and source). */
  readonly authorities: readonly TrustedAuthority[]
  readonly added: readonly (readonly string[])[]
  /** Lists it had before and no longer has. */
  readonly removed: readonly (readonly string[])[]
}

export interface PruneReport {
  readonly scans: number
  readonly failures: number
}

/** Row counts, for `db` status output, tests of row growth and the benchmark. */
export interface StoreStats {
  readonly hosts: number
  readonly keys: number
  readonly sightings: number
  readonly scans: number
  readonly scanFailures: number
  readonly findings: number
}

export interface Store {
  readonly backend: 'postgres' | 'embedded'
  /** The redacted URL or the directory, for messages. */
  readonly location: string
  /** What opening the store migrated. */
  readonly migrations: MigrationReport
  /** Runs fn in one transaction holding the recording lock: all of it lands, or none. */
  recording<T>(fn: (session: RecordingSession) => Promise<T>): Promise<T>
  /** Every RSA key batch GCD has not compared yet and, when there are any, every one it has: one
   * snapshot, read without the recording lock. */
  rsaModuli(): Promise<{ pending: StoredModulus[]; known: StoredModulus[] }>
  /** Runs fn as the one shared-prime check at a time (on PostgreSQL, an advisory lock held for it
   * outside any transaction); `waited` says whether another scan's check held it first. */
  sharedPrimeClaim<T>(fn: (waited: boolean) => Promise<T>): Promise<T>
  /** Runs fn in one transaction holding the recording lock: a shared-prime check's verdicts and findings. */
  recordSharedPrimes<T>(fn: (session: SharedPrimeSession) => Promise<T>): Promise<T>
  /**
   * Identities of the hosts a name or address names, by identity, alias or address; on that port,
   * or on any port when null.
   */
  matchHosts(name: string, port: number | null): Promise<string[]>
  /** Every host identity and alias, for suggestions. */
  hostNames(): Promise<string[]>
  lookupKey(selector: KeySelector): Promise<KeyRecord[]>
  /** Every host whose certificate the CA with this key signed, with that certificate. */
  lookupCertifiedBy(selector: KeySelector): Promise<KeyRecord[]>
  /** By host name, alias or address. */
  lookupHost(name: string): Promise<KeyRecord[]>
  hostTimeline(name: string): Promise<HostTimeline | null>
  listFindings(filter: FindingFilter): Promise<StoredFinding[]>
  /** The findings of one kind that scan raised first, in the order it wrote them. */
  scanFindings(scanId: number, kind: FindingKind): Promise<Finding[]>
  /** What a recorded scan reported, read back from its findings' rows; null when there is no such scan. */
  recordedScanReport(scanId: number): Promise<RecordedScanReport | null>
  /** Trusts the keys the host serves now; null when the host is unknown. */
  acceptHost(name: string, by: { actor: string; reason: string | null; at: Date }): Promise<Acceptance | null>
  /** Waives one kind of finding on a host (`hostkeys waive`); null when the host is unknown. */
  waiveFindings(name: string, kind: FindingKind, by: { actor: string; reason: string; until: Date | null; at: Date }): Promise<Waiver | null>
  /** Marks keys revoked (`hostkeys revoke`): stored as keys if new; returns those newly revoked. */
  revokeKeys(keys: readonly RevokedKeyEntry[], by: { actor: string; reason: string; at: Date }): Promise<Sha256Fingerprint[]>
  allowShared(hosts: readonly string[], by: { actor: string; at: Date }): Promise<void>
  listShareGroups(): Promise<string[][]>
  /** Every key the trust ledger vouches for (domain/trust.ts), with the names a known_hosts line gives it. */
  trustedKeys(): Promise<TrustedKey[]>
  /** Every key the ledger refuses whoever serves it: revoked, or compromised and served. */
  refusedKeys(): Promise<RefusedKey[]>
  importKnownHosts(entries: readonly ImportEntry[], by: { source: string; at: Date }): Promise<ImportReport>
  /**
   * Trusts each CA the entries name for exactly the pattern lists they give it, replacing any it had:
   * all of them in one transaction. One result per distinct CA key, in the order first named.
   */
  trustCertAuthorities(entries: readonly CertAuthorityEntry[], by: { source: string; at: Date }): Promise<CertAuthorityTrust[]>
  /** Every trusted CA, one entry per pattern list (imported `@cert-authority` lines included), oldest first. */
  listCertAuthorities(): Promise<TrustedAuthority[]>
  /** Stops trusting the CA with this key; returns how many pattern lists it had (0: it was not trusted). */
  removeCertAuthority(sha256: Sha256Fingerprint): Promise<number>
  /** Records what a host's owner or the host itself says its keys are (statement.host is an identity),
   * superseding that source's statement in force for the host. */
  recordKeyStatement(statement: KeyStatement): Promise<StatementRecorded>
  /** The statements in force about the host with this identity. */
  keyStatements(identity: string): Promise<KeyStatement[]>
  /** Drops scans (and their per-host failures) that finished before `before`; never sightings or findings. */
  prune(before: Date): Promise<PruneReport>
  /** Every host whose configuration a scan has read, with it and its current keys (`hostkeys audit`). */
  fleetConfigurations(): Promise<AuditedHost[]>
  stats(): Promise<StoreStats>
  /** Every host with its keys (when and where last verified), last certificates and names; every
   * finding, scan and trusted CA: one consistent read, for `publish` and `report`. */
  fleetSnapshot(): Promise<FleetSnapshot>
  close(): Promise<void>
}
