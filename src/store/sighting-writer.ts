import { sql, type Kysely } from 'kysely'
import type { KeyFamily, Sha256Fingerprint } from '../domain/host-key.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'
import { batches } from './batches.js'
import { keyIds } from './key-writer.js'
import type { VerdictWrite } from './key-verdicts.js'
import type { Database } from './schema.js'
import type { HostWrite } from './store.js'

/* sightings : a key at a host over time. Written here, by a scan (what each host serves now) and by
 * an import (a known_hosts baseline: trusted, not current, no scan behind it). A scan updates an
 * unchanged sighting in place, never inserts it again. */

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

/**
 * A scan's sightings for hosts already written (`hostIds`, by name): touches what is served again,
 * inserts what is new (and its key), and clears `current` for what a host no longer serves, among the
 * families this scan asked for and collected. One statement per kind of change and batch. `verdicts`:
 * those of keys it stores now are written with them and taken out of the map (keyIds).
 */
export async function recordScannedSightings(
  db: Kysely<Database>,
  scanId: number,
  at: Date,
  asked: ReadonlySet<KeyFamily>,
  writes: readonly HostWrite[],
  hostIds: ReadonlyMap<string, number>,
  verdicts?: Map<Sha256Fingerprint, VerdictWrite>,
): Promise<void> {
  const touch: { id: number; address: string | null; port: number }[] = []
  const retrust: { id: number; trust: string }[] = []
  const uncurrent: number[] = []
  const newcomers: { host: ScannedHost; key: ScannedKey; trust: string }[] = []
  for (const w of writes) {
    if (!w.scanned.reached) continue
    const bySha = new Map((w.stored?.sightings ?? []).map((s) => [s.sha256, s]))
    const served = new Set<Sha256Fingerprint>()
    for (const key of w.scanned.keys) {
      served.add(key.sha256)
      const existing = bySha.get(key.sha256)
      // A key the comparison did not judge keeps its state; a new one is pending, never trusted by default.
      const trust = w.trust.get(key.sha256) ?? existing?.trust ?? 'pending'
      if (existing) {
        touch.push({ id: existing.id, address: w.scanned.address, port: w.scanned.port })
        if (existing.trust !== trust) retrust.push({ id: existing.id, trust })
      } else {
        newcomers.push({ host: w.scanned, key, trust })
      }
    }
    for (const s of w.stored?.sightings ?? []) {
      const collected = asked.has(s.family) && !w.scanned.failedFamilies.has(s.family)
      if (s.current && !served.has(s.sha256) && collected) uncurrent.push(s.id)
    }
  }
  for (const batch of batches(touch)) {
    await sql`
      UPDATE sightings SET current = true, last_seen = ${at}::timestamptz, last_scan_id = ${scanId}::int,
             address = v.a, port = v.p
      FROM unnest(${batch.map((t) => t.id)}::int[], ${batch.map((t) => t.address)}::text[], ${batch.map((t) => t.port)}::int[]) AS v(id, a, p)
      WHERE sightings.id = v.id`.execute(db)
  }
  if (retrust.length > 0) {
    // The ledger keeps who changed a state and when: here, the scan (a retired key served again is pending).
    await sql`
      WITH changed AS (
        UPDATE sightings SET trust = v.t FROM unnest(${retrust.map((r) => r.id)}::int[], ${retrust.map((r) => r.trust)}::text[]) AS v(id, t)
        WHERE sightings.id = v.id RETURNING sightings.host_id, sightings.key_id, sightings.trust)
      INSERT INTO trust_changes (host_id, key_id, trust, at, actor)
      SELECT host_id, key_id, trust, ${at}::timestamptz, ${`scan ${scanId}`} FROM changed`.execute(db)
  }
  if (uncurrent.length > 0) {
    await sql`UPDATE sightings SET current = false WHERE id = ANY(${uncurrent}::int[])`.execute(db)
  }
  if (newcomers.length === 0) return
  const keyIdOf = await keyIds(db, newcomers.map((n) => n.key), at, verdicts)
  for (const batch of batches(newcomers)) {
    await sql`
      INSERT INTO sightings (host_id, key_id, family, trust, current, source, first_seen, last_seen, first_scan_id, last_scan_id, address, port)
      SELECT h, k, f, t, true, 'scan', ${at}::timestamptz, ${at}::timestamptz, ${scanId}::int, ${scanId}::int, a, p
      FROM unnest(${batch.map((n) => hostIds.get(n.host.host)!)}::int[], ${batch.map((n) => keyIdOf.get(n.key.sha256)!)}::int[],
                  ${batch.map((n) => n.key.family)}::text[], ${batch.map((n) => n.trust)}::text[],
                  ${batch.map((n) => n.host.address)}::text[], ${batch.map((n) => n.host.port)}::int[]) AS v(h, k, f, t, a, p)`.execute(db)
  }
}
