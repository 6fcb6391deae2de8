import type { KeyObject } from 'node:crypto'
import {
  CERT_KEY_TYPES,
  plainKeyTypeOf,
  type CertKeyType,
  type CertificateOption,
  type HostCertificate,
} from '../certificate.js'
import { KEY_TYPES, type HostKey, type KeyType } from '../host-key.js'
import { printableBytes } from '../printable-bytes.js'
import { sshMagnitudeMpint, SshReader, sshString, SshWireError } from '../ssh-wire.js'
import { describeKey, KeyBlobError, keyBlobReader } from './key-blob.js'
import { KnownHostsSyntaxError, parsePublicKeyFields } from './known-hosts-entry.js'
import { publicKeyObject, verifySshSignature } from './ssh-signature.js'

/* A certificate blob (OpenSSH PROTOCOL.certkeys), every field an RFC 4251 §5 value:
 *   string  cert type            ssh-ed25519-cert-v01@openssh.com, ...
 *   string  nonce
 *   ...     the certified key's fields, as in its plain blob without the type name:
 *           ed25519: string pk; ecdsa: string curve, string Q; rsa: mpint e, mpint n;
 *           dsa: mpint p, q, g, y
 *   uint64  serial
 *   uint32  type                 1 user, 2 host
 *   string  key id
 *   string  valid principals     a sequence of strings
 *   uint64  valid after          seconds since the epoch; 0 is "always"
 *   uint64  valid before         0xffffffffffffffff is "forever"
 *   string  critical options     a sequence of string name + string data
 *   string  extensions           the same
 *   string  reserved
 *   string  signature key        the CA's plain public key blob
 *   string  signature            over every byte before it
 * Anything malformed up to and including the signature key throws KeyBlobError; the signature
 * itself only decides `signatureValid`, so a certificate with a bad signature is still reported. */

/** RFC 4253 §6.1: packets are at most 35000 bytes, and a certificate arrives inside one. */
export const MAX_CERTIFICATE_BYTES = 35000
/** OpenSSH sshkey.c SSHKEY_CERT_MAX_PRINCIPALS: a certificate with more is refused. */
const MAX_PRINCIPALS = 256

const SSH2_CERT_TYPE_USER = 1
const SSH2_CERT_TYPE_HOST = 2

/** Seconds since the epoch that a Date can hold (ECMA-262 §21.4.1.22: ±8.64e15 ms). */
const MAX_DATE_SECONDS = 8_640_000_000_000n
const FOREVER = 0xffff_ffff_ffff_ffffn

/** True for the key types of OpenSSH certificates (`ssh-ed25519-cert-v01@openssh.com`, ...). */
export function isCertificateType(name: string): name is CertKeyType {
  return (CERT_KEY_TYPES as readonly string[]).includes(name)
}

/** Text that OpenSSH reads as a C string (sshbuf_get_cstring): an embedded NUL makes the certificate invalid. */
function certificateText(bytes: Buffer, field: string): string {
  if (bytes.includes(0)) throw new KeyBlobError(`certificate ${field} contains a NUL byte`)
  return printableBytes(bytes)
}

function principalsOf(reader: SshReader): string[] {
  const principals: string[] = []
  while (!reader.atEnd()) {
    if (principals.length === MAX_PRINCIPALS) throw new KeyBlobError(`certificate has more than ${MAX_PRINCIPALS} principals`)
    principals.push(certificateText(reader.string(`principal ${principals.length + 1}`), 'principal'))
  }
  return principals
}

/** An option's value as ssh-keygen -L shows the known ones: the text of a value that is one string. */
function optionData(data: Buffer): string {
  if (data.length === 0) return ''
  const reader = new SshReader(data, 'option data')
  try {
    const value = reader.string('value')
    if (reader.atEnd()) return printableBytes(value)
  } catch (e) {
    if (!(e instanceof SshWireError)) throw e
  }
  return data.toString('hex')
}

function optionsOf(reader: SshReader, what: 'critical options' | 'extensions'): CertificateOption[] {
  const options: CertificateOption[] = []
  while (!reader.atEnd()) {
    const name = certificateText(reader.string(`name ${options.length + 1}`), `${what} name`)
    options.push({ name, data: optionData(reader.string(`data of '${name}'`)) })
  }
  return options
}

/** validAfter: 0 is "always"; beyond a Date's range is clamped to the last Date (never valid yet). */
function startDate(seconds: bigint): Date | null {
  if (seconds === 0n) return null
  return new Date(Number(seconds > MAX_DATE_SECONDS ? MAX_DATE_SECONDS : seconds) * 1000)
}

