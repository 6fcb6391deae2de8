import { sql, type Kysely, type Transaction } from 'kysely'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import { sha256DigestBase64, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { BLOB_BATCH_ROWS, batches } from './batches.js'
import type { Database } from './schema.js'

/* The known-bad-key verdict of each key (migrations/0004_audit.sql): the per-key checks run once per
 * key and checks version, the batch GCD once per RSA modulus against every other ever seen, and a
 * blocklist hit is kept for good (a key does not stop being compromised). A nightly scan of an
 * unchanged fleet only reads the verdicts. */

type Db = Transaction<Database> | Kysely<Database>

export interface StoredVerdict {
  /** The version of the per-key checks that last ran on it (0: never). */
  readonly checksVersion: number
  /** The check that found it bad, or null. */
  readonly compromised: string | null
  readonly detail: string | null
}

export interface VerdictWrite {
  readonly sha256: Sha256Fingerprint
  /** The checks version that ran; null leaves the stored one (a verdict from elsewhere: GCD, blocklist). */
  readonly checksVersion: number | null
  /** A bad verdict replaces none; a clean one (null) never clears an earlier bad one. */
  readonly compromised: string | null
  readonly detail: string | null
}

/** The stored verdict of each of these keys the history has. */
export async function loadKeyVerdicts(db: Db, fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, StoredVerdict>> {
  const out = new Map<Sha256Fingerprint, StoredVerdict>()
  for (const batch of batches([...new Set(fingerprints)])) {
    const rows = await sql<{ sha256: Uint8Array; checks_version: number; compromised: string | null; compromised_detail: string | null }>`
      SELECT sha256, checks_version, compromised, compromised_detail FROM keys
      WHERE sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${batch.map(sha256DigestBase64)}::text[]) AS v(d)))`.execute(db)
    for (const row of rows.rows) {
      out.set(sha256FromDigest(row.sha256), { checksVersion: row.checks_version, compromised: row.compromised, detail: row.compromised_detail })
    }
  }
  return out
}

/** One verdict per key, as writing them one after the other would leave it: the last checks version,
 * and the first bad verdict (a clean one never clears a bad one). */
export function verdictsByKey(writes: readonly VerdictWrite[]): Map<Sha256Fingerprint, VerdictWrite> {
  const out = new Map<Sha256Fingerprint, VerdictWrite>()
  for (const w of writes) {
    const before = out.get(w.sha256)
    if (!before) {
      out.set(w.sha256, w)
      continue
    }
    const bad = before.compromised !== null ? before : w
    out.set(w.sha256, { sha256: w.sha256, checksVersion: w.checksVersion ?? before.checksVersion, compromised: bad.compromised, detail: bad.detail })
  }
  return out
}

/** Records verdicts on keys already stored. */
export async function writeKeyVerdicts(db: Db, writes: readonly VerdictWrite[]): Promise<void> {
  for (const batch of batches(writes)) {
    await sql`
      UPDATE keys SET checks_version = coalesce(v.cv, keys.checks_version),
             compromised = coalesce(keys.compromised, v.c), compromised_detail = CASE WHEN keys.compromised IS NULL THEN v.d ELSE keys.compromised_detail END
      FROM unnest(${batch.map((w) => sha256DigestBase64(w.sha256))}::text[], ${batch.map((w) => w.checksVersion)}::int[],
                  ${batch.map((w) => w.compromised)}::text[], ${batch.map((w) => w.detail)}::text[]) AS v(s, cv, c, d)
      WHERE keys.sha256 = decode(v.s, 'base64')`.execute(db)
  }
}

export interface StoredModulus {
  readonly id: number
  readonly sha256: Sha256Fingerprint
  readonly blob: Uint8Array
}

/** RSA keys batch GCD has not compared yet (keys a scan or an import added since the last shared-prime
 * check) and every one it has: one consistent snapshot, read in id order a batch at a time (100,000
 * blobs are ~30 MB; one statement for them all would grow PGlite's memory, which never shrinks). */
export async function readRsaModuli(db: Kysely<Database>): Promise<{ pending: StoredModulus[]; known: StoredModulus[] }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      const pending: StoredModulus[] = []
      const known: StoredModulus[] = []
      for await (const batch of moduli(tx, false)) pending.push(...batch)
      if (pending.length > 0) for await (const batch of moduli(tx, true)) known.push(...batch)
      return { pending, known }
    })
}

async function* moduli(db: Db, checked: boolean): AsyncGenerator<StoredModulus[]> {
  let after = 0
  for (;;) {
    const rows = await sql<{ id: number; sha256: Uint8Array; blob: Uint8Array }>`
      SELECT id, sha256, blob FROM keys WHERE gcd_checked = ${checked} AND type = 'ssh-rsa' AND id > ${after}
      ORDER BY id LIMIT ${BLOB_BATCH_ROWS * 5}`.execute(db)
    if (rows.rows.length === 0) return
    yield rows.rows.map((r) => ({ id: r.id, sha256: sha256FromDigest(r.sha256), blob: r.blob }))
    after = rows.rows[rows.rows.length - 1]!.id
  }
}

/** Which of these keys are still not compared (another scan's shared-prime check may have since). */
export async function stillPending(db: Db, ids: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>()
  for (const batch of batches(ids)) {
    const rows = await sql<{ id: number }>`SELECT id FROM keys WHERE id = ANY(${batch}::int[]) AND NOT gcd_checked`.execute(db)
    for (const row of rows.rows) out.add(row.id)
  }
  return out
}

/** Marks these keys compared. */
export async function markGcdChecked(db: Db, ids: readonly number[]): Promise<void> {
  for (const batch of batches(ids)) await sql`UPDATE keys SET gcd_checked = true WHERE id = ANY(${batch}::int[])`.execute(db)
}

/** The hosts serving each of these keys now (a current sighting), by key. */
export async function hostsServing(db: Db, fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, string[]>> {
  const out = new Map<Sha256Fingerprint, string[]>()
  for (const batch of batches([...new Set(fingerprints)])) {
    const rows = await sql<{ sha256: Uint8Array; name: string }>`
      SELECT k.sha256, h.name FROM keys k JOIN sightings s ON s.key_id = k.id AND s.current JOIN hosts h ON h.id = s.host_id
      WHERE k.sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${batch.map(sha256DigestBase64)}::text[]) AS v(d)))
      ORDER BY h.name`.execute(db)
    for (const row of rows.rows) {
      const key = sha256FromDigest(row.sha256)
      const hosts = out.get(key)
      if (hosts) hosts.push(row.name)
      else out.set(key, [row.name])
    }
  }
  return out
}
