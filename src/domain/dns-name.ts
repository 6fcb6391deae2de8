import { isIP } from 'node:net'
import { UserError } from './errors.js'
import { echoInput, echoQuoted } from './echo.js'

/* owner name : the DNS name SSHFP records live at: the host's identity as a fully qualified name.
 * We accept letters, digits, hyphen and underscore in labels (RFC 1035 §2.3.1 "preferred name syntax",
 * plus '_' which DNS itself allows): anything else is either meaningless for a host or dangerous in
 * master-file text (RFC 1035 §5.1: ';' starts a comment, '(' ')' group lines, '"' '\' quote and escape,
 * '$' and '@' are directives and the origin), so it is refused rather than escaped. */

/** RFC 1035 §2.3.4: labels are at most 63 octets. */
export const MAX_LABEL_OCTETS = 63
/** RFC 1035 §2.3.4: 255 octets on the wire, which is 253 characters of text without the final dot. */
export const MAX_NAME_CHARS = 253

const LABEL_CHAR = /^[A-Za-z0-9_-]$/

function describeCharacter(ch: string): string {
  const code = ch.codePointAt(0)!
  if (ch === ' ') return 'a space'
  if (ch === '\t') return 'a tab'
  if (ch === '\n' || ch === '\r') return 'a line break'
  if (code < 0x20 || code === 0x7f) return `a control character (U+${code.toString(16).padStart(4, '0').toUpperCase()})`
  if (ch === '"' || ch === "'") return 'a quote'
  if (ch === '\\') return 'a backslash'
  if (code > 0x7f) return `the non-ASCII character '${echoInput(ch)}' (write an internationalized name in its xn-- A-label form)`
  if (';()$@'.includes(ch)) return `'${ch}', which has a special meaning in zone files (RFC 1035 §5.1)`
  return `'${ch}', which a host name cannot contain`
}

/** Why `name` cannot be an SSHFP owner name, or null when it can. A single trailing dot is allowed. */
export function describeHostNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty'
  for (const ch of name) {
    if (ch !== '.' && !LABEL_CHAR.test(ch)) return `it contains ${describeCharacter(ch)}`
  }
  const text = name.endsWith('.') ? name.slice(0, -1) : name
  if (text.length === 0) return 'it is the DNS root, not a host'
  if (text.length > MAX_NAME_CHARS) {
    return `it is ${text.length} characters long, and DNS allows at most ${MAX_NAME_CHARS} (RFC 1035 §2.3.4)`
  }
  for (const label of text.split('.')) {
    if (label.length === 0) return 'it has an empty label (a leading dot or two dots in a row)'
    if (label.length > MAX_LABEL_OCTETS) {
      return `its label '${label.slice(0, 20)}...' is ${label.length} octets long, and DNS allows at most ${MAX_LABEL_OCTETS} (RFC 1035 §2.3.4)`
    }
  }
  // A name whose last label is all digits is an IPv4 literal in one of inet_aton's forms (127.1, 2130706433),
  // which getaddrinfo(AI_NUMERICHOST) accepts and OpenSSH therefore never looks up; no TLD is numeric.
  const last = text.slice(text.lastIndexOf('.') + 1)
  if (/^[0-9]+$/.test(last)) return 'it is an IP address, and SSHFP records live at DNS names'
  return null
}

function stripAddressDecoration(host: string): string {
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const percent = unbracketed.indexOf('%')
  return percent >= 0 ? unbracketed.slice(0, percent) : unbracketed
}

/**
 * Whether a host identity is a DNS name whose SSHFP records should be checked.
 * OpenSSH's verify_host_key_dns() skips identities that getaddrinfo(AI_NUMERICHOST) accepts (IP literals);
 * we skip those too, and also anything that could not be written as a DNS name.
 */
export function isDnsName(host: string): boolean {
  if (isIP(stripAddressDecoration(host)) !== 0) return false
  return describeHostNameProblem(host) === null
}

/** The absolute form `name.` of a valid host name; throws UserError naming the problem otherwise. */
export function toAbsoluteName(name: string): string {
  const problem = describeHostNameProblem(name)
  if (problem !== null) {
    throw new UserError(`host name ${echoQuoted(name)} cannot be used as a DNS name: ${problem}`)
  }
  return name.endsWith('.') ? name : `${name}.`
}

/** Case-insensitive comparison of two names in text form, ignoring a trailing dot (RFC 4343 §3). */
export function sameDnsName(a: string, b: string): boolean {
  const strip = (s: string) => (s.endsWith('.') && s.length > 1 ? s.slice(0, -1) : s)
  return strip(a).toLowerCase() === strip(b).toLowerCase()
}
