import { writeFileSync } from 'node:fs'
import type { HostKey } from '../../src/domain/host-key.js'
import { BLOCKLIST_DIGEST_BYTES, BLOCKLIST_RECORD_BYTES, blocklistDigest } from '../../src/analysis/blocklist.js'

/* A blocklist file in badkeys' blocklist.dat format (docs/BLOCKLISTFORMAT.md) made from keys a
 * test chose: one 16-byte record per key (BKHASH120 + list id), sorted, as blocklistmaker writes
 * them. Tests cannot download badkeys' real list. */

export interface BlocklistEntry {
  readonly key: Pick<HostKey, 'type' | 'blob'>
  readonly listId: number
}

/** The sorted records for `entries`, plus `fillerRecords` random ones so that lookups cross blocks. */
export function blocklistBytes(entries: readonly BlocklistEntry[], fillerRecords = 0): Buffer {
  const records: Buffer[] = entries.map(({ key, listId }) => Buffer.concat([blocklistDigest(key), Buffer.from([listId])]))
  for (let i = 0; i < fillerRecords; i++) {
    const record = Buffer.alloc(BLOCKLIST_RECORD_BYTES)
    // Deterministic filler spread over the whole digest space.
    record.writeUInt32BE(((i + 1) * 2654435761) >>> 0, 0)
    record.writeUInt32BE(i + 1, 4)
    record[BLOCKLIST_DIGEST_BYTES] = 8
    records.push(record)
  }
  records.sort(Buffer.compare)
  return Buffer.concat(records)
}

/** Writes blocklistBytes(entries, fillerRecords) to `path`. */
export function writeBlocklistFile(path: string, entries: readonly BlocklistEntry[], fillerRecords = 0): void {
  writeFileSync(path, blocklistBytes(entries, fillerRecords))
}
