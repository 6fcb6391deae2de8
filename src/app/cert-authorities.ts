import { readFile } from 'node:fs/promises'
import { echoInput } from '../domain/echo.js'
import { OperationalError, UserError } from '../domain/errors.js'
import type { TrustedAuthority } from '../domain/history.js'
import { KEY_TYPES, type Sha256Fingerprint } from '../domain/host-key.js'
import { HostPatternError, parseHostPatterns } from '../domain/host-patterns.js'
import { sha256FromText } from '../fingerprint/digest-forms.js'
import { sha256Fingerprint } from '../fingerprint/key-blob.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry, parsePublicKeyFields } from '../fingerprint/known-hosts-entry.js'
import type { CertAuthorityEntry, CertAuthorityTrust, Store } from '../store/store.js'

/* The `ca` commands' use cases. A CA is given as its public key: a file (a `.pub`, several such
 * lines, or known_hosts `@cert-authority` lines) or the key line itself as one argument. The whole
 * input is read and validated before the history is opened; a bad line stops it with its file:line. */

/** The forms a CA key may take, for messages. */
export const CA_KEY_FORMS = "'TYPE BASE64 [COMMENT]' (a CA's .pub file) or '@cert-authority PATTERNS TYPE BASE64 [COMMENT]' (a known_hosts line)"

/** Key types of OpenSSH certificates (PROTOCOL.certkeys): a certificate is signed by a CA, it is not one. */
const CERTIFICATE_TYPE = /-cert-v0[01]@openssh\.com$/

/** Where a line came from, for messages: `ca.pub:3: `, `the key argument: `. */
type Where = (line: number) => string

/** The type name inside a base64 key blob (RFC 4253 §6.6: its first string), or null. */
function blobTypeName(base64: string): string | null {
  const blob = Buffer.from(base64, 'base64')
  if (blob.length < 4) return null
  const length = blob.readUInt32BE(0)
  return length <= 64 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString('latin1') : null
}

function patternsOrThrow(text: string, where: string): string[] {
  try {
    return parseHostPatterns(text)
  } catch (e) {
    if (e instanceof HostPatternError) throw new UserError(`${where}${e.message}`, { cause: e })
    throw e
  }
}

/** Refuses a certificate, by the type its line names or the one inside its blob. */
function refuseCertificates(type: string | undefined, base64: string | undefined, where: string): void {
  const inner = base64 === undefined ? null : blobTypeName(base64)
  for (const name of [type, inner]) {
    if (name && CERTIFICATE_TYPE.test(name)) {
      throw new UserError(
        `${where}${echoInput(name, 60)} is a certificate, not a CA key: trust the public key of the CA that signed it ` +
          `(the .pub of the key given to ssh-keygen -s)`,
      )
    }
  }
}

/** A line's CA key and the patterns it gives: a list, 'hashed' (a hashed @cert-authority line), null
 * for a bare key line; null for a blank or comment line. */
function parseCaLine(line: string, where: string): { blob: Buffer; patterns: string[] | 'hashed' | null } | null {
  const text = line.trim()
  if (text === '' || text.startsWith('#')) return null
  const fields = text.split(/\s+/)
  const [first, second, third, fourth] = fields as [string, string | undefined, string | undefined, string | undefined]
  const expected = () => new UserError(`${where}'${echoInput(text, 80)}' is not a CA key: expected ${CA_KEY_FORMS}`)
  try {
    if (first === '@revoked') throw new UserError(`${where}an @revoked line names a revoked key, not a CA: expected ${CA_KEY_FORMS}`)
    if (first.startsWith('@')) {
      if (first === '@cert-authority') refuseCertificates(third, fourth, where)
      const entry = parseKnownHostsEntry(text)!
      if (entry.hashed) return { blob: entry.key.blob, patterns: 'hashed' }
      return { blob: entry.key.blob, patterns: patternsOrThrow(entry.names.join(','), where) }
    }
    refuseCertificates(first, second, where)
    if ((KEY_TYPES as readonly string[]).includes(first)) {
      if (second === undefined) throw expected()
      return { blob: parsePublicKeyFields(first, second).blob, patterns: null }
    }
    if ((KEY_TYPES as readonly string[]).includes(second ?? '') || CERTIFICATE_TYPE.test(second ?? '')) {
      throw new UserError(`${where}a known_hosts line for a host names a host key, not a CA (only @cert-authority lines name CAs): expected ${CA_KEY_FORMS}`)
    }
    throw expected()
  } catch (e) {
    if (e instanceof KnownHostsSyntaxError) throw new UserError(`${where}${e.message}: expected ${CA_KEY_FORMS}`, { cause: e })
    throw e
  }
}

/**
 * The CA keys in `text`, each with its patterns: `names` (a comma-separated list, as `--names`) for
 * every key when given; else a known_hosts line's own patterns, or `*` for a bare key. `source` is the
 * file, or null for the key given as an argument. Throws a UserError naming file:line and the forms
 * expected.
 */
