import { UserError } from '../domain/errors.js'
import { echoInput } from '../domain/echo.js'
import type { Finding } from '../domain/finding.js'
import { KEY_FAMILIES, type KeyFamily, type KeyType } from '../domain/host-key.js'
import type { OfferedAlgorithms } from '../domain/observation.js'
import { finding } from './host-findings.js'

/* policy   : what a fleet's sshd_config is meant to offer, written by its admins in a small line-based
 *            file (`--policy FILE`), judged against each server's KEXINIT and host keys. A deviation is
 *            a policy_violation warning, one per host, saying what to change in sshd_config.
 * name-list: one of the KEXINIT lists a policy judges (RFC 4253 §7.1): kex, hostkey, ciphers, macs,
 *            compression. Ciphers, MACs and compression are judged over both directions together.
 * marker   : a name a server puts in its kex list to signal an extension, not a method: ext-info-s
 *            (RFC 8308 §2.1), kex-strict-s-v00@openssh.com (OpenSSH PROTOCOL §1.10, the Terrapin fix).
 *            Markers are never a violation of an allow list, and only an exact name matches them.
 *
 * The format, one directive per line; `#` starts a comment; names are separated by spaces or commas
 * (so an sshd_config value pastes as it is); keywords are case-insensitive, algorithm names are not
 * (RFC 4251 §6):
 *
 *   LIST allow NAME...     anything else offered in LIST is a violation
 *   LIST require NAME...   each must be offered (a pattern: at least one name matching it)
 *   LIST forbid NAME...    none may be offered
 *   min-bits FAMILY BITS   host keys of FAMILY (rsa, dsa, ecdsa, ed25519, ecdsa-sk, ed25519-sk) must
 *                          have at least BITS; a certified key is judged by the key it certifies
 *
 * NAME may be a pattern: `*` any run of characters, `?` one character (as ssh_config patterns).
 * Each LIST and verb, and each min-bits family, may be given once: a second line is an error rather
 * than a silent override or union (sshd_config keeps the first value silently; a policy should not
 * leave its reader guessing). */

export class PolicyError extends UserError {
  override name = 'PolicyError'
}

export const POLICY_LISTS = ['kex', 'hostkey', 'ciphers', 'macs', 'compression'] as const
export type PolicyList = (typeof POLICY_LISTS)[number]

export const POLICY_VERBS = ['allow', 'require', 'forbid'] as const
export type PolicyVerb = (typeof POLICY_VERBS)[number]

/** The rules of one name-list. `allow` null: anything not forbidden is allowed. */
export interface ListRules {
  readonly allow: readonly string[] | null
  readonly require: readonly string[]
  readonly forbid: readonly string[]
}

/** A parsed policy: built only by parsePolicy, frozen. */
export type AlgorithmPolicy = {
  /** The file it was read from, as messages name it. */
  readonly source: string
  readonly lists: Readonly<Record<PolicyList, ListRules>>
  readonly minBits: Readonly<Partial<Record<KeyFamily, number>>>
} & { readonly __brand: 'AlgorithmPolicy' }

/** The markers servers (and clients) put among key exchange methods: RFC 8308 §2.1, OpenSSH PROTOCOL §1.9-1.10. */
export const KEX_MARKERS: readonly string[] = [
  'ext-info-s',
  'ext-info-c',
  'kex-strict-s-v00@openssh.com',
  'kex-strict-c-v00@openssh.com',
  'kex-strict-s@openssh.com',
  'kex-strict-c@openssh.com',
]

export function isKexMarker(name: string): boolean {
  return KEX_MARKERS.includes(name)
}

/** The sshd_config keyword that sets each list (sshd_config(5)). */
const SSHD_KEYWORD: Record<PolicyList, string> = {
  kex: 'KexAlgorithms',
  hostkey: 'HostKeyAlgorithms',
  ciphers: 'Ciphers',
  macs: 'MACs',
  compression: 'Compression',
}

/** Words people are likely to write for a directive, and what the policy calls it. */
const DIRECTIVE_HINTS: Record<string, string> = {
  kexalgorithms: 'kex',
  hostkeyalgorithms: 'hostkey',
  hostkeys: 'hostkey',
  cipher: 'ciphers',
  mac: 'macs',
  requiredrsasize: 'min-bits rsa',
  'min-size': 'min-bits',
  minbits: 'min-bits',
}

