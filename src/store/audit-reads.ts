import { sql, type Kysely } from 'kysely'
import type { KeyType } from '../domain/host-key.js'
import type { AuditedHost } from '../domain/fleet-audit.js'
import { toOffered } from './config-writer.js'
import type { Database } from './schema.js'

/** Every host whose configuration a scan has read, with it and the keys the host serves now, by name.
 * Two statements whatever the fleet's size: configurations are read once each, not once a host. */
export async function fleetConfigurations(db: Kysely<Database>): Promise<AuditedHost[]> {
  const configs = await sql<{ id: number; banner: string | null; algorithms: unknown }>`
    SELECT id, banner, algorithms FROM server_configs WHERE id IN (SELECT config_id FROM hosts)`.execute(db)
  const byId = new Map(configs.rows.map((r) => [r.id, { banner: r.banner, offered: toOffered(r.algorithms) }]))
  const rows = await sql<{ name: string; config_id: number; types: KeyType[] | null; bits: number[] | null }>`
    SELECT h.name, h.config_id, array_agg(k.type ORDER BY k.type, k.bits) FILTER (WHERE k.id IS NOT NULL) AS types,
           array_agg(k.bits ORDER BY k.type, k.bits) FILTER (WHERE k.id IS NOT NULL) AS bits
    FROM hosts h
    LEFT JOIN sightings s ON s.host_id = h.id AND s.current
    LEFT JOIN keys k ON k.id = s.key_id
    WHERE h.config_id IS NOT NULL
    GROUP BY h.id, h.name, h.config_id
    ORDER BY h.name`.execute(db)
  return rows.rows.map((r) => {
    const config = byId.get(r.config_id)!
    const types = r.types ?? []
    return { host: r.name, banner: config.banner, offered: config.offered, keys: types.map((type, i) => ({ type, bits: r.bits![i]! })) }
  })
}
