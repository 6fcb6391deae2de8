import { sql, type Kysely, type Transaction } from 'kysely'
import type { OfferedAlgorithms } from '../domain/observation.js'
import type { ServerConfig } from '../domain/server-config.js'
import { hasshServer } from '../domain/fingerprint/hassh.js'
import { batches } from './batches.js'
import type { Database } from './schema.js'

/* server_configs (migrations/0004_audit.sql): each distinct server configuration once, found by its
 * digest. A fleet has a handful, so a recording session keeps the ids it has found; a chunk of hosts
 * then costs no statement unless it brings a configuration not seen yet this scan. */

type Db = Transaction<Database> | Kysely<Database>

/** Finds (or adds) configurations by digest, remembering the ids for the rest of the session. */
export class ConfigIds {
  private readonly ids = new Map<string, number>()

  constructor(private readonly db: Db) {}

  /** The id of each configuration, by its digest in hex (configDigest), adding those not stored yet. */
  async idsOf(configs: ReadonlyMap<string, ServerConfig>, at: Date): Promise<Map<string, number>> {
    const wanted = [...configs.keys()].filter((d) => !this.ids.has(d))
    if (wanted.length > 0) {
      const found = await sql<{ id: number; digest: string }>`
        SELECT id, encode(digest, 'hex') AS digest FROM server_configs
        WHERE digest = ANY(ARRAY(SELECT decode(d, 'hex') FROM unnest(${wanted}::text[]) AS v(d)))`.execute(this.db)
      for (const row of found.rows) this.ids.set(row.digest, row.id)
      const missing = wanted.filter((d) => !this.ids.has(d))
      if (missing.length > 0) {
        const inserted = await sql<{ id: number; digest: string }>`
          INSERT INTO server_configs (digest, banner, hassh, algorithms, first_seen)
          SELECT decode(d, 'hex'), b, h, a::jsonb, ${at}::timestamptz
          FROM unnest(${missing}::text[], ${missing.map((d) => configs.get(d)!.banner)}::text[],
                      ${missing.map((d) => hasshServer(configs.get(d)!.offered))}::text[],
                      ${missing.map((d) => JSON.stringify(configs.get(d)!.offered))}::text[]) AS v(d, b, h, a)
          RETURNING id, encode(digest, 'hex') AS digest`.execute(this.db)
        for (const row of inserted.rows) this.ids.set(row.digest, row.id)
      }
    }
    return new Map([...configs.keys()].map((d) => [d, this.ids.get(d)!]))
  }
}

/** The configurations with these ids. */
export async function loadConfigs(db: Db, ids: readonly number[]): Promise<Map<number, ServerConfig>> {
  const out = new Map<number, ServerConfig>()
  if (ids.length === 0) return out
  const rows = await sql<{ id: number; banner: string | null; algorithms: unknown }>`
    SELECT id, banner, algorithms FROM server_configs WHERE id = ANY(${[...new Set(ids)]}::int[])`.execute(db)
  for (const row of rows.rows) out.set(row.id, { banner: row.banner, offered: toOffered(row.algorithms) })
  return out
}

/** Which of these hosts had that configuration at some earlier time, as `hostId configId`. */
export async function earlierConfigs(db: Db, pairs: readonly { hostId: number; configId: number }[]): Promise<Set<string>> {
  const out = new Set<string>()
  for (const batch of batches(pairs)) {
    const rows = await sql<{ host_id: number; config_id: number }>`
      SELECT DISTINCT c.host_id, c.config_id FROM host_config_changes c
      JOIN unnest(${batch.map((p) => p.hostId)}::int[], ${batch.map((p) => p.configId)}::int[]) AS v(h, c2) ON c.host_id = v.h AND c.config_id = v.c2`.execute(db)
    for (const row of rows.rows) out.add(`${row.host_id} ${row.config_id}`)
  }
  return out
}

/** jsonb comes back parsed from pg and from PGlite; a string only if someone stored one. */
export function toOffered(value: unknown): OfferedAlgorithms {
  return (typeof value === 'string' ? JSON.parse(value) : value) as OfferedAlgorithms
}
