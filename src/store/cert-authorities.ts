import { sql, type Kysely } from 'kysely'
import type { TrustedAuthority } from '../domain/history.js'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import { digestOfSha256 } from '../domain/fingerprint/digest-forms.js'
import { readKeyTypeAndBits, sha256Fingerprint } from '../domain/fingerprint/key-blob.js'
import { keyIds } from './key-writer.js'
import { toTrustedAuthority } from './rows.js'
import type { Database } from './schema.js'
import type { CertAuthorityEntry, CertAuthorityTrust } from './store.js'

/* cert_authorities (migration 0002): one row per `@cert-authority PATTERNS KEY` line, keyed by the CA's
 * key and its pattern list. `import known_hosts` adds rows as its lines name them; `ca trust` sets a
 * CA's pattern lists to exactly those it is given. The key itself is a row of `keys`, recorded through
 * keyIds as every other key is.
 *
 * Pattern lists travel as text joined with commas and are split back with string_to_array: a
 * known_hosts pattern never holds a comma (it is the separator of the NAMES field), and an array of
 * lists of different lengths is no PostgreSQL array. A handful of CAs is the usual count, so each
 * statement carries every row at once. */

type Db = Kysely<Database>

/** Every trusted CA (never a revoked one), one entry per (key, pattern list), oldest first; or only the keys `ids` name. */
export async function loadCertAuthorities(db: Db, ids?: readonly number[]): Promise<TrustedAuthority[]> {
  let query = db
    .selectFrom('cert_authorities as c')
    .innerJoin('keys as k', 'k.id', 'c.key_id')
    .select(['k.sha256', 'k.type', 'k.bits', 'k.blob', 'c.patterns', 'c.source', 'c.imported_at'])
    // A revoked CA (@revoked, `hostkeys revoke`) is trusted for nothing, whatever its rows say.
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('revoked_keys as r').select('r.key_id').whereRef('r.key_id', '=', 'c.key_id'))))
  if (ids) query = query.where('c.key_id', 'in', ids.length > 0 ? [...ids] : [-1])
  const rows = await query.orderBy('c.imported_at').orderBy('c.id').execute()
  return rows.map(toTrustedAuthority)
}

const joined = (patterns: readonly string[]) => patterns.join(',')

/**
 * Trusts each CA for exactly the pattern lists these entries give it (several entries may name one
 * key): lists it already had are kept as they were (when and by whom), others it had are removed,
 * new ones are added. One result per distinct key, in the order the entries first name it. Runs
 * under the recording lock (keyIds needs it).
 */
export async function trustCertAuthorities(
  db: Db,
  entries: readonly CertAuthorityEntry[],
  by: { source: string; at: Date },
): Promise<CertAuthorityTrust[]> {
  const wanted = new Map<Sha256Fingerprint, { blob: Buffer; lists: Map<string, readonly string[]> }>()
  for (const entry of entries) {
    const sha256 = sha256Fingerprint(entry.blob)
    const ca = wanted.get(sha256) ?? { blob: entry.blob, lists: new Map() }
    ca.lists.set(joined(entry.patterns), entry.patterns)
    wanted.set(sha256, ca)
  }
  if (wanted.size === 0) return []
  const ids = await keyIds(
    db,
    [...wanted].map(([sha256, { blob }]) => ({ sha256, blob, ...readKeyTypeAndBits(blob) })),
    by.at,
  )
  const rows = [...wanted].flatMap(([sha256, ca]) => [...ca.lists.keys()].map((list) => ({ keyId: ids.get(sha256)!, list })))

  const removed = await sql<{ key_id: number; patterns: string[] }>`
    DELETE FROM cert_authorities c
    WHERE c.key_id = ANY(${[...ids.values()]}::int[])
      AND NOT EXISTS (SELECT 1 FROM unnest(${rows.map((r) => r.keyId)}::int[], ${rows.map((r) => r.list)}::text[]) AS v(k, p)
                      WHERE v.k = c.key_id AND string_to_array(v.p, ',') = c.patterns)
    RETURNING c.key_id, c.patterns`.execute(db)
  const added = await sql<{ key_id: number; patterns: string[] }>`
    INSERT INTO cert_authorities (key_id, patterns, imported_at, source)
    SELECT k, string_to_array(p, ','), ${by.at}::timestamptz, ${by.source}::text
    FROM unnest(${rows.map((r) => r.keyId)}::int[], ${rows.map((r) => r.list)}::text[]) AS v(k, p)
    ON CONFLICT (key_id, patterns) DO NOTHING
    RETURNING key_id, patterns`.execute(db)
  const now = await loadCertAuthorities(db, [...ids.values()])

  return [...wanted.keys()].map((sha256) => {
    const id = ids.get(sha256)!
    return {
      sha256,
      authorities: now.filter((a) => a.sha256 === sha256),
      added: added.rows.filter((r) => r.key_id === id).map((r) => r.patterns),
      removed: removed.rows.filter((r) => r.key_id === id).map((r) => r.patterns),
    }
  })
}

/** Stops trusting a CA: removes every pattern list it has; returns how many there were. */
export async function removeCertAuthority(db: Db, sha256: Sha256Fingerprint): Promise<number> {
  const result = await db
    .deleteFrom('cert_authorities')
    .where('key_id', 'in', (eb) => eb.selectFrom('keys').select('id').where('sha256', '=', digestOfSha256(sha256)))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
