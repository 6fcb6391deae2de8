import type { KeyRecord } from '../store/store.js'

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
  }))
  return JSON.stringify({ matches }, null, 2)
}

function day(date: Date | null): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'never'
}

/** One line per host and key: where, what, when, and whether it still serves it. */
export function renderLookupText(records: readonly KeyRecord[]): string[] {
  return records.map((r) => {
    const where = r.address ? `${r.address}${r.port && r.port !== 22 ? `:${r.port}` : ''}` : '-'
    const state = r.current ? 'current' : r.lastSeen ? 'no longer served' : 'imported, not seen yet'
    return `${r.host}  ${where}  ${r.type}  ${r.sha256}  ${r.trust}, ${state}  first ${day(r.firstSeen)}  last ${day(r.lastSeen)}`
  })
}
