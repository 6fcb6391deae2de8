import { hash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { HostKey, Sha256Fingerprint } from '../domain/host-key.js'
import { sha256DigestBase64, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { BLOB_BATCH_ROWS, batches } from './batches.js'
import type { VerdictWrite } from './key-verdicts.js'
import type { Database } from './schema.js'

/* keys : one row per distinct key, found by the SHA-256 digest of its blob. A scan's new sightings and
 * a known_hosts import both record keys through keyIds, so a key reaches its row one way only.
 *
 * Keys go to the server as base64 text, decoded there: a bytea parameter goes out as hex, twice the
 * bytes, and every byte of a statement is first a string and then a Buffer that lives until the next
 * full GC. A first scan sends ~300,000 keys; base64 makes that a third less, with no Buffer or hash
 * object per digest. The fingerprint is already the base64 of the digest, less its one '=' of padding. */

/** A key to record: its blob and what was read from it. */
export type KeyToWrite = Pick<HostKey, 'sha256' | 'type' | 'bits' | 'blob'>

/**
 * The id of each key's row, inserting those not stored yet (first seen `at`): two statements per
 * BLOB_BATCH_ROWS distinct keys. Callers hold the recording lock, so no other writer inserts between
 * the lookup and the insert.
 *
 * `verdicts`: known-bad-key verdicts of keys this may insert. A key inserted here gets its verdict in
 * the same row, and its entry is taken out of the map; the rest are for keys already stored. (Written
 * afterwards by an UPDATE, every new key's row was written twice: on the embedded store that UPDATE
 * was 19 s of a 100,000-host first scan, and left a dead row version behind for every key.)
 */
export async function keyIds(
  db: Kysely<Database>,
  keys: readonly KeyToWrite[],
  at: Date,
  verdicts?: Map<Sha256Fingerprint, VerdictWrite>,
): Promise<Map<Sha256Fingerprint, number>> {
  const ids = new Map<Sha256Fingerprint, number>()
  const distinct = [...new Map(keys.map((k) => [k.sha256, k])).values()]
  for (const batch of batches(distinct, BLOB_BATCH_ROWS)) {
    const found = await sql<{ id: number; sha256: Uint8Array }>`
      SELECT id, sha256 FROM keys
      WHERE sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${batch.map((k) => sha256DigestBase64(k.sha256))}::text[]) AS v(d)))`.execute(db)
    for (const row of found.rows) ids.set(sha256FromDigest(row.sha256), row.id)
    const missing = batch.filter((k) => !ids.has(k.sha256))
    if (missing.length === 0) continue
    const verdict = missing.map((k) => verdicts?.get(k.sha256))
    const inserted = await sql<{ id: number; sha256: Uint8Array }>`
      INSERT INTO keys (sha256, md5, type, bits, blob, first_seen, checks_version, compromised, compromised_detail)
      SELECT decode(d, 'base64'), decode(m, 'base64'), t, b, decode(k, 'base64'), ${at}::timestamptz, coalesce(cv, 0), c, cd
      FROM unnest(${missing.map((k) => sha256DigestBase64(k.sha256))}::text[], ${missing.map((k) => hash('md5', k.blob, 'base64'))}::text[],
                  ${missing.map((k) => k.type)}::text[], ${missing.map((k) => k.bits)}::int[],
                  ${missing.map((k) => k.blob.toString('base64'))}::text[], ${verdict.map((v) => v?.checksVersion ?? null)}::int[],
                  ${verdict.map((v) => v?.compromised ?? null)}::text[], ${verdict.map((v) => v?.detail ?? null)}::text[]) AS v(d, m, t, b, k, cv, c, cd)
      RETURNING id, sha256`.execute(db)
    for (const row of inserted.rows) {
      const sha256 = sha256FromDigest(row.sha256)
      ids.set(sha256, row.id)
      verdicts?.delete(sha256)
    }
  }
  return ids
}