/** RFC 4251 §6: an algorithm name is at most 64 characters. */
const MAX_NAME_LENGTH = 64
/** The largest key size min-bits accepts: OpenSSH's own maximum RSA size (SSHBUF_MAX_BIGNUM * 8). */
const MAX_BITS = 16384
/** Printable US-ASCII but space, comma and `#` (which starts a comment here). */
const NAME_CHARACTERS = /^[\x21-\x22\x24-\x2b\x2d-\x7e]+$/

interface Draft {
  readonly rules: Record<PolicyList, Partial<Record<PolicyVerb, { names: string[]; line: number }>>>
  readonly minBits: Partial<Record<KeyFamily, { bits: number; line: number }>>
}

/**
 * Parses a policy file's text; `file` is how errors and findings name it. Every error is a PolicyError
 * naming `FILE:LINE` and what was expected there.
 */
export function parsePolicy(text: string, file: string): AlgorithmPolicy {
  const source = echoInput(file)
  const draft: Draft = { rules: { kex: {}, hostkey: {}, ciphers: {}, macs: {}, compression: {} }, minBits: {} }
  let directives = 0
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/)
  lines.forEach((raw, index) => {
    const line = index + 1
    const at = `${source}:${line}`
    const content = raw.split('#', 1)[0]!.trim()
    if (content === '') return
    const words = content.split(/[\s,]+/).filter((w) => w !== '')
    const directive = words[0]!.toLowerCase()
    directives++
    if (directive === 'min-bits') return parseMinBits(words.slice(1), draft, at, line)
    if (!(POLICY_LISTS as readonly string[]).includes(directive)) {
      const hint = DIRECTIVE_HINTS[directive]
      throw new PolicyError(
        `${at}: '${echoInput(words[0]!)}' is not a directive: expected ${POLICY_LISTS.join(', ')} or min-bits` + (hint ? ` (did you mean '${hint}'?)` : ''),
      )
    }
    const list = directive as PolicyList
    const verb = words[1]?.toLowerCase()
    if (verb === undefined || !(POLICY_VERBS as readonly string[]).includes(verb)) {
      const found = verb === undefined ? 'nothing' : `'${echoInput(words[1]!)}'`
      throw new PolicyError(`${at}: expected ${POLICY_VERBS.join(', ')} after '${list}', found ${found}`)
    }
    const rules = draft.rules[list]
    const earlier = rules[verb as PolicyVerb]
    if (earlier) throw new PolicyError(`${at}: '${list} ${verb}' was given already at line ${earlier.line}: put every name of it on one line`)
    const names = words.slice(2)
    if (names.length === 0) throw new PolicyError(`${at}: '${list} ${verb}' needs at least one algorithm name or pattern`)
    const seen = new Set<string>()
    for (const name of names) {
      checkName(name, at)
      if (seen.has(name)) throw new PolicyError(`${at}: '${name}' is listed twice in '${list} ${verb}'`)
      seen.add(name)
    }
    rules[verb as PolicyVerb] = { names, line }
  })
  if (directives === 0) throw new PolicyError(`${source}: no directive: a policy needs at least one 'LIST allow|require|forbid NAME...' or 'min-bits FAMILY BITS' line`)
  for (const list of POLICY_LISTS) checkConsistent(list, draft.rules[list], source)
  return freeze(draft, source)
}

function parseMinBits(args: readonly string[], draft: Draft, at: string, line: number): void {
  if (args.length !== 2) throw new PolicyError(`${at}: expected 'min-bits FAMILY BITS', e.g. 'min-bits rsa 3072' (found ${args.length} word(s) after min-bits)`)
  const family = args[0]!.toLowerCase()
  if (!(KEY_FAMILIES as readonly string[]).includes(family)) {
    throw new PolicyError(`${at}: expected a key family (${KEY_FAMILIES.join(', ')}) after min-bits, found '${echoInput(args[0]!)}'`)
  }
  const text = args[1]!
  const bits = /^\d{1,6}$/.test(text) ? Number(text) : NaN
  if (!(bits >= 1 && bits <= MAX_BITS)) throw new PolicyError(`${at}: expected a number of bits from 1 to ${MAX_BITS} after 'min-bits ${family}', found '${echoInput(text)}'`)
  const earlier = draft.minBits[family as KeyFamily]
  if (earlier) throw new PolicyError(`${at}: 'min-bits ${family}' was given already at line ${earlier.line}`)
  draft.minBits[family as KeyFamily] = { bits, line }
}

