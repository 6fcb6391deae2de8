import { DEFAULT_SSH_PORT } from '../domain/target.js'
import { formatEndpoint } from '../domain/target.js'
import type { KeyRecord } from '../domain/history.js'

/** `lookup --format json`: {"matches": [{host, address, port, type, sha256, md5, firstSeen, lastSeen, current}]}. */
export function renderLookupJson(records: readonly KeyRecord[]): string {
  const matches = records.map((r) => ({
    host: r.host,
    address: r.address,
    port: r.port,
    type: r.type,
    sha256: r.sha256,
    md5: r.md5,
    firstSeen: r.firstSeen.toISOString(),
    lastSeen: r.lastSeen?.toISOString() ?? null,
    current: r.current,
    /** Set when the host was found through this CA: the certificate it signed. */
    certifiedBy: r.certifiedBy
      ? {
          ca: r.certifiedBy.caSha256,
          keyId: r.certifiedBy.keyId,
          serial: r.certifiedBy.serial,
          validBefore: r.certifiedBy.validBefore?.toISOString() ?? null,
          lastSeen: r.certifiedBy.lastSeen.toISOString(),
        }
      : null,
  }))
  return JSON.stringify({ matches }, null, 2)
}

function day(date: Date | null): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'never'
}

const LOOKUP_COLUMNS = ['HOST', 'ADDRESS', 'TYPE', 'FINGERPRINT', 'FIRST SEEN', 'LAST SEEN', 'STATUS'] as const

/**
 * A table: a header, then one row per host and key (where, what, when, and whether it still serves it),
 * each column as wide as its widest cell, two spaces apart. The lookup is read whole before it is
 * printed, so unlike the scan table the widths fit the data. [] when nothing matched.
 */
export function renderLookupText(records: readonly KeyRecord[]): string[] {
  if (records.length === 0) return []
  const rows = records.map((r) => {
    // [v6]:port, so an IPv6 address and its port stay apart.
    const where = r.address ? (r.port && r.port !== DEFAULT_SSH_PORT ? formatEndpoint(r.address, r.port) : r.address) : '-'
    const state = r.current ? 'current' : r.lastSeen ? 'no longer served' : 'imported, not seen yet'
    const certified = r.certifiedBy
      ? `, certified by this CA ("${r.certifiedBy.keyId}" serial ${r.certifiedBy.serial}, ${r.certifiedBy.validBefore ? `until ${day(r.certifiedBy.validBefore)}` : 'no expiry'})`
      : ''
    return [r.host, where, r.type, r.sha256, day(r.firstSeen), day(r.lastSeen), `${r.trust}, ${state}${certified}`]
  })
  const table = [[...LOOKUP_COLUMNS], ...rows]
  const widths = LOOKUP_COLUMNS.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd())
}
