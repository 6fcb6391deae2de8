import { sql, type Kysely } from 'kysely'
import { batches } from './batches.js'
import type { Database } from './schema.js'

/* Host rows and their names as more than one writer records them: a known_hosts import and a scan that
 * adopts hashed entries both create bare hosts; an import and a scan both add the names a host goes by.
 * Each call is one statement per BATCH_ROWS rows. */

/** A host to create with nothing known yet but its identity. */
export interface BareHost {
  /** As hostIdentity writes it: `name` on port 22, `[name]:port` otherwise. */
  readonly identity: string
  readonly port: number
}

export interface HostName {
  readonly hostId: number
  readonly name: string
  readonly kind: 'alias' | 'address'
}

/** Creates the hosts (first seen `at`); returns each new host's id by identity. */
export async function insertBareHosts(db: Kysely<Database>, hosts: readonly BareHost[], at: Date): Promise<Map<string, number>> {
  const ids = new Map<string, number>()
  for (const batch of batches(hosts)) {
    const rows = await sql<{ id: number; name: string }>`
      INSERT INTO hosts (name, port, first_seen)
      SELECT n, p, ${at}::timestamptz FROM unnest(${batch.map((h) => h.identity)}::text[], ${batch.map((h) => h.port)}::int[]) AS v(n, p)
      RETURNING id, name`.execute(db)
    for (const r of rows.rows) ids.set(r.name, r.id)
  }
  return ids
}

/** Records names and addresses (first seen `at`); those a host already has are left as they are. */
export async function insertHostNames(db: Kysely<Database>, names: readonly HostName[], at: Date): Promise<void> {
  for (const batch of batches(names)) {
    await sql`
      INSERT INTO host_names (host_id, name, kind, first_seen)
      SELECT h, n, k, ${at}::timestamptz
      FROM unnest(${batch.map((n) => n.hostId)}::int[], ${batch.map((n) => n.name)}::text[], ${batch.map((n) => n.kind)}::text[]) AS v(h, n, k)
      ON CONFLICT DO NOTHING`.execute(db)
  }
}