function checkName(name: string, at: string): void {
  if (name.length > MAX_NAME_LENGTH) throw new PolicyError(`${at}: '${echoInput(name, 80)}' is not an algorithm name: longer than ${MAX_NAME_LENGTH} characters (RFC 4251 §6)`)
  if (!NAME_CHARACTERS.test(name)) throw new PolicyError(`${at}: '${echoInput(name)}' is not an algorithm name: expected printable US-ASCII (RFC 4251 §6), '*' and '?' as wildcards`)
}

/** Rules that contradict each other can never be met by any server: say so now, not at every scan. */
function checkConsistent(list: PolicyList, rules: Draft['rules'][PolicyList], source: string): void {
  const { allow, require, forbid } = rules
  for (const name of require?.names ?? []) {
    if (isPattern(name)) continue
    const forbidden = forbid?.names.find((f) => matches(f, name))
    if (forbidden !== undefined) {
      throw new PolicyError(`${source}:${require!.line}: '${name}' is required, but '${list} forbid' (line ${forbid!.line}) forbids '${forbidden}'`)
    }
    if (allow && !isKexMarker(name) && !allow.names.some((a) => matches(a, name))) {
      throw new PolicyError(`${source}:${require!.line}: '${name}' is required, but '${list} allow' (line ${allow.line}) does not allow it`)
    }
  }
  for (const name of allow?.names ?? []) {
    if (forbid?.names.includes(name)) throw new PolicyError(`${source}:${forbid.line}: '${name}' is both allowed (line ${allow!.line}) and forbidden`)
  }
}

function freeze(draft: Draft, source: string): AlgorithmPolicy {
  const lists = {} as Record<PolicyList, ListRules>
  for (const list of POLICY_LISTS) {
    const r = draft.rules[list]
    lists[list] = Object.freeze({
      allow: r.allow ? Object.freeze([...r.allow.names]) : null,
      require: Object.freeze([...(r.require?.names ?? [])]),
      forbid: Object.freeze([...(r.forbid?.names ?? [])]),
    })
  }
  const minBits: Partial<Record<KeyFamily, number>> = {}
  for (const family of KEY_FAMILIES) {
    const entry = draft.minBits[family]
    if (entry) minBits[family] = entry.bits
  }
  return Object.freeze({ source, lists: Object.freeze(lists), minBits: Object.freeze(minBits) }) as AlgorithmPolicy
}

function isPattern(name: string): boolean {
  return name.includes('*') || name.includes('?')
}

const compiled = new Map<string, RegExp>()

/** ssh_config-style pattern match: `*` any run, `?` one character, everything else literal and case-sensitive. */
function matches(pattern: string, name: string): boolean {
  if (!isPattern(pattern)) return pattern === name
  let regex = compiled.get(pattern)
  if (!regex) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
    compiled.set(pattern, (regex = new RegExp(`^${body}$`, 's')))
  }
  return regex.test(name)
}

/** A marker matches only its exact name: `kex forbid *@openssh.com` must not catch kex-strict-s-v00@openssh.com. */
function matchesOffered(list: PolicyList, pattern: string, name: string): boolean {
  if (list === 'kex' && isKexMarker(name)) return pattern === name
  return matches(pattern, name)
}

/** The names of one list as offered, both directions together, each once, in the order sent. */
function offeredNames(offered: OfferedAlgorithms, list: PolicyList): readonly string[] {
  switch (list) {
    case 'kex':
      return offered.kex
    case 'hostkey':
      return offered.serverHostKey
    default: {
      const both = offered[list]
      return [...new Set([...both.serverToClient, ...both.clientToServer])]
    }
  }
}

/** A policy's verdict on one host: what it offers that it should not, lacks, or serves too small. */
export interface PolicyDeviations {
  readonly lists: readonly {
    readonly list: PolicyList
    /** Offered, matched by no allow pattern (markers never count). */
    readonly notAllowed: readonly string[]
    /** Offered, matched by a forbid pattern. */
    readonly forbidden: readonly string[]
    /** Required names (or patterns) nothing offered matches. */
    readonly missing: readonly string[]
  }[]
  readonly smallKeys: readonly { readonly type: KeyType; readonly family: KeyFamily; readonly bits: number; readonly minimum: number }[]
}

