import { echoInput } from '../domain/echo.js'
import type { TrustedAuthority } from '../domain/history.js'
import type { KeyType } from '../domain/host-key.js'

/* What the `ca` commands print: the table and JSON of `ca list`, and one line per CA that `ca trust`
 * changed or found already trusted. Pattern lists are shown as a known_hosts line writes them
 * (comma-separated); patterns and sources, which imported files may fill with anything, are escaped. */

const TYPE_LABEL: Record<KeyType, string> = {
  'ssh-ed25519': 'ED25519',
  'ecdsa-sha2-nistp256': 'ECDSA',
  'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA',
  'ssh-rsa': 'RSA',
  'ssh-dss': 'DSA',
  'sk-ssh-ed25519@openssh.com': 'ED25519-SK',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
}

/** `ED25519 256`, `RSA 4096`: the type as `ssh-keygen -l` names it, and the size in bits. */
export function keyLabel(key: { type: KeyType; bits: number }): string {
  return `${TYPE_LABEL[key.type]} ${key.bits}`
}

/** A pattern list as one known_hosts line writes it. */
function patternList(patterns: readonly string[]): string {
  return echoInput(patterns.join(','))
}

function when(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const CA_COLUMNS = ['FINGERPRINT', 'TYPE', 'PATTERNS', 'TRUSTED', 'SOURCE'] as const

/** `ca list`: a header and one row per CA and pattern list, each column as wide as its widest cell. [] when none. */
export function renderCertAuthoritiesText(authorities: readonly TrustedAuthority[]): string[] {
  if (authorities.length === 0) return []
  const rows = authorities.map((a) => [a.sha256, keyLabel(a), patternList(a.patterns), when(a.trustedAt), echoInput(a.source)])
  const table = [[...CA_COLUMNS], ...rows]
  const widths = CA_COLUMNS.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd())
}

/** `ca list --format json`: {"authorities": [{sha256, type, bits, patterns, source, trustedAt}]}. */
export function renderCertAuthoritiesJson(authorities: readonly TrustedAuthority[]): string {
  return JSON.stringify(
    {
      authorities: authorities.map((a) => ({
        sha256: a.sha256,
        type: a.type,
        bits: a.bits,
        patterns: a.patterns,
        source: a.source,
        trustedAt: a.trustedAt.toISOString(),
      })),
    },
    null,
    2,
  )
}

/** What `ca trust` did to one CA, in one line. */
export function renderTrustedAuthority(result: {
  readonly authorities: readonly TrustedAuthority[]
  readonly added: readonly (readonly string[])[]
  readonly removed: readonly (readonly string[])[]
}): string {
  const first = result.authorities[0]!
  const lists = result.authorities.map((a) => patternList(a.patterns)).join(' and for ')
  const head = `${first.sha256} (${keyLabel(first)}) for ${lists}`
  if (result.added.length === 0 && result.removed.length === 0) {
    return `already trusted ${head} (since ${when(first.trustedAt)}, ${echoInput(first.source)})`
  }
  const replaced = result.removed.length > 0 ? ` (instead of ${result.removed.map(patternList).join(' and ')})` : ''
  return `trusted ${head}${replaced}`
}

/** What `ca remove` did to one CA (its pattern lists before), in one line. */
export function renderRemovedAuthority(authorities: readonly TrustedAuthority[]): string {
  const first = authorities[0]!
  return `removed ${first.sha256} (${keyLabel(first)}), which was trusted for ${authorities.map((a) => patternList(a.patterns)).join(' and for ')}`
}
