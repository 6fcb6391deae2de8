import { sql, type Kysely } from 'kysely'
import { ledgerStateOf } from './ledger.js'
import type { FleetCertificate, FleetHost, FleetKey, FleetScan, FleetSnapshot } from '../domain/fleet.js'
import type { KeyFamily, KeyType } from '../domain/host-key.js'
import { md5FromDigest, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { loadCertAuthorities } from './cert-authorities.js'
import { toBuffer } from './rows.js'
import type { Database } from './schema.js'
import { listFindings } from './store-reads.js'

/* What `publish` and `report` read: the whole fleet at once, in one REPEATABLE READ transaction so a
 * scan recorded meanwhile shows entirely or not at all. A handful of statements whatever the fleet's
 * size: one per table, joined in memory by host id. */

type Db = Kysely<Database>

/** Every host with its names, keys and last certificates; every finding, scan and trusted CA. */
export async function readFleetSnapshot(db: Db): Promise<FleetSnapshot> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      const hosts = await tx
        .selectFrom('hosts')
        .select(['id', 'name', 'port', 'first_seen', 'last_reached', 'last_status', 'last_banner'])
        .orderBy('name')
        .execute()
      const names = await tx.selectFrom('host_names').select(['host_id', 'name', 'kind']).orderBy('host_id').orderBy('name').execute()
      const keys = await tx
        .selectFrom('sightings as s')
        .innerJoin('keys as k', 'k.id', 's.key_id')
        .leftJoin('scans as sc', 'sc.id', 's.last_scan_id')
        .select([
          's.host_id',
          'k.type',
          'k.bits',
          'k.blob',
          'k.sha256',
          'k.md5',
          ledgerStateOf().as('trust'),
          's.current',
          's.source',
          's.first_seen',
          's.last_seen',
          's.address',
          's.port',
          'sc.vantage',
        ])
        .orderBy('s.host_id')
        .orderBy('s.first_seen')
        .orderBy('s.id')
        .execute()
      // The last certificate per (host, family): the one cert_renewed and cert_removed compare with.
      const certificates = await sql<{
        host_id: number
        family: string
        key_sha256: Uint8Array
        ca_sha256: Uint8Array
        ca_type: string
        ca_bits: number
        ca_blob: Uint8Array
        key_identity: string
        serial: string
        principals: string[]
        valid_after: Date | null
        valid_before: Date | null
        signature_valid: boolean
        last_seen: Date
        removed_at: Date | null
      }>`
        SELECT DISTINCT ON (c.host_id, c.family)
               c.host_id, c.family, k.sha256 AS key_sha256, ca.sha256 AS ca_sha256, ca.type AS ca_type,
               ca.bits AS ca_bits, ca.blob AS ca_blob, c.key_identity, c.serial::text AS serial, c.principals,
               c.valid_after, c.valid_before, c.signature_valid, c.last_seen, c.removed_at
        FROM certificates c
        JOIN keys k ON k.id = c.key_id
        JOIN keys ca ON ca.id = c.ca_key_id
        WHERE c.kind = 'host'
        ORDER BY c.host_id, c.family, c.last_seen DESC, c.id DESC`.execute(tx)
      const scans = await tx
        .selectFrom('scans')
        .select(['id', 'started_at', 'finished_at', 'vantage', 'hosts_asked', 'hosts_reached', 'findings'])
        .orderBy('started_at')
        .orderBy('id')
        .execute()
      const findings = await listFindings(tx, {})
      const authorities = await loadCertAuthorities(tx)

      const byHost = <T extends { host_id: number }>(rows: readonly T[]) => {
        const map = new Map<number, T[]>()
        for (const row of rows) map.set(row.host_id, [...(map.get(row.host_id) ?? []), row])
        return map
      }
      const namesOf = byHost(names)
      const keysOf = byHost(keys)
      const certificatesOf = byHost(certificates.rows)

      const fleetHosts: FleetHost[] = hosts.map((h) => ({
        host: h.name,
        port: h.port,
        aliases: (namesOf.get(h.id) ?? []).filter((n) => n.kind === 'alias').map((n) => n.name),
        addresses: (namesOf.get(h.id) ?? []).filter((n) => n.kind === 'address').map((n) => n.name),
        firstSeen: h.first_seen,
        lastReached: h.last_reached,
        lastStatus: h.last_status,
        lastBanner: h.last_banner,
        keys: (keysOf.get(h.id) ?? []).map(
          (k): FleetKey => ({
            type: k.type as KeyType,
            bits: k.bits,
            blob: toBuffer(k.blob),
            sha256: sha256FromDigest(k.sha256),
            md5: md5FromDigest(k.md5),
            trust: k.trust,
            current: k.current,
            source: k.source,
            firstSeen: k.first_seen,
            lastVerified: k.last_seen,
            verifiedFrom: k.last_seen === null ? null : (k.vantage ?? null),
            address: k.address,
            port: k.port,
          }),
        ),
        certificates: (certificatesOf.get(h.id) ?? []).map(
          (c): FleetCertificate => ({
            family: c.family as KeyFamily,
            keySha256: sha256FromDigest(c.key_sha256),
            ca: {
              sha256: sha256FromDigest(c.ca_sha256),
              type: c.ca_type as KeyType,
              bits: c.ca_bits,
              blob: toBuffer(c.ca_blob),
            },
            keyId: c.key_identity,
            serial: c.serial,
            principals: c.principals,
            validAfter: c.valid_after,
            validBefore: c.valid_before,
            signatureValid: c.signature_valid,
            lastSeen: c.last_seen,
            removed: c.removed_at !== null,
          }),
        ),
      }))
      const fleetScans: FleetScan[] = scans.map((s) => ({
        id: s.id,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
        vantage: s.vantage,
        hostsAsked: s.hosts_asked,
        hostsReached: s.hosts_reached,
        findings: s.findings,
      }))
      return { hosts: fleetHosts, findings, scans: fleetScans, authorities }
    })
}
