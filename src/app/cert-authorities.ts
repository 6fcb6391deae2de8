import { readFile } from 'node:fs/promises'
import { echoInput } from '../domain/echo.js'
import { OperationalError, UserError } from '../domain/errors.js'
import type { TrustedAuthority } from '../domain/history.js'
import { KEY_TYPES, type Sha256Fingerprint } from '../domain/host-key.js'
import { HostPatternError, parseHostPatterns } from '../domain/host-patterns.js'
import { sha256FromText } from '../domain/fingerprint/digest-forms.js'
import { sha256Fingerprint } from '../domain/fingerprint/key-blob.js'
import { CaKeySyntaxError, isCertificateType, parseCaKey } from '../domain/fingerprint/certificate.js'
import type { CertAuthorityEntry, CertAuthorityTrust, Store } from '../store/store.js'

/* The `ca` commands' use cases. A CA is given as its public key: a file (a `.pub`, several such
 * lines, or known_hosts `@cert-authority` lines) or the key line itself as one argument. Each line is
 * read by parseCaKey; the whole input is validated before the history is opened, and a bad line stops
 * it with its file:line. */

/** Where a line came from, for messages: `ca.pub:3: `, `the key argument: `. */
type Where = (line: number) => string

function patternsOrThrow(text: string, where: string): string[] {
  try {
    return parseHostPatterns(text)
  } catch (e) {
    if (e instanceof HostPatternError) throw new UserError(`${where}${e.message}`, { cause: e })
    throw e
  }
}

const isKeyType = (name: string | undefined) => name !== undefined && ((KEY_TYPES as readonly string[]).includes(name) || isCertificateType(name))

/** A line's CA key and the patterns its @cert-authority line gives (null for a .pub line); null for
 * a blank or comment line. Lines that are keys but not CAs are refused saying what they are. */
function parseCaLine(line: string, where: string): { blob: Buffer; patterns: string[] | null } | null {
  const text = line.trim()
  if (text === '' || text.startsWith('#')) return null
  const [first, second] = text.split(/\s+/)
  if (first === '@revoked') throw new UserError(`${where}an @revoked line names a revoked key, not a CA`)
  if (!first!.startsWith('@') && !isKeyType(first) && isKeyType(second)) {
    throw new UserError(`${where}a known_hosts line for a host names a host key, not a CA: only @cert-authority lines name CAs`)
  }
  try {
    const { key, patterns } = parseCaKey(text)
    return { blob: key.blob, patterns: patterns && patternsOrThrow(patterns.join(','), where) }
  } catch (e) {
    if (e instanceof CaKeySyntaxError) throw new UserError(`${where}${e.message}`, { cause: e })
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
    entries.push({ blob: parsed.blob, patterns: given ?? parsed.patterns ?? ['*'] })
  }
  if (entries.length === 0) {
    throw new UserError(`${source ?? 'the key argument'}: no key in it; expected a public key line 'TYPE BASE64 [COMMENT]' or @cert-authority lines`)
  }
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
