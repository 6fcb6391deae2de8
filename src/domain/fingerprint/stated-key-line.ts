import { type HostKey, type KeyType, type Md5Fingerprint, type Sha256Fingerprint } from '../host-key.js'
import { familyOfType, isKeyType } from '../host-key.js'
import type { StatedKey } from '../key-statement.js'
import { isCertificateType, parseCertificate } from './certificate.js'
import { KeyBlobError } from './key-blob.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry, parsePublicKeyFields } from './known-hosts-entry.js'

/* stated key line : one line of what a host's owner sends to say what its keys are, in the forms
 *                   OpenSSH's own tools print:
 *   ssh-keygen -l[f] output   BITS SHA256:<base64> COMMENT (TYPE)      (ssh-keygen.c fingerprint_one_key)
 *                             BITS MD5:aa:bb:…:pp COMMENT (TYPE)       (-E md5: MD5 is all it gives)
 *   a .pub file               TYPE BASE64 [COMMENT]                    (sshd's ssh_host_*_key.pub, -cert.pub)
 *   a known_hosts line        NAMES TYPE BASE64 [COMMENT]              (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT;
 *                             NAMES plain, [host]:port or |1|salt|hmac)
 * `ssh-keygen -lv` randomart lines (`+--[ED25519 256]--+`, `|  .o+  |`) are skipped. */

export const STATED_KEY_FORMS =
  "'BITS SHA256:<base64> COMMENT (TYPE)' or 'BITS MD5:aa:bb:... COMMENT (TYPE)' as ssh-keygen -l prints it, " +
  "a public key line 'TYPE BASE64 [COMMENT]' (.pub, -cert.pub) or a known_hosts line 'NAMES TYPE BASE64'"

export type StatedKeyLine =
  | { readonly form: 'ssh-keygen -l' | 'public key'; readonly key: StatedKey }
  | {
      readonly form: 'known_hosts'
      readonly key: StatedKey
      /** Plain names as written (`host`, `[host]:port`); empty for a hashed line. */
      readonly names: readonly string[]
      readonly hashed: { readonly salt: Buffer; readonly hmac: Buffer } | null
    }

/** Why a line is none of the forms, in words (the caller adds FILE:LINE and the forms expected). */
export class StatedKeySyntaxError extends Error {
  override name = 'StatedKeySyntaxError'
  /** The line is a form we know, refused for what it says (a marker line): no list of forms helps. */
  readonly refused: boolean
  constructor(message: string, options: ErrorOptions & { refused?: boolean } = {}) {
    super(message, options)
    this.refused = options.refused ?? false
  }
}

/* ssh-keygen -l's last field: sshkey_type() in upper case (sshkey.c keytypes[].shortname), `-CERT` for
 * a certificate. ECDSA names no curve: its size does (256, 384, 521). */
const LISTED_TYPES: Record<string, (bits: number) => KeyType | null> = {
  ED25519: () => 'ssh-ed25519',
  ECDSA: (bits) => (bits === 256 ? 'ecdsa-sha2-nistp256' : bits === 384 ? 'ecdsa-sha2-nistp384' : bits === 521 ? 'ecdsa-sha2-nistp521' : null),
  RSA: () => 'ssh-rsa',
  DSA: () => 'ssh-dss',
  'ED25519-SK': () => 'sk-ssh-ed25519@openssh.com',
  'ECDSA-SK': () => 'sk-ecdsa-sha2-nistp256@openssh.com',
}

const RANDOMART = /^\+-*\[[^\]]*\]-*\+$|^\|.{17}\|$/


/** A stated key made from a full key: every fingerprint known. */
export function statedKeyOf(key: HostKey, comment: string | null): StatedKey {
  return { family: key.family, type: key.type, bits: key.bits, sha256: key.sha256, md5: key.md5, blob: key.blob, comment }
}

