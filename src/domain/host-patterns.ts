import { echoInput } from './echo.js'
import { DEFAULT_SSH_PORT, hostIdentity } from './target.js'

/* host pattern : one name of a known_hosts NAMES field (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), as
 *                ssh_config(5) "PATTERNS" defines it: `*` matches any run of characters (none
 *                included), `?` exactly one; nothing else is special (no CIDR). `!pattern` negates:
 *                a name it matches is not matched by the line, whatever else in the list matches it.
 * lookup         : how ssh finds the lines for a host (OpenSSH sshconnect.c check_host_key()): it looks
 *                the name up in lowercase, as `[name]:port` off port 22 (put_host_port()); when that
 *                finds no line, it looks the bare name up once more ("checking without port
 *                identifier"). So for a CA line `*.example.com` names web1.example.com on port 2222 as
 *                well (by the second lookup), `[*.example.com]:2222` only on 2222, and a pattern
 *                `[name]:22` nothing at all, as ssh never writes the default port. A negation refuses
 *                only the form it matches: `*,!web1.example.com` still names web1.example.com on 2222
 *                (its first lookup, `[web1.example.com]:2222`, matches `*`).
 * ssh-keygen -F does one lookup, of the name as given. Checked against OpenSSH 9.2: the table of
 * test/unit/host-patterns.test.ts against `ssh-keygen -F` for each lookup, and ssh itself verifying a
 * host certificate through @cert-authority lines in test/integration/ca-openssh.test.ts. */

/** Why a pattern list cannot be written to a known_hosts line, in words. */
export class HostPatternError extends Error {
  override name = 'HostPatternError'
}

/** Whether `pattern` (`*`, `?`, literal characters) matches all of `text`. Both already lowercase. */
export function globMatches(pattern: string, text: string): boolean {
  // Two cursors with one backtrack point for the last `*` seen: linear for OpenSSH's two wildcards,
  // where the recursive match_pattern() of match.c is exponential on `*a*a*a*…b`.
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = p++
      resume = t
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++
      t++
    } else if (star >= 0) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** OpenSSH match_hostname(): 1 when a pattern matches `name` and no negated one does, -1 when a
 * negated one does, 0 when none does. `name` already lowercase. */
function lookUp(patterns: readonly string[], name: string): -1 | 0 | 1 {
  let found: 0 | 1 = 0
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    if (!globMatches((negated ? raw.slice(1) : raw).toLowerCase(), name)) continue
    if (negated) return -1
    found = 1
  }
  return found
}

/**
 * Whether a known_hosts line with these patterns names a host known by `names` (bare names and
 * addresses, without brackets or port) on `port`, as ssh decides for an @cert-authority line: by name,
 * a lookup of `[name]:port` off port 22, then of the bare name (see "lookup" above); case-insensitive.
 * Several names are one host, and the answer is about trusting it: some name must be named, and a
 * name that ssh would refuse by a negation refuses the host (as ssh does when it is reached by that
 * name).
 */
export function matchesHostPatterns(patterns: readonly string[], names: readonly string[], port: number): boolean {
  let named = false
  for (const given of names) {
    const name = given.toLowerCase()
    const lookups = port === DEFAULT_SSH_PORT ? [name] : [hostIdentity(name, port), name]
    const results = lookups.map((lookedUp) => lookUp(patterns, lookedUp))
    if (results.includes(1)) named = true
    else if (results.includes(-1)) return false
  }
  return named
}

/**
 * A comma-separated pattern list (`*.example.com,!bad.example.com`, `[*.example.com]:2222`) as the
 * patterns of one known_hosts line, lowercase, each once, in the order given. Throws HostPatternError
 * for what could not be written to that line or could never name a host: an empty pattern, white
 * space or control characters, a hashed name (`|1|…`: a pattern cannot be hashed), or a list with no
 * pattern that is not negated.
 */
export function parseHostPatterns(text: string): string[] {
  const patterns = text.split(',').map((p) => p.trim().toLowerCase())
  for (const pattern of patterns) {
    const bare = pattern.startsWith('!') ? pattern.slice(1) : pattern
    if (bare === '') throw new HostPatternError(`an empty pattern in '${echoInput(text)}'`)
    if (/[\s\x00-\x1f\x7f]/.test(bare)) throw new HostPatternError(`pattern '${echoInput(pattern)}' has white space or control characters`)
    if (bare.startsWith('|')) throw new HostPatternError(`'${echoInput(pattern, 60)}' is a hashed name; give the names or patterns in clear`)
  }
  if (patterns.every((p) => p.startsWith('!'))) {
    throw new HostPatternError(`'${echoInput(text)}' only negates: it matches no host (add a pattern such as '*' or '*.example.com')`)
  }
  return [...new Set(patterns)]
}
