import { hash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { RecordedCertificate } from '../domain/certificate-history.js'
import type { KeyFamily } from '../domain/host-key.js'
import type { ScannedKey } from '../domain/scanned-host.js'
import { sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { batches } from './batches.js'
import { keyIds } from './key-writer.js'
import type { Database } from './schema.js'

/* certificates : each host certificate a scan saw at a host (migrations/0003_certificates.sql). A
 * fleet without certificates pays one count per scan for all of this. */

/** What a scan records about one host's certificates: one it served, or a family it now serves plain. */
export type CertificateWrite =
  | {
      readonly kind: 'served'
      readonly hostId: number
      readonly key: ScannedKey & Required<Pick<ScannedKey, 'certificate'>>
      /** Signed by the family's trusted CA (or the first of the family): not a ca_changed. */
      readonly trusted: boolean
    }
  | { readonly kind: 'removed'; readonly hostId: number; readonly family: KeyFamily }

/** True when the history has recorded any certificate. */
export async function hasCertificates(db: Kysely<Database>): Promise<boolean> {
  const row = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM certificates) AS any`.execute(db)
  return row.rows[0]!.any
}

/** The last certificate of each family of each host (by last_seen), by host id. */
export async function loadLastCertificates(
  db: Kysely<Database>,
  hostIds: readonly number[],
): Promise<Map<number, Map<KeyFamily, RecordedCertificate>>> {
  const out = new Map<number, Map<KeyFamily, RecordedCertificate>>()
  for (const batch of batches([...new Set(hostIds)])) {
    const rows = await sql<{
      host_id: number
      family: KeyFamily
      key_sha256: Uint8Array
      ca_sha256: Uint8Array
      sha256: Uint8Array
      serial: string
      valid_before: Date | null
      removed_at: Date | null
      trusted_ca_sha256: Uint8Array | null
    }>`
      SELECT DISTINCT ON (c.host_id, c.family) c.host_id, c.family, k.sha256 AS key_sha256, ca.sha256 AS ca_sha256,
             c.sha256, c.serial::text AS serial, c.valid_before, c.removed_at,
             (SELECT tca.sha256 FROM certificates t JOIN keys tca ON tca.id = t.ca_key_id
              WHERE t.host_id = c.host_id AND t.family = c.family AND t.trusted
              ORDER BY t.last_seen DESC, t.id DESC LIMIT 1) AS trusted_ca_sha256
      FROM certificates c JOIN keys k ON k.id = c.key_id JOIN keys ca ON ca.id = c.ca_key_id
      WHERE c.host_id = ANY(${batch}::int[])
      ORDER BY c.host_id, c.family, c.last_seen DESC, c.id DESC`.execute(db)
    for (const row of rows.rows) {
      let byFamily = out.get(row.host_id)
      if (!byFamily) out.set(row.host_id, (byFamily = new Map()))
      byFamily.set(row.family, {
        family: row.family,
        keySha256: sha256FromDigest(row.key_sha256),
        caSha256: sha256FromDigest(row.ca_sha256),
        certificateSha256: Buffer.from(row.sha256).toString('hex'),
        serial: row.serial,
        validBefore: row.valid_before,
        removed: row.removed_at !== null,
        trustedCaSha256: row.trusted_ca_sha256 ? sha256FromDigest(row.trusted_ca_sha256) : null,
      })
    }
  }
  return out
}

/** Records the certificates served (a new row, or last seen moved on) and the families now served plain. */
export async function writeCertificates(db: Kysely<Database>, scanId: number, at: Date, writes: readonly CertificateWrite[]): Promise<void> {
  const served = writes.filter((w): w is Extract<CertificateWrite, { kind: 'served' }> => w.kind === 'served')
  if (served.length > 0) {
    const keys = await keyIds(db, [...served.map((w) => w.key), ...served.map((w) => w.key.certificate.ca)], at)
    for (const batch of batches(served, 500)) {
      const values = batch.map((w) => {
        const c = w.key.certificate
        return sql`(${w.hostId}::int, ${keys.get(w.key.sha256)!}::int, ${keys.get(c.ca.sha256)!}::int, ${w.key.family}, decode(${hash('sha256', c.blob, 'base64')}, 'base64'),
          ${c.certType}, ${c.kind}, ${c.serial}::numeric, ${c.keyId}, ${c.principals}::text[], ${c.validAfter}::timestamptz,
          ${c.validBefore}::timestamptz, ${c.signatureValid}, ${w.trusted}, decode(${c.blob.toString('base64')}, 'base64'), ${at}::timestamptz, ${at}::timestamptz, ${scanId}::int, ${scanId}::int)`
      })
      await sql`
        INSERT INTO certificates (host_id, key_id, ca_key_id, family, sha256, cert_type, kind, serial, key_identity, principals,
                                  valid_after, valid_before, signature_valid, trusted, blob, first_seen, last_seen, first_scan_id, last_scan_id)
        VALUES ${sql.join(values)}
        ON CONFLICT (host_id, sha256) DO UPDATE SET last_seen = EXCLUDED.last_seen, last_scan_id = EXCLUDED.last_scan_id, removed_at = NULL`.execute(db)
    }
  }
  const removed = writes.filter((w): w is Extract<CertificateWrite, { kind: 'removed' }> => w.kind === 'removed')
  for (const batch of batches(removed, 1000)) {
    await sql`
      UPDATE certificates c SET removed_at = ${at}::timestamptz
      FROM unnest(${batch.map((w) => w.hostId)}::int[], ${batch.map((w) => w.family)}::text[]) AS v(host_id, family)
      WHERE c.host_id = v.host_id AND c.family = v.family AND c.removed_at IS NULL`.execute(db)
  }
}

/** `hostkeys accept`: the certificates the host presents now (the last of each family) become its
 * trusted ones, so their CA is what the next scan compares with. */
export async function trustCurrentCertificates(db: Kysely<Database>, hostId: number): Promise<void> {
  await sql`
    UPDATE certificates c SET trusted = true
    WHERE c.host_id = ${hostId}::int AND c.removed_at IS NULL AND NOT c.trusted
      AND c.id = (SELECT l.id FROM certificates l WHERE l.host_id = c.host_id AND l.family = c.family
                  ORDER BY l.last_seen DESC, l.id DESC LIMIT 1)`.execute(db)
}