/** `BITS FINGERPRINT COMMENT (TYPE)` as ssh-keygen -l prints it. */
function parseListedKey(text: string): StatedKey {
  const match = /^(\d{1,5})\s+(\S+)\s*(.*?)\s*\(([A-Z0-9-]+)\)$/.exec(text)
  if (!match) throw new StatedKeySyntaxError('the line starts like ssh-keygen -l output (BITS) but is not BITS FINGERPRINT COMMENT (TYPE)')
  const [, bitsText, fingerprint, comment, listed] = match as unknown as [string, string, string, string, string]
  const bits = Number(bitsText)
  const typeName = listed.replace(/-CERT$/, '')
  const typeOf = LISTED_TYPES[typeName]
  if (!typeOf) throw new StatedKeySyntaxError(`'(${listed.slice(0, 20)})' is not a key type ssh-keygen -l prints (ED25519, ECDSA, RSA, DSA, ED25519-SK, ECDSA-SK)`)
  const type = typeOf(bits)
  if (!type) throw new StatedKeySyntaxError(`an ECDSA key of ${bits} bits: ECDSA keys are 256, 384 or 521 bits`)
  let sha256: Sha256Fingerprint | null = null
  let md5: Md5Fingerprint | null = null
  const sha = /^SHA256:([A-Za-z0-9+/]{43})=?$/i.exec(fingerprint)
  const md = /^MD5:((?:[0-9a-f]{2}:){15}[0-9a-f]{2})$/i.exec(fingerprint)
  if (sha) sha256 = `SHA256:${sha[1]}` as Sha256Fingerprint
  else if (md) md5 = `MD5:${md[1]!.toLowerCase()}` as Md5Fingerprint
  else {
    throw new StatedKeySyntaxError(
      `'${fingerprint.slice(0, 60)}' is not a fingerprint (SHA256: and 43 base64 characters, or MD5: and 16 colon-separated hex bytes)`,
    )
  }
  return { family: familyOfType(type), type, bits, sha256, md5, blob: null, comment: comment === '' ? null : comment }
}

/** `TYPE BASE64 [COMMENT]`, a certificate's certified key for a -cert.pub line. */
function parsePublicKeyLine(fields: readonly string[]): StatedKey {
  const [type, base64] = fields as [string, string | undefined]
  if (base64 === undefined) throw new StatedKeySyntaxError(`'${type.slice(0, 60)}' has no key after its type`)
  const comment = fields.slice(2).join(' ') || null
  if (isCertificateType(type)) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new StatedKeySyntaxError('the certificate is not base64')
    try {
      const { key, certificate } = parseCertificate(Buffer.from(base64, 'base64'))
      if (certificate.certType !== type) throw new StatedKeySyntaxError(`the line says ${type} but the certificate is ${certificate.certType}`)
      return statedKeyOf(key, comment)
    } catch (e) {
      if (e instanceof KeyBlobError) throw new StatedKeySyntaxError(e.message, { cause: e })
      throw e
    }
  }
  try {
    return statedKeyOf(parsePublicKeyFields(type, base64), comment)
  } catch (e) {
    if (e instanceof KnownHostsSyntaxError) throw new StatedKeySyntaxError(e.message, { cause: e })
    throw e
  }
}

/**
 * One line of an owner's statement; null for a blank line, a `#` comment or a randomart line.
 * Throws StatedKeySyntaxError, also for `@cert-authority` and `@revoked` lines (a statement names
 * the host's own keys, not a CA it trusts nor a key refused everywhere).
 */
export function parseStatedKeyLine(line: string): StatedKeyLine | null {
  const text = line.trim()
  if (text === '' || text.startsWith('#') || RANDOMART.test(text)) return null
  const fields = text.split(/\s+/)
  const first = fields[0]!
  if (/^\d+$/.test(first)) return { form: 'ssh-keygen -l', key: parseListedKey(text) }
  if (isKeyType(first) || isCertificateType(first)) return { form: 'public key', key: parsePublicKeyLine(fields) }
  if (first === '@cert-authority') {
    throw new StatedKeySyntaxError("an @cert-authority line names a CA that signs host keys, not this host's own key; trust CAs with 'hostkeys ca trust'", { refused: true })
  }
  if (first === '@revoked') {
    throw new StatedKeySyntaxError("an @revoked line names a key that must never be accepted, not this host's key; import revocations with 'hostkeys import known_hosts'", { refused: true })
  }
  if (first.startsWith('@')) throw new StatedKeySyntaxError(`unknown marker '${first.slice(0, 20)}'`)
  if (fields.length >= 2 && (isKeyType(fields[1]) || isCertificateType(fields[1]!))) {
    if (isCertificateType(fields[1]!)) throw new StatedKeySyntaxError('a known_hosts line cannot hold a certificate; give the host key itself')
    try {
      const entry = parseKnownHostsEntry(text)!
      return { form: 'known_hosts', key: statedKeyOf(entry.key, fields.slice(3).join(' ') || null), names: entry.names, hashed: entry.hashed }
    } catch (e) {
      if (e instanceof KnownHostsSyntaxError) throw new StatedKeySyntaxError(e.message, { cause: e })
      throw e
    }
  }
  throw new StatedKeySyntaxError('the line is none of the forms')
}
