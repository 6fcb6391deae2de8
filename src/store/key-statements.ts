import { sql, type Kysely } from 'kysely'
import type { KeyFamily, KeyType, Md5Fingerprint, Sha256Fingerprint } from '../domain/host-key.js'
import type { KeyStatement, StatedKey, StatementSource } from '../domain/key-statement.js'
import { md5FromDigest, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { md5Fingerprint } from '../domain/fingerprint/key-blob.js'
import { batches } from './batches.js'
import { toBuffer } from './rows.js'
import type { Database } from './schema.js'

/* key_statements and stated_keys (migrations 0005, 0009 for `complete`): what a host's owner (`expect`) or the host itself
 * (`self-report`) says its keys are. A new statement supersedes the one in force of its source for
 * the host; a scan reads those in force for its hosts, one statement per chunk. A statement about a
 * name the history has no host for yet is kept by that name (host_id null) and bound to the host by
 * the first scan that names it. */

type Db = Kysely<Database>

/** What a new statement replaced: the in-force one of its source for the host, if any. */
export interface StatementRecorded {
  /** The host's id, or null when the history has no host of that identity yet. */
  readonly hostId: number | null
  readonly replaced: Pick<KeyStatement, 'statedAt' | 'statedBy'> | null
}

/** One host of a scan chunk, as statements are looked up for it. */
export interface StatementClaim {
  /** Its host in the history, or null when new. */
  readonly id: number | null
  /** The identities unbound statements may name it by (`name`, `[name]:port`): identity, aliases, addresses. */
  readonly names: readonly string[]
}

/** The statements in force for each claim (same order), and those found by name alone: bind them
 * to the host once the scan has written it. */
export interface ClaimedStatements {
  readonly byClaim: readonly (readonly KeyStatement[])[]
  readonly unbound: readonly { readonly statementId: number; readonly claim: number }[]
}

interface StatementRow {
  id: number
  host_id: number | null
  host_name: string
  source: StatementSource
  stated_at: Date
  stated_by: string
  complete: boolean
  family: string
  key_type: string | null
  bits: number | null
  digest_type: 'sha256' | 'md5'
  digest: Uint8Array
  blob: Uint8Array | null
  comment: string | null
}

function toStatedKey(row: StatementRow): StatedKey {
  const blob = row.blob === null ? null : Buffer.from(toBuffer(row.blob))
  const sha256: Sha256Fingerprint | null = row.digest_type === 'sha256' ? sha256FromDigest(row.digest) : null
  const md5: Md5Fingerprint | null = row.digest_type === 'md5' ? md5FromDigest(row.digest) : blob ? md5Fingerprint(blob) : null
  return { family: row.family as KeyFamily, type: row.key_type as KeyType | null, bits: row.bits, sha256, md5, blob, comment: row.comment }
}

/** Rows (ordered by statement) as statements, keyed by statement id. */
function toStatements(rows: readonly StatementRow[]): Map<number, { row: StatementRow; statement: KeyStatement }> {
  const statements = new Map<number, { row: StatementRow; statement: KeyStatement & { keys: StatedKey[] } }>()
  for (const row of rows) {
    let entry = statements.get(row.id)
    if (!entry) {
      entry = {
        row,
        statement: { host: row.host_name, source: row.source, statedAt: row.stated_at, statedBy: row.stated_by, keys: [], complete: row.complete },
      }
      statements.set(row.id, entry)
    }
    entry.statement.keys.push(toStatedKey(row))
  }
  return statements
}

const STATEMENT_COLUMNS = sql`s.id, s.host_id, s.host_name, s.source, s.stated_at, s.stated_by, s.complete,
  k.family, k.key_type, k.bits, k.digest_type, k.digest, k.blob, k.comment`

/**
 * Records a statement about the host whose identity is `statement.host` (bound to it when the history
 * has it), superseding the one in force of the same source. Run under the recording lock, so a scan
 * reads either the old statement or the new one.
 */
export async function recordKeyStatement(db: Db, statement: KeyStatement): Promise<StatementRecorded> {
  const host = await sql<{ id: number }>`SELECT id FROM hosts WHERE name = ${statement.host}`.execute(db)
  const hostId = host.rows[0]?.id ?? null
  const replaced = await sql<{ stated_at: Date; stated_by: string }>`
    UPDATE key_statements SET superseded_at = ${statement.statedAt}::timestamptz
    WHERE superseded_at IS NULL AND source = ${statement.source}
      AND (host_id = ${hostId}::int OR (host_id IS NULL AND host_name = ${statement.host}))
    RETURNING stated_at, stated_by`.execute(db)
  const inserted = await sql<{ id: number }>`
    INSERT INTO key_statements (host_id, host_name, source, stated_at, stated_by, complete)
    VALUES (${hostId}::int, ${statement.host}, ${statement.source}, ${statement.statedAt}::timestamptz, ${statement.statedBy}, ${statement.complete})
    RETURNING id`.execute(db)
  const id = inserted.rows[0]!.id
  const keys = statement.keys
  await sql`
    INSERT INTO stated_keys (statement_id, family, key_type, bits, digest_type, digest, blob, comment)
    SELECT ${id}::int, f, t, b, d, decode(g, 'base64'), decode(k, 'base64'), c
    FROM unnest(${keys.map((k) => k.family)}::text[], ${keys.map((k) => k.type)}::text[], ${keys.map((k) => k.bits)}::int[],
                ${keys.map((k) => (k.sha256 !== null ? 'sha256' : 'md5'))}::text[], ${keys.map(digestBase64)}::text[],
                ${keys.map((k) => k.blob?.toString('base64') ?? null)}::text[], ${keys.map((k) => k.comment)}::text[])
         AS v(f, t, b, d, g, k, c)`.execute(db)
  const last = replaced.rows.sort((a, b) => b.stated_at.getTime() - a.stated_at.getTime())[0]
  return { hostId, replaced: last ? { statedAt: last.stated_at, statedBy: last.stated_by } : null }
}

/** The stated digest as padded base64: SHA-256 when stated, else MD5. */
function digestBase64(key: StatedKey): string {
  if (key.sha256 !== null) return `${key.sha256.slice('SHA256:'.length)}=`
  return Buffer.from(key.md5!.slice('MD5:'.length).replace(/:/g, ''), 'hex').toString('base64')
}

/** Whether the history holds any statement in force: a fleet without any pays this one query a scan. */
export async function hasKeyStatements(db: Db): Promise<boolean> {
  const row = await sql<{ present: boolean }>`SELECT EXISTS (SELECT 1 FROM key_statements WHERE superseded_at IS NULL) AS present`.execute(db)
  return row.rows[0]!.present
}

/** The statements in force for a chunk's hosts: by host id, and unbound ones by any of their names.
 * One statement per batch of claims. */
export async function loadClaimedStatements(db: Db, claims: readonly StatementClaim[]): Promise<ClaimedStatements> {
  const byClaim: KeyStatement[][] = claims.map(() => [])
  const unbound: { statementId: number; claim: number }[] = []
  const byId = new Map<number, number[]>()
  const byName = new Map<string, number[]>()
  claims.forEach((claim, index) => {
    if (claim.id !== null) byId.set(claim.id, [...(byId.get(claim.id) ?? []), index])
    for (const name of claim.names) byName.set(name, [...(byName.get(name) ?? []), index])
  })
  if (byId.size === 0 && byName.size === 0) return { byClaim, unbound }
  const rows: StatementRow[] = []
  let ids = [...byId.keys()]
  for (const names of batches([...byName.keys()])) {
    const result = await sql<StatementRow>`
      SELECT ${STATEMENT_COLUMNS}
      FROM key_statements s JOIN stated_keys k ON k.statement_id = s.id
      WHERE s.superseded_at IS NULL
        AND (s.host_id = ANY(${ids}::int[]) OR (s.host_id IS NULL AND s.host_name = ANY(${names}::text[])))
      ORDER BY s.id`.execute(db)
    rows.push(...result.rows)
    ids = [] // asked for once
  }
  for (const [statementId, { row, statement }] of toStatements(rows)) {
    if (row.host_id !== null) {
      for (const index of byId.get(row.host_id) ?? []) byClaim[index]!.push(statement)
    } else {
      for (const index of byName.get(row.host_name) ?? []) {
        if (byClaim[index]!.includes(statement)) continue
        byClaim[index]!.push(statement)
        unbound.push({ statementId, claim: index })
      }
    }
  }
  return { byClaim, unbound }
}

/**
 * Binds statements made before their host was in the history to the host a scan wrote for them, and
 * supersedes any statement of the same source about that host an older one than the newest.
 */
export async function bindKeyStatements(db: Db, bindings: readonly { statementId: number; hostId: number }[], at: Date): Promise<void> {
  if (bindings.length === 0) return
  await sql`
    UPDATE key_statements s SET host_id = v.h
    FROM unnest(${bindings.map((b) => b.statementId)}::int[], ${bindings.map((b) => b.hostId)}::int[]) AS v(s, h)
    WHERE s.id = v.s AND s.host_id IS NULL`.execute(db)
  await sql`
    UPDATE key_statements s SET superseded_at = ${at}::timestamptz
    WHERE s.superseded_at IS NULL AND s.host_id = ANY(${[...new Set(bindings.map((b) => b.hostId))]}::int[])
      AND EXISTS (SELECT 1 FROM key_statements n
                  WHERE n.host_id = s.host_id AND n.source = s.source AND n.superseded_at IS NULL
                    AND (n.stated_at > s.stated_at OR (n.stated_at = s.stated_at AND n.id > s.id)))`.execute(db)
}

/** The statements in force about the host with this identity (or kept under that name until a scan
 * binds them), oldest source first. */
export async function keyStatementsAbout(db: Db, identity: string): Promise<KeyStatement[]> {
  const result = await sql<StatementRow>`
    SELECT ${STATEMENT_COLUMNS}
    FROM key_statements s JOIN stated_keys k ON k.statement_id = s.id
    WHERE s.superseded_at IS NULL
      AND (s.host_id = (SELECT id FROM hosts WHERE name = ${identity}) OR (s.host_id IS NULL AND s.host_name = ${identity}))
    ORDER BY s.source, s.id`.execute(db)
  return [...toStatements(result.rows).values()].map((e) => e.statement)
}