/** What a host does that the policy does not want; empty lists when it meets the policy. */
export function policyDeviations(
  offered: OfferedAlgorithms,
  keys: readonly { readonly type: KeyType; readonly bits: number; readonly family: KeyFamily }[],
  policy: AlgorithmPolicy,
): PolicyDeviations {
  const lists: PolicyDeviations['lists'][number][] = []
  for (const list of POLICY_LISTS) {
    const rules = policy.lists[list]
    const names = offeredNames(offered, list)
    const allow = rules.allow
    const notAllowed = allow === null ? [] : names.filter((n) => !(list === 'kex' && isKexMarker(n)) && !allow.some((a) => matchesOffered(list, a, n)))
    const forbidden = names.filter((n) => rules.forbid.some((f) => matchesOffered(list, f, n)))
    const missing = rules.require.filter((r) => !names.some((n) => matchesOffered(list, r, n)))
    // A name both not allowed and forbidden is said once, as forbidden: the stronger word.
    const notAllowedOnly = notAllowed.filter((n) => !forbidden.includes(n))
    if (notAllowedOnly.length + forbidden.length + missing.length > 0) lists.push({ list, notAllowed: notAllowedOnly, forbidden, missing })
  }
  const smallKeys = keys.flatMap((key) => {
    const minimum = policy.minBits[key.family]
    return minimum !== undefined && key.bits < minimum ? [{ type: key.type, family: key.family, bits: key.bits, minimum }] : []
  })
  return { lists, smallKeys }
}

/** policy_violation: one warning per host listing every deviation from the policy, with the sshd_config change for each. [] when it meets it. */
export function policyFindings(
  host: string,
  offered: OfferedAlgorithms,
  keys: readonly { readonly type: KeyType; readonly bits: number; readonly family: KeyFamily }[],
  policy: AlgorithmPolicy,
): Finding[] {
  const deviations = policyDeviations(offered, keys, policy)
  if (deviations.lists.length === 0 && deviations.smallKeys.length === 0) return []
  const changes: string[] = []
  for (const { list, notAllowed, forbidden, missing } of deviations.lists) {
    const keyword = SSHD_KEYWORD[list]
    if (notAllowed.length > 0) changes.push(removal(list, keyword, notAllowed, 'not allowed'))
    if (forbidden.length > 0) changes.push(removal(list, keyword, forbidden, 'forbidden'))
    const settings = missing.filter((m) => !(list === 'kex' && isKexMarker(m)))
    const markers = missing.filter((m) => list === 'kex' && isKexMarker(m))
    if (settings.length > 0) changes.push(addition(list, keyword, settings))
    if (markers.length > 0) {
      changes.push(`the kex list lacks the required marker ${markers.join(', ')}, which the server's software sends by itself: update OpenSSH (strict key exchange came with 9.6 and distribution backports)`)
    }
  }
  for (const key of deviations.smallKeys) changes.push(smallKeyChange(key))
  return [
    finding({
      kind: 'policy_violation',
      severity: 'warning',
      host,
      keyType: null,
      fingerprint: null,
      previous: null,
      message: `${host} does not meet the policy in ${policy.source}: ${changes.join('; ')}.`,
    }),
  ]
}

function removal(list: PolicyList, keyword: string, names: readonly string[], why: string): string {
  if (list === 'compression') {
    const zlib = names.every((n) => n.startsWith('zlib'))
    return `it offers compression ${names.join(', ')} (${why}): ${zlib ? 'set Compression no' : 'change Compression (yes, delayed or no)'} in sshd_config`
  }
  return `it offers ${names.join(', ')} (${why}): remove ${names.length === 1 ? 'it' : 'them'} from ${keyword} in sshd_config`
}

function addition(list: PolicyList, keyword: string, names: readonly string[]): string {
  const shown = names.map((n) => (isPattern(n) ? `one matching ${n}` : n)).join(', ')
  if (list === 'compression') return `it lacks compression ${shown} (required): change Compression (yes, delayed or no) in sshd_config`
  const hostKey = list === 'hostkey' ? ' (with a HostKey of that type)' : ''
  return `it lacks ${shown} (required): add ${names.length === 1 ? 'it' : 'them'} to ${keyword}${hostKey} in sshd_config`
}

function smallKeyChange(key: PolicyDeviations['smallKeys'][number]): string {
  const file = `/etc/ssh/ssh_host_${key.family.replace('-', '_')}_key`
  let make: string
  if (key.family === 'rsa') make = `make a new one (ssh-keygen -t rsa -b ${Math.max(key.minimum, 3072)} -f ${file}) or remove its HostKey line`
  else if (key.family === 'ecdsa' && key.minimum <= 521) make = `make a new one (ssh-keygen -t ecdsa -b ${key.minimum <= 384 ? 384 : 521} -f ${file}) or remove its HostKey line`
  else make = `remove its HostKey line from sshd_config`
  return `its ${key.type} host key has ${key.bits} bits, under the policy's ${key.minimum} for ${key.family}: ${make}`
}