/** validBefore: 0xffffffffffffffff is "forever", and so is anything beyond a Date's range. */
function endDate(seconds: bigint): Date | null {
  if (seconds === FOREVER || seconds > MAX_DATE_SECONDS) return null
  return new Date(Number(seconds) * 1000)
}

/** A key blob through describeKey, its KeyBlobError said to be about `what`. */
function describeAs(blob: Buffer, what: string): HostKey {
  try {
    return describeKey(blob)
  } catch (e) {
    if (e instanceof KeyBlobError) throw new KeyBlobError(`${what}: ${e.message}`, { cause: e })
    throw e
  }
}

/**
 * A plain key's fields after its type name, read and written back as OpenSSH re-serialises a key
 * it has loaded: integers minimal (a needless leading zero byte dropped), so the fingerprints are
 * those `ssh-keygen -L` and `ssh-keygen -l` print for the key.
 */
function plainKeyBlob(reader: SshReader, type: KeyType): Buffer {
  let fields: Buffer[]
  switch (type) {
    case 'ssh-ed25519':
      fields = [sshString(reader.string('ed25519 public key'))]
      break
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      fields = [sshString(reader.string('curve')), sshString(reader.string('public point'))]
      break
    case 'ssh-rsa':
      fields = ['e', 'n'].map((name) => sshMagnitudeMpint(reader.unsignedMpint(`rsa ${name}`)))
      break
    case 'ssh-dss':
      fields = ['p', 'q', 'g', 'y'].map((name) => sshMagnitudeMpint(reader.unsignedMpint(`dsa ${name}`)))
      break
    case 'sk-ssh-ed25519@openssh.com':
      fields = [sshString(reader.string('ed25519 public key')), sshString(reader.string('application'))]
      break
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      fields = [sshString(reader.string('curve')), sshString(reader.string('public point')), sshString(reader.string('application'))]
      break
  }
  return Buffer.concat([sshString(type), ...fields])
}

/** The FIDO application a security-key CA signs under (PROTOCOL.u2f: the blob's last string); null for other keys. */
function skApplication(key: HostKey): Buffer | null {
  if (!key.type.startsWith('sk-')) return null
  const reader = keyBlobReader(key.blob, 'security key')
  reader.string('key type')
  reader.string(key.type === 'sk-ssh-ed25519@openssh.com' ? 'public key' : 'curve')
  if (key.type !== 'sk-ssh-ed25519@openssh.com') reader.string('public point')
  return reader.string('application')
}

/** The CA's key from the certificate's `signature key` string, and the node:crypto key to verify with. */
function readSigningKey(reader: SshReader): { caKey: HostKey; verifier: KeyObject } {
  const typeName = reader.string('key type')
  const type = typeName.toString('latin1')
  // OpenSSH sshkey_type_is_valid_ca: a certificate cannot sign a certificate.
  if (isCertificateType(type)) throw new KeyBlobError(`certificate signature key is itself a certificate (${type})`)
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new KeyBlobError(`certificate signature key has unsupported key type '${printableBytes(typeName.subarray(0, 64))}'`)
  }
  const plain = plainKeyBlob(reader, type as KeyType)
  reader.expectEnd()
  const caKey = describeAs(plain, 'certificate signature key')
  try {
    // A CA key OpenSSH would not load (an ECDSA point off its curve) makes the certificate malformed.
    return { caKey, verifier: publicKeyObject(caKey.type, caKey.blob) }
  } catch (e) {
    if (e instanceof KeyBlobError) throw new KeyBlobError(`certificate signature key: ${e.message}`, { cause: e })
    throw e
  }
}

/**
 * Parses an OpenSSH certificate blob and checks its CA signature. `key` is the certified plain
 * key. Throws KeyBlobError for anything malformed; a signature that does not verify is
 * `signatureValid: false`.
 */
