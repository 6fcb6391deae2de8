import { sql, type Kysely } from 'kysely'
import type { KeyFamily } from '../domain/host-key.js'
import { batches } from './batches.js'
import type { Database } from './schema.js'

/* sightings : a key at a host over time. Written here, by a scan (what each host serves now) and by
 * an import (a known_hosts baseline: trusted, not current, no scan behind it). */

/** A key a known_hosts file lists for a host, already stored. */
export interface ImportedSighting {
  readonly hostId: number
  readonly keyId: number
  readonly family: KeyFamily
  readonly port: number
}

/**
 * Records known_hosts keys as trusted baselines first seen `at` (source 'import', not current); a
 * host's key already sighted keeps its sighting. Returns how many were new.
 */
export async function insertImportedSightings(db: Kysely<Database>, sightings: readonly ImportedSighting[], at: Date): Promise<number> {
  let inserted = 0
  for (const batch of batches(sightings)) {
    const result = await sql`
      INSERT INTO sightings (host_id, key_id, family, trust, current, source, first_seen, port)
      SELECT h, k, f, 'trusted', false, 'import', ${at}::timestamptz, p
      FROM unnest(${batch.map((s) => s.hostId)}::int[], ${batch.map((s) => s.keyId)}::int[],
                  ${batch.map((s) => s.family)}::text[], ${batch.map((s) => s.port)}::int[]) AS v(h, k, f, p)
      ON CONFLICT (host_id, key_id) DO NOTHING`.execute(db)
    inserted += Number(result.numAffectedRows ?? 0)
  }
  return inserted
}
