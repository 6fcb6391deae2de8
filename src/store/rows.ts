import type { Selectable } from 'kysely'
import type { LedgerState } from '../domain/trust.js'
import type { Finding, FindingKind, Severity } from '../domain/finding.js'
import { familyOfType, type KeyType } from '../domain/host-key.js'
import type { SightingTrust } from '../domain/sighting.js'
import { md5FromDigest, parseStoredSha256, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import type { AcceptancesTable, HostsTable } from './schema.js'
import type { StoredSighting } from './store.js'
import type { LiveFinding } from '../domain/finding-plan.js'
import type { KeyHolders } from '../domain/key-holders.js'
import type { Acceptance, HostFailure, HostTimeline, KeyRecord, StoredFinding, TrustedAuthority, TrustedKey } from '../domain/history.js'

/* Rows become domain objects here and nowhere else. bytea arrives as a Buffer from pg and as a
 * Uint8Array from PGlite; int4 as a number from both; timestamptz as a Date from both. */

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export interface SightingRow {
  id: number
  key_id: number
  family: string
  trust: SightingTrust
  current: boolean
  source: 'scan' | 'import'
  first_seen: Date
  last_seen: Date | null
  sha256: Uint8Array
  type: string
  bits: number
  address?: string | null
}

export function toSighting(row: SightingRow): StoredSighting {
  const type = row.type as KeyType
  return {
    id: row.id,
    keyId: row.key_id,
    sha256: sha256FromDigest(row.sha256),
    type,
    family: familyOfType(type),
    bits: row.bits,
    trust: row.trust,
    current: row.current,
    source: row.source,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    address: row.address ?? null,
  }
}

export interface KeyRecordRow {
  host: string
  address: string | null
  port: number | null
  type: string
  bits: number
  sha256: Uint8Array
  md5: Uint8Array
  first_seen: Date
  last_seen: Date | null
  current: boolean
  trust: LedgerState
  source: 'scan' | 'import'
}

export function toKeyRecord(row: KeyRecordRow): KeyRecord {
  return {
    host: row.host,
    address: row.address,
    port: row.port,
    type: row.type as KeyType,
    bits: row.bits,
    sha256: sha256FromDigest(row.sha256),
    md5: md5FromDigest(row.md5),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    current: row.current,
    trust: row.trust,
    source: row.source,
  }
}

export interface FindingRow {
  id: number
  identity: string
  kind: string
  severity: string
  host: string
  hosts: string[]
  key_type: string | null
  fingerprint: string | null
  previous: string | null
  message: string
  status: 'open' | 'accepted' | 'waived' | 'resolved'
  first_seen: Date
  last_seen: Date
  resolved_at: Date | null
  accepted_at: Date | null
  accepted_by: string | null
  accept_reason: string | null
}

export function toFinding(row: FindingRow): Finding {
  return {
    kind: row.kind as FindingKind,
    severity: row.severity as Severity,
    host: row.host,
    hosts: row.hosts,
    keyType: row.key_type as KeyType | null,
    fingerprint: row.fingerprint === null ? null : parseStoredSha256(row.fingerprint),
    previous: row.previous === null ? null : parseStoredSha256(row.previous),
    message: row.message,
  }
}

export function toStoredFinding(row: FindingRow): StoredFinding {
  return {
    ...toFinding(row),
    id: row.id,
    status: row.status,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    resolvedAt: row.resolved_at,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    acceptReason: row.accept_reason,
  }
}

export function toLiveFinding(row: Pick<FindingRow, 'id' | 'identity' | 'kind' | 'status' | 'host' | 'hosts' | 'key_type'>): LiveFinding {
  return {
    id: row.id,
    identity: row.identity,
    kind: row.kind as FindingKind,
    status: row.status === 'accepted' || row.status === 'waived' ? row.status : 'open',
    host: row.host,
    hosts: row.hosts,
    keyType: row.key_type as KeyType | null,
  }
}

/** An acceptance as `history` shows it; how many findings it closed is known only when it is made. */
export function toAcceptance(row: Selectable<AcceptancesTable>, host: string): Acceptance {
  return {
    host,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    reason: row.reason,
    fingerprints: row.fingerprints.map(parseStoredSha256),
    findingsAccepted: 0,
  }
}

export interface HostFailureRow {
  scan_id: number
  finished_at: Date
  status: string
  error: string | null
}

export function toHostFailure(row: HostFailureRow): HostFailure {
  return { scanId: row.scan_id, at: row.finished_at, status: row.status, error: row.error }
}

/** What one host's history is made of, each part already read. */
export interface HostTimelineRows {
  host: Selectable<HostsTable>
  names: readonly { name: string }[]
  keys: readonly KeyRecordRow[]
  /** Newest first, as listFindings returns them. */
  findings: readonly StoredFinding[]
  acceptances: readonly Selectable<AcceptancesTable>[]
  failures: readonly HostFailureRow[]
  trustChanges: readonly { sha256: Uint8Array; trust: SightingTrust; at: Date; actor: string; reason: string | null }[]
  waivers: readonly { kind: string; waived_at: Date; waived_by: string; reason: string; until: Date | null }[]
}

export function toHostTimeline(rows: HostTimelineRows): HostTimeline {
  const { host } = rows
  return {
    host: host.name,
    firstSeen: host.first_seen,
    lastReached: host.last_reached,
    lastStatus: host.last_status,
    names: rows.names.map((n) => n.name),
    keys: rows.keys.map(toKeyRecord),
    findings: [...rows.findings].reverse(),
    acceptances: rows.acceptances.map((a) => toAcceptance(a, host.name)),
    failures: rows.failures.map(toHostFailure),
    trustChanges: rows.trustChanges.map((c) => ({ sha256: sha256FromDigest(c.sha256), trust: c.trust, at: c.at, actor: c.actor, reason: c.reason })),
    waivers: rows.waivers.map((w) => ({ host: host.name, kind: w.kind as FindingKind, waivedAt: w.waived_at, waivedBy: w.waived_by, reason: w.reason, until: w.until })),
  }
}

export interface TrustedKeyRow {
  name: string
  port: number | null
  last_port: number | null
  type: string
  blob: Uint8Array
  aliases: string[]
}

export function toTrustedKey(row: TrustedKeyRow): TrustedKey {
  return {
    host: row.name,
    aliases: row.aliases,
    port: row.port ?? row.last_port ?? 22,
    type: row.type as TrustedKey['type'],
    blob: toBuffer(row.blob),
  }
}

export interface KeyHoldersRow {
  sha256: Uint8Array
  type: string
  hosts: string[]
  /** One per host, in the same order: `address port`, or null. */
  endpoints: (string | null)[]
}

export function toKeyHolders(row: KeyHoldersRow): KeyHolders {
  return {
    fingerprint: sha256FromDigest(row.sha256),
    keyType: row.type as KeyType,
    holders: row.hosts.map((host, i) => ({ host, endpoint: row.endpoints[i] ?? null })),
  }
}

/** A hashed known_hosts entry waiting for a scan to name its host. */
export interface ImportedHashed {
  readonly id: number
  readonly salt: Buffer
  readonly hmac: Buffer
  readonly keyId: number
  readonly type: KeyType
}

export interface ImportedHashedRow {
  id: number
  salt: Uint8Array
  hmac: Uint8Array
  key_id: number
  type: string
}

export function toImportedHashed(row: ImportedHashedRow): ImportedHashed {
  return { id: row.id, salt: toBuffer(row.salt), hmac: toBuffer(row.hmac), keyId: row.key_id, type: row.type as KeyType }
}

export interface TrustedAuthorityRow {
  sha256: Uint8Array
  type: string
  bits: number
  blob: Uint8Array
  patterns: string[]
  source: string
  imported_at: Date
}

export function toTrustedAuthority(row: TrustedAuthorityRow): TrustedAuthority {
  return {
    sha256: sha256FromDigest(row.sha256),
    type: row.type as KeyType,
    bits: row.bits,
    blob: toBuffer(row.blob),
    patterns: row.patterns,
    source: row.source,
    trustedAt: row.imported_at,
  }
}
