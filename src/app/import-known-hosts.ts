import { readFile } from 'node:fs/promises'
import { OperationalError, UserError } from '../domain/errors.js'
import { hostIdentity, isIpLiteral, parseIdentity } from '../domain/target.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry } from '../domain/fingerprint/known-hosts-entry.js'
import type { ImportEntry, ImportReport, Store } from '../store/store.js'

export interface KnownHostsImport extends ImportReport {
  /** Lines not imported (wildcard or negated patterns), with their file:line and why. */
  readonly skipped: readonly string[]
}

/**
 * Turns known_hosts text into import entries; a malformed line is a UserError naming file:line.
 *   plain NAMES KEY    : the baseline of the host those names are (README "History": identity rules)
 *   hashed |1|…  KEY   : waits for a scan to name its host
 *   @revoked … KEY     : the key is revoked wherever it is served (revoked_key)
 *   @cert-authority PATTERNS KEY : a CA trusted for those names, kept for certificate checks
 * Wildcard and negated patterns name no host: they are skipped, and said so with their line.
 */
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
    if (entry.marker === '@revoked') {
      entries.push({ kind: 'revoked', blob: entry.key.blob })
      return
    }
    if (entry.marker === '@cert-authority') {
      const patterns = entry.hashed ? [] : entry.names.map((n) => n.toLowerCase())
      if (patterns.length === 0) skipped.push(`${where}: @cert-authority with a hashed name (no pattern to keep)`)
      else entries.push({ kind: 'cert-authority', patterns, blob: entry.key.blob })
      return
    }
    if (entry.hashed) {
      entries.push({ kind: 'hashed', salt: entry.hashed.salt, hmac: entry.hashed.hmac, blob: entry.key.blob })
      return
    }
    // OpenSSH compares known_hosts names case-insensitively; the history keeps them lowercase.
    const patterns = entry.names.filter((n) => /[*?!]/.test(n))
    const names = entry.names.filter((n) => !/[*?!]/.test(n)).map((n) => n.toLowerCase())
    if (patterns.length > 0) skipped.push(`${where}: wildcard or negated pattern ${patterns.join(',')} names no single host`)
    if (names.length === 0) return
    // The first name is the identity, as scans name hosts (`[name]:port` off port 22).
    const first = parseIdentity(names[0]!)
    const others = names.slice(1).map((n) => parseIdentity(n).name)
    entries.push({
      kind: 'plain',
      host: hostIdentity(first.name, first.port),
      aliases: others.filter((n) => !isIpLiteral(n)),
      addresses: [...(isIpLiteral(first.name) ? [first.name] : []), ...others.filter(isIpLiteral)],
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
