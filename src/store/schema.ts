import type { ColumnType, Generated } from 'kysely'

/* The tables of migrations/, as kysely sees them. Keep in step with the SQL files; rows become
 * domain objects in rows.ts only. */

type Timestamp = ColumnType<Date, Date | string, Date | string>
/** bytea reads back as a Buffer from pg and a Uint8Array from PGlite. */
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>
/** jsonb: pg parses it, PGlite too; written as a JSON string. */
type Json = ColumnType<unknown, string, string>

export interface HostsTable {
  id: Generated<number>
  name: string
  first_seen: Timestamp
  last_scan_id: number | null
  last_status: string | null
  last_error: string | null
  last_reached: Timestamp | null
  last_address: string | null
  last_port: number | null
  last_banner: string | null
  /** The identity's port (0002). */
  port: number
  /** Consecutive scans that asked for the host and did not reach it (0002). */
  failed_scans: ColumnType<number, number | undefined, number>
  /** The configuration the last scan that read its KEXINIT saw (0004). */
  config_id: ColumnType<number | null, number | null | undefined, number | null>
}

export interface HostNamesTable {
  host_id: number
  name: string
  kind: 'alias' | 'address'
  first_seen: Timestamp
}

export interface KeysTable {
  id: Generated<number>
  sha256: Bytes
  md5: Bytes
  type: string
  bits: number
  blob: Bytes
  first_seen: Timestamp
  /** The known-bad-key verdict (0004). */
  checks_version: ColumnType<number, number | undefined, number>
  compromised: ColumnType<string | null, string | null | undefined, string | null>
  compromised_detail: ColumnType<string | null, string | null | undefined, string | null>
  gcd_checked: ColumnType<boolean, boolean | undefined, boolean>
}

export type { SightingTrust } from '../domain/trust.js'
import type { SightingTrust } from '../domain/trust.js'

export interface SightingsTable {
  id: Generated<number>
  host_id: number
  key_id: number
  family: string
  trust: SightingTrust
  current: boolean
  source: 'scan' | 'import'
  first_seen: Timestamp
  last_seen: Timestamp | null
  first_scan_id: number | null
  last_scan_id: number | null
  address: string | null
  port: number | null
}

export interface ScansTable {
  id: Generated<number>
  started_at: Timestamp
  finished_at: Timestamp
  recorded_at: Generated<Timestamp>
  vantage: string
  request: Json
  hosts_asked: number
  hosts_reached: number
  keys_seen: number
  findings: number
}

export interface ScanFailuresTable {
  scan_id: number
  host_id: number
  status: string
  error: string | null
  address: string | null
}

export type FindingStatus = 'open' | 'accepted' | 'waived' | 'resolved'

export interface FindingsTable {
  id: Generated<number>
  identity: string
  kind: string
  severity: string
  host_id: number
  hosts: string[]
  key_type: string | null
  fingerprint: string | null
  previous: string | null
  message: string
  status: FindingStatus
  first_scan_id: number | null
  last_scan_id: number | null
  first_seen: Timestamp
  last_seen: Timestamp
  resolved_at: Timestamp | null
  accepted_at: Timestamp | null
  accepted_by: string | null
  accept_reason: string | null
}

export interface TrustChangesTable {
  id: Generated<number>
  host_id: number
  key_id: number
  trust: SightingTrust
  at: Timestamp
  actor: string
  reason: string | null
}

export interface WaiversTable {
  id: Generated<number>
  host_id: number
  kind: string
  waived_at: Timestamp
  waived_by: string
  reason: string
  until: Timestamp | null
}

export interface AcceptancesTable {
  id: Generated<number>
  host_id: number
  accepted_at: Timestamp
  accepted_by: string
  reason: string | null
  fingerprints: string[]
}

export interface ShareGroupsTable {
  id: Generated<number>
  created_at: Timestamp
  created_by: string
}

export interface ShareGroupMembersTable {
  group_id: number
  host_name: string
}

export interface ImportedHashedTable {
  id: Generated<number>
  salt: Bytes
  hmac: Bytes
  key_id: number
  imported_at: Timestamp
  source: string
}

export interface SchemaMigrationsTable {
  version: number
  name: string
  applied_at: Timestamp
}

export interface RevokedKeysTable {
  key_id: number
  imported_at: Timestamp
  source: string
  /** Why (`hostkeys revoke --reason`, 0008); null for imported lines. */
  reason: ColumnType<string | null, string | null | undefined, string | null>
}

export interface CertAuthoritiesTable {
  id: Generated<number>
  key_id: number
  patterns: string[]
  imported_at: Timestamp
  source: string
}

export interface CertificatesTable {
  id: Generated<number>
  host_id: number
  key_id: number
  ca_key_id: number
  family: string
  sha256: Uint8Array
  cert_type: string
  kind: 'host' | 'user'
  /** numeric(20,0): pg returns it as a string. */
  serial: string
  key_identity: string
  principals: string[]
  valid_after: Timestamp | null
  valid_before: Timestamp | null
  signature_valid: boolean
  trusted: boolean
  blob: Uint8Array
  first_seen: Timestamp
  last_seen: Timestamp
  first_scan_id: number | null
  last_scan_id: number | null
  removed_at: Timestamp | null
}

export interface ServerConfigsTable {
  id: Generated<number>
  digest: Bytes
  banner: string | null
  hassh: string
  algorithms: Json
  first_seen: Timestamp
}

export interface HostConfigChangesTable {
  host_id: number
  config_id: number
  since: Timestamp
  scan_id: number | null
}

export interface Database {
  hosts: HostsTable
  host_names: HostNamesTable
  keys: KeysTable
  sightings: SightingsTable
  scans: ScansTable
  scan_failures: ScanFailuresTable
  findings: FindingsTable
  acceptances: AcceptancesTable
  share_groups: ShareGroupsTable
  share_group_members: ShareGroupMembersTable
  imported_hashed: ImportedHashedTable
  revoked_keys: RevokedKeysTable
  trust_changes: TrustChangesTable
  waivers: WaiversTable
  cert_authorities: CertAuthoritiesTable
  certificates: CertificatesTable
  server_configs: ServerConfigsTable
  host_config_changes: HostConfigChangesTable
  schema_migrations: SchemaMigrationsTable
}
