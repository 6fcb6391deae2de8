import { hash } from 'node:crypto'
import {
  familyOfType,
  KEY_TYPES,
  type HostKey,
  type KeyType,
  type Md5Fingerprint,
  type Sha256Fingerprint,
} from '../host-key.js'
import { SshReader } from '../ssh-wire.js'

/** Thrown when bytes are not a public key blob we understand (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709). */
export class KeyBlobError extends Error {
  override name = 'KeyBlobError'
}

/** A reader over a key blob, certificate or signature whose errors are KeyBlobErrors naming `what`. */
export function keyBlobReader(bytes: Buffer, what: string): SshReader {
  return new SshReader(bytes, what, { error: KeyBlobError })
}

/** Bit length of an unsigned big-endian mpint (leading zero bytes ignored). */
function mpintBits(bytes: Buffer): number {
  let i = 0
  while (i < bytes.length && bytes[i] === 0) i++
  if (i === bytes.length) return 0
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!))
}

const CURVE_BITS: Record<string, number> = { nistp256: 256, nistp384: 384, nistp521: 521 }

/** The key type named inside the blob, and its size in bits (RSA modulus, DSA p, ECDSA curve, 256 for Ed25519). */
export function readKeyTypeAndBits(blob: Buffer): { type: KeyType; bits: number } {
  const reader = keyBlobReader(blob, 'key blob')
  const name = reader.string('key type').toString('latin1')
  if (!(KEY_TYPES as readonly string[]).includes(name)) {
    throw new KeyBlobError(`unsupported key type '${name.slice(0, 40)}'`)
  }
  const type = name as KeyType
  let bits: number
  switch (type) {
    case 'ssh-ed25519': {
      if (reader.string('ed25519 public key').length !== 32) throw new KeyBlobError('ssh-ed25519 key is not 32 bytes')
      bits = 256
      break
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const curve = reader.string('curve').toString('latin1')
      if (`ecdsa-sha2-${curve}` !== type) throw new KeyBlobError(`${type} key names curve '${curve.slice(0, 20)}'`)
      reader.string('public point')
      bits = CURVE_BITS[curve]!
      break
    }
    case 'ssh-rsa': {
      reader.string('rsa e')
      bits = mpintBits(reader.string('rsa n'))
      break
    }
    case 'ssh-dss': {
      bits = mpintBits(reader.string('dsa p'))
      reader.string('dsa q')
      reader.string('dsa g')
      reader.string('dsa y')
      break
    }
    // PROTOCOL.u2f: the key, then the FIDO application string (usually "ssh:").
    case 'sk-ssh-ed25519@openssh.com': {
      if (reader.string('ed25519 public key').length !== 32) throw new KeyBlobError('sk-ssh-ed25519 key is not 32 bytes')
      reader.string('application')
      bits = 256
      break
    }
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const curve = reader.string('curve').toString('latin1')
      if (curve !== 'nistp256') throw new KeyBlobError(`${type} key names curve '${curve.slice(0, 20)}'`)
      reader.string('public point')
      reader.string('application')
      bits = 256
      break
    }
  }
  if (!reader.atEnd()) throw new KeyBlobError(`${type} key blob has ${reader.remaining} trailing bytes`)
  return { type, bits }
}

/** `SHA256:` + unpadded base64, as `ssh-keygen -l -E sha256` prints. */
export function sha256Fingerprint(blob: Buffer): Sha256Fingerprint {
  const b64 = hash('sha256', blob, 'base64').replace(/=+$/, '')
  return `SHA256:${b64}` as Sha256Fingerprint
}

/** `MD5:` + colon hex, as `ssh-keygen -l -E md5` prints. */
export function md5Fingerprint(blob: Buffer): Md5Fingerprint {
  const hex = hash('md5', blob, 'hex')
  return `MD5:${hex.match(/../g)!.join(':')}` as Md5Fingerprint
}

/** Everything we know about a host key from its blob alone. Throws KeyBlobError on a malformed blob. */
export function describeKey(blob: Buffer): HostKey {
  const { type, bits } = readKeyTypeAndBits(blob)
  const copy = Buffer.from(blob) // never keep a slice of a socket buffer alive
  // One-shot crypto.hash (Node 20.12+): no Hash object per digest, four digests per key. SHA-256 is
  // computed once for both of its forms.
  const sha256 = hash('sha256', copy, 'buffer')
  return {
    type,
    family: familyOfType(type),
    bits,
    blob: copy,
    sha256: `SHA256:${sha256.toString('base64').replace(/=+$/, '')}` as Sha256Fingerprint,
    md5: md5Fingerprint(copy),
    sha1Hex: hash('sha1', copy, 'hex'),
    sha256Hex: sha256.toString('hex'),
  }
}

const TYPE_ORDER: Record<KeyType, number> = {
  'ssh-ed25519': 0,
  'ecdsa-sha2-nistp256': 1,
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 3,
  'ssh-rsa': 4,
  'ssh-dss': 5,
  'sk-ssh-ed25519@openssh.com': 6,
  'sk-ecdsa-sha2-nistp256@openssh.com': 7,
}

/** Stable display order: ed25519, ecdsa by curve, rsa, dsa. */
export function compareKeys(a: HostKey, b: HostKey): number {
  return TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || a.sha256.localeCompare(b.sha256)
}
