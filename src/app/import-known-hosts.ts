import { readFile } from 'node:fs/promises'
import { OperationalError, UserError } from '../domain/errors.js'
import { hostIdentity, parseIdentity } from '../domain/target.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry } from '../fingerprint/known-hosts-entry.js'
import type { ImportEntry, ImportReport, Store } from '../store/store.js'

export interface KnownHostsImport extends ImportReport {
  /** Lines not imported: markers (@cert-authority, @revoked) and wildcard patterns, with why. */
  readonly skipped: readonly string[]
}

/** Turns known_hosts text into import entries; a malformed line is a UserError naming file:line. */
export function knownHostsImportEntries(text: string, source: string): { entries: ImportEntry[]; skipped: string[] } {
  const entries: ImportEntry[] = []
  const skipped: string[] = []
  text.split('\n').forEach((line, index) => {
    const where = `${source}:${index + 1}`
    let entry
    try {
      entry = parseKnownHostsEntry(line)
    } catch (e) {
      if (e instanceof KnownHostsSyntaxError) throw new UserError(`${where}: ${e.message}`, { cause: e })
      throw e
    }
    if (!entry) return
    if (entry.marker) {
      skipped.push(`${where}: ${entry.marker} line (not a host key)`)
      return
    }
    if (entry.hashed) {
      entries.push({ kind: 'hashed', salt: entry.hashed.salt, hmac: entry.hashed.hmac, blob: entry.key.blob })
      return
    }
    // OpenSSH compares known_hosts names case-insensitively; the history keeps them lowercase.
    const names = entry.names.filter((n) => !/[*?!]/.test(n)).map((n) => n.toLowerCase())
    if (names.length < entry.names.length) skipped.push(`${where}: wildcard or negated names skipped`)
    if (names.length === 0) return
    // The first name is the identity, as scans name hosts (`[name]:port` off port 22).
    const first = parseIdentity(names[0]!)
    entries.push({
      kind: 'plain',
      host: hostIdentity(first.name, first.port),
      aliases: names.slice(1).map((n) => parseIdentity(n).name),
      port: first.port,
      blob: entry.key.blob,
    })
  })
  return { entries, skipped }
}

/** `hostkeys import known_hosts FILE`: seeds the baseline of trusted keys from an existing file. */
export async function importKnownHostsFile(store: Store, path: string, at: Date = new Date()): Promise<KnownHostsImport> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new OperationalError(`cannot read ${path}: ${(e as Error).message}`, { cause: e })
  }
  const { entries, skipped } = knownHostsImportEntries(text, path)
  const report = await store.importKnownHosts(entries, { source: path, at })
  return { ...report, skipped }
}