export function certAuthorityEntries(text: string, source: string | null, names: string | null): CertAuthorityEntry[] {
  const lines = text.split('\n')
  const where: Where = (n) => (source !== null ? `${source}:${n}: ` : lines.length > 1 ? `line ${n} of the key argument: ` : 'the key argument: ')
  const given = names === null ? null : patternsOrThrow(names, '--names: ')
  const entries: CertAuthorityEntry[] = []
  for (const [index, line] of lines.entries()) {
    const parsed = parseCaLine(line, where(index + 1))
    if (!parsed) continue
    if (given) {
      entries.push({ blob: parsed.blob, patterns: given })
      continue
    }
    if (parsed.patterns === 'hashed') {
      throw new UserError(`${where(index + 1)}the @cert-authority line's names are hashed, and patterns cannot be: give them with --names`)
    }
    entries.push({ blob: parsed.blob, patterns: parsed.patterns ?? ['*'] })
  }
  if (entries.length === 0) throw new UserError(`${source ?? 'the key argument'}: no key in it; expected ${CA_KEY_FORMS}`)
  return entries
}

/** A CA as given on the command line: read, parsed and validated; nothing is opened yet. */
export interface CertAuthorityInput {
  readonly entries: readonly CertAuthorityEntry[]
  /** The file it was read from, or null for a key given as the argument. */
  readonly file: string | null
}

/** Key text given as the argument, rather than a file: it starts as a key line or a marker does. */
function looksLikeKeyText(argument: string): boolean {
  return /^\s*(@\S+|ssh-\S+|ecdsa-\S+|sk-\S+|rsa-\S+)\s+\S/.test(argument)
}

/** `FILE|KEYLINE` as the CA keys it names, with `--names` (null: the lines' own patterns, else `*`). */
export async function readCertAuthorityInput(argument: string, names: string | null): Promise<CertAuthorityInput> {
  if (looksLikeKeyText(argument)) return { entries: certAuthorityEntries(argument, null, names), file: null }
  let text: string
  try {
    text = await readFile(argument, 'utf8')
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
    throw new OperationalError(
      `cannot read ${echoInput(argument)}: ${why}; give a CA public key file or the key line itself, quoted as one argument ('ssh-ed25519 AAAA... comment')`,
      { cause: e },
    )
  }
  return { entries: certAuthorityEntries(text, argument, names), file: argument }
}

/** `ca trust`: trusts each CA for exactly the patterns given (replacing any it had), recording who did. */
export function trustCertAuthorities(store: Store, input: CertAuthorityInput, by: { actor: string; at: Date }): Promise<CertAuthorityTrust[]> {
  const source = `ca trust by ${by.actor}${input.file !== null ? ` from ${input.file}` : ''}`
  return store.trustCertAuthorities(input.entries, { source, at: by.at })
}

/** `ca list`: every trusted CA, one entry per pattern list, imported `@cert-authority` lines included. */
export function listCertAuthorities(store: Store): Promise<TrustedAuthority[]> {
  return store.listCertAuthorities()
}

/** `FINGERPRINT|FILE|KEYLINE` as the fingerprints of the CAs it names; a malformed fingerprint is a UserError. */
export async function readCertAuthorityFingerprints(argument: string): Promise<Sha256Fingerprint[]> {
  if (/^\s*sha256:/i.test(argument)) {
    const fingerprint = sha256FromText(argument)
    if (!fingerprint) {
      throw new UserError(
        `'${echoInput(argument, 80)}' is not a SHA256 fingerprint (43 base64 characters after SHA256:, as ssh-keygen -l prints it); ` +
          `ca remove takes SHA256:<base64>, a CA public key file or the key line`,
      )
    }
    return [fingerprint]
  }
  const input = await readCertAuthorityInput(argument, null)
  return [...new Set(input.entries.map((e) => sha256Fingerprint(e.blob)))]
}

/**
 * `ca remove`: stops trusting the CAs named, every pattern list of each; returns what each was trusted
 * for, CA by CA. A CA that is not trusted is a UserError naming those that are, and nothing is removed.
 */
export async function removeCertAuthorities(store: Store, fingerprints: readonly Sha256Fingerprint[]): Promise<TrustedAuthority[][]> {
  const authorities = await store.listCertAuthorities()
  const trusted = [...new Set(authorities.map((a) => a.sha256))]
  const unknown = fingerprints.filter((f) => !trusted.includes(f))
  if (unknown.length > 0) {
    throw new UserError(
      `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a trusted certificate authority; ` +
        (trusted.length === 0 ? 'none is trusted' : `trusted: ${trusted.join(', ')}`),
    )
  }
  const removed: TrustedAuthority[][] = []
  for (const fingerprint of new Set(fingerprints)) {
    await store.removeCertAuthority(fingerprint)
    removed.push(authorities.filter((a) => a.sha256 === fingerprint))
  }
  return removed
}