export function parseCertificate(blob: Buffer): { key: HostKey; certificate: HostCertificate } {
  if (blob.length > MAX_CERTIFICATE_BYTES) {
    throw new KeyBlobError(`certificate is ${blob.length} bytes, more than the ${MAX_CERTIFICATE_BYTES} an SSH packet can carry`)
  }
  const reader = keyBlobReader(blob, 'certificate')
  const typeName = reader.string('key type')
  const certType = typeName.toString('latin1')
  if (!isCertificateType(certType)) {
    throw new KeyBlobError(`'${printableBytes(typeName.subarray(0, 64))}' is not a certificate key type`)
  }
  reader.string('nonce')
  const key = describeAs(plainKeyBlob(reader, plainKeyTypeOf(certType)), 'certified key')
  const serial = reader.uint64('serial').toString()
  const typeValue = reader.uint32('certificate type')
  if (typeValue !== SSH2_CERT_TYPE_USER && typeValue !== SSH2_CERT_TYPE_HOST) {
    throw new KeyBlobError(`certificate type is ${typeValue}, neither user (1) nor host (2)`)
  }
  const keyId = certificateText(reader.string('key id'), 'key id')
  const principals = principalsOf(reader.nested('valid principals'))
  const validAfter = startDate(reader.uint64('valid after'))
  const validBefore = endDate(reader.uint64('valid before'))
  const criticalOptions = optionsOf(reader.nested('critical options'), 'critical options')
  const extensions = optionsOf(reader.nested('extensions'), 'extensions')
  reader.string('reserved')
  const { caKey, verifier } = readSigningKey(reader.nested('signature key'))
  const signedBytes = reader.position
  const signature = reader.string('signature')
  reader.expectEnd()

  const check = verifySshSignature(caKey.type, verifier, signature, blob.subarray(0, signedBytes), skApplication(caKey))
  const certificate: HostCertificate = {
    blob: Buffer.from(blob), // never keep a slice of a socket buffer alive
    certType,
    serial,
    kind: typeValue === SSH2_CERT_TYPE_HOST ? 'host' : 'user',
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    ca: { type: caKey.type, bits: caKey.bits, blob: caKey.blob, sha256: caKey.sha256 },
    signatureAlgorithm: check.algorithm,
    signatureValid: check.valid,
  }
  return { key, certificate }
}

/** The type name a base64 key blob starts with, or null when it does not start with one. */
function blobTypeName(base64: string): string | null {
  try {
    return printableBytes(keyBlobReader(Buffer.from(base64, 'base64'), 'key blob').string('key type'))
  } catch (e) {
    if (e instanceof KeyBlobError) return null
    throw e
  }
}

/** Thrown by parseCaKey: the text is not a CA public key in a form we accept. */
export class CaKeySyntaxError extends Error {
  override name = 'CaKeySyntaxError'
}

const CA_KEY_FORMS = "expected a public key line 'TYPE BASE64 [COMMENT]' or a known_hosts line '@cert-authority PATTERNS TYPE BASE64 [COMMENT]'"

/**
 * A CA's public key from one line: as in its .pub file (`TYPE BASE64 [COMMENT]`), or a known_hosts
 * `@cert-authority PATTERNS TYPE BASE64 [COMMENT]` line, whose patterns are returned too (null for
 * a .pub line). A certificate is not a CA key. Throws CaKeySyntaxError saying what was expected.
 */
export function parseCaKey(text: string): { key: HostKey; comment: string; patterns: string[] | null } {
  const line = text.trim()
  if (line === '' || /[\r\n]/.test(line)) throw new CaKeySyntaxError(`${CA_KEY_FORMS}: got ${line === '' ? 'nothing' : 'several lines'}`)
  const fields = line.split(/[ \t]+/)
  let patterns: string[] | null = null
  if (fields[0]!.startsWith('@')) {
    if (fields[0] !== '@cert-authority') {
      throw new CaKeySyntaxError(`${CA_KEY_FORMS}: the marker is '${printableBytes(Buffer.from(fields[0]!.slice(0, 20)))}'`)
    }
    fields.shift()
    const names = fields.shift()
    if (names === undefined) throw new CaKeySyntaxError(`${CA_KEY_FORMS}: the @cert-authority line has no patterns`)
    if (names.startsWith('|')) {
      throw new CaKeySyntaxError(`${CA_KEY_FORMS}: the patterns are hashed (|1|...); give them in clear text`)
    }
    patterns = names.split(',').filter((name) => name !== '')
    if (patterns.length === 0) throw new CaKeySyntaxError(`${CA_KEY_FORMS}: the @cert-authority line has no patterns`)
  }
  const [type, base64, ...comment] = fields
  if (type === undefined || base64 === undefined) throw new CaKeySyntaxError(`${CA_KEY_FORMS}: the key type or the base64 key is missing`)
  // The blob names its own type (RFC 4253 §6.6): a certificate pasted under its plain type is one too.
  const certificate = [type, blobTypeName(base64)].find((name) => name !== null && isCertificateType(name))
  if (certificate) throw new CaKeySyntaxError(`a certificate (${certificate}) cannot be a CA key; give the CA's plain public key (the .pub of the key given to ssh-keygen -s)`)
  try {
    return { key: parsePublicKeyFields(type, base64), comment: comment.join(' '), patterns }
  } catch (e) {
    if (e instanceof KnownHostsSyntaxError) throw new CaKeySyntaxError(`${CA_KEY_FORMS}: ${e.message}`, { cause: e })
    throw e
  }
}
