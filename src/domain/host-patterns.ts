import { echoInput } from './echo.js'
import { hostIdentity } from './target.js'

/* host pattern : one name of a known_hosts NAMES field (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), as
 *                ssh_config(5) "PATTERNS" defines it: `*` matches any run of characters (none
 *                included), `?` exactly one; nothing else is special. `!pattern` negates: a host it
 *                matches is refused by the whole list, whatever else in the list matches it.
 * looked-up name : what ssh compares the patterns with: the host name in lowercase on port 22, and
 *                `[name]:port` on any other port (OpenSSH put_host_port()), so `*.example.com` does not
 *                match a host on port 2222 and `[*.example.com]:2222` does. A pattern `[name]:22`
 *                matches nothing: ssh never writes the default port.
 * Checked against OpenSSH 9.2 with `ssh-keygen -F` (test/unit/host-patterns.test.ts) and with ssh
 * itself verifying a host certificate (test/integration/ca-openssh.test.ts). */

/** Why a pattern list cannot be written to a known_hosts line, in words. */
export class HostPatternError extends Error {
  override name = 'HostPatternError'
}

/** Whether `pattern` (`*`, `?`, literal characters) matches all of `text`. Both already lowercase. */
function globMatches(pattern: string, text: string): boolean {
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

/**
 * Whether a host known by `names` (bare names and addresses, without brackets or port) on `port` is
 * one the patterns name, as ssh decides for a known_hosts line: some name matches a pattern and no
 * name matches a negated one. Case-insensitive. Several names are one host: a negation that refuses
 * any of them refuses the host (ssh would refuse it when reached by that name), which is the safe
 * answer for a question about trust.
 */
export function matchesHostPatterns(patterns: readonly string[], names: readonly string[], port: number): boolean {
  const lookedUp = names.map((n) => hostIdentity(n.toLowerCase(), port))
  let matched = false
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase()
    const hit = lookedUp.some((name) => globMatches(pattern, name))
    if (hit && negated) return false
    if (hit) matched = true
  }
  return matched
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
