import { createECDH, generateKeyPairSync, getDiffieHellman, randomBytes } from 'node:crypto'
import { bigintFromMagnitude, sshByte, sshMpint, sshString, sshUint32 } from '../domain/ssh-wire.js'

/* kex method : how a key exchange starts (RFC 4253 §8, RFC 4419, RFC 5656 §4, RFC 8731 §3,
 *              RFC 8268). To learn the host key a client needs only to send its first message;
 *              the server's reply begins with the key (or certificate) and the probe hangs up
 *              there, so no shared secret is ever derived and no signature checked.
 *
 * The client's ephemeral value is made once per group per process and reused by every probe:
 * nothing is ever encrypted with it, so reuse costs no secrecy, and it is what makes a probe cost
 * a socket, two small writes and one parse. Post-quantum hybrids (sntrup761x25519, mlkem768x25519)
 * are not offered: servers fall back to curve25519, which is what makes them cheap for the server
 * too. */

export type KexKind = 'ecdh' | 'dh' | 'gex'

export interface KexMethod {
  readonly name: string
  readonly kind: KexKind
}

/** Every method the probe speaks, cheapest for both ends first. The server picks the first of ours
 * it also has (RFC 4253 §7.1). */
export const KEX_METHODS: readonly KexMethod[] = [
  { name: 'curve25519-sha256', kind: 'ecdh' },
  { name: 'curve25519-sha256@libssh.org', kind: 'ecdh' },
  { name: 'ecdh-sha2-nistp256', kind: 'ecdh' },
  { name: 'ecdh-sha2-nistp384', kind: 'ecdh' },
  { name: 'ecdh-sha2-nistp521', kind: 'ecdh' },
  { name: 'diffie-hellman-group14-sha256', kind: 'dh' },
  { name: 'diffie-hellman-group16-sha512', kind: 'dh' },
  { name: 'diffie-hellman-group18-sha512', kind: 'dh' },
  { name: 'diffie-hellman-group-exchange-sha256', kind: 'gex' },
  { name: 'diffie-hellman-group14-sha1', kind: 'dh' },
  { name: 'diffie-hellman-group1-sha1', kind: 'dh' },
  { name: 'diffie-hellman-group-exchange-sha1', kind: 'gex' },
]

/** The method to use with a server offering `serverKex`: the first of ours it has; null when none. */
export function chooseKex(serverKex: readonly string[]): KexMethod | null {
  return KEX_METHODS.find((method) => serverKex.includes(method.name)) ?? null
}

export const SSH_MSG_KEXDH_INIT = 30 // also SSH_MSG_KEX_ECDH_INIT (RFC 5656 §7.1)
export const SSH_MSG_KEXDH_REPLY = 31 // also SSH_MSG_KEX_ECDH_REPLY
export const SSH_MSG_KEX_DH_GEX_GROUP = 31 // RFC 4419 §5
export const SSH_MSG_KEX_DH_GEX_INIT = 32
export const SSH_MSG_KEX_DH_GEX_REPLY = 33
export const SSH_MSG_KEX_DH_GEX_REQUEST = 34

/** RFC 4419 §3 sizes we ask for: the smallest modern group, so the server's work is least. */
const GEX_MIN_BITS = 2048
const GEX_PREFERRED_BITS = 2048
const GEX_MAX_BITS = 8192
/** Exponent size: OpenSSH uses twice the security bits; 256 bits is more than any group here needs. */
const EXPONENT_BYTES = 32

const cache = new Map<string, Buffer>()
function once(key: string, make: () => Buffer): Buffer {
  let value = cache.get(key)
  if (value === undefined) {
    value = make()
    cache.set(key, value)
  }
  return value
}

/** Left-to-right square-and-multiply; the exponent is 256 bits, so at most 512 multiplications. */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n
  let b = base % modulus
  let e = exponent
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus
    b = (b * b) % modulus
    e >>= 1n
  }
  return result
}

/** g^x mod p for a fresh 256-bit x, valid as OpenSSH's dh_pub_is_valid() wants: 1 < e < p-1 with
 * more than one bit set (a random exponent gives that with overwhelming odds; retried otherwise). */
function dhPublic(p: bigint, g: bigint): bigint {
  for (;;) {
    const e = modPow(g, bigintFromMagnitude(randomBytes(EXPONENT_BYTES)), p)
    if (e > 1n && e < p - 1n && (e & (e - 1n)) !== 0n) return e
  }
}

/** RFC 3526 / RFC 2409 groups, by SSH name; Node knows their primes by their Oakley names. */
const MODP_GROUPS: Record<string, string> = {
  'diffie-hellman-group1-sha1': 'modp2',
  'diffie-hellman-group14-sha1': 'modp14',
  'diffie-hellman-group14-sha256': 'modp14',
  'diffie-hellman-group16-sha512': 'modp16',
  'diffie-hellman-group18-sha512': 'modp18',
}

const CURVES: Record<string, string> = {
  'ecdh-sha2-nistp256': 'prime256v1',
  'ecdh-sha2-nistp384': 'secp384r1',
  'ecdh-sha2-nistp521': 'secp521r1',
}

function x25519Public(): Buffer {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
  return Buffer.from(jwk.x!, 'base64url')
}

/** The client's first key-exchange message for an ECDH or fixed-group method (message 30). */
export function kexInitPayload(method: KexMethod): Buffer {
  return once(method.name, () => {
    if (method.kind === 'ecdh') {
      const q = method.name.startsWith('curve25519') ? once('x25519', x25519Public) : createECDH(CURVES[method.name]!).generateKeys()
      return Buffer.concat([sshByte(SSH_MSG_KEXDH_INIT), sshString(q)])
    }
    if (method.kind === 'dh') {
      const group = MODP_GROUPS[method.name]!
      return once(`group:${group}`, () => {
        const p = bigintFromMagnitude(getDiffieHellman(group).getPrime())
        return Buffer.concat([sshByte(SSH_MSG_KEXDH_INIT), sshMpint(dhPublic(p, 2n))])
      })
    }
    // RFC 4419 §3: the client asks for a group first; the init comes after the server names it.
    return Buffer.concat([sshByte(SSH_MSG_KEX_DH_GEX_REQUEST), sshUint32(GEX_MIN_BITS), sshUint32(GEX_PREFERRED_BITS), sshUint32(GEX_MAX_BITS)])
  })
}

/** Largest group a server may name in its KEX_DH_GEX_GROUP (bytes of p), with slack for old
 * servers that round up. */
export const GEX_MAX_PRIME_BYTES = GEX_MAX_BITS / 8 + 1
/** Distinct groups remembered: a server draws from its moduli file, a few dozen per size. */
const GEX_CACHE_LIMIT = 64
const gexCache = new Map<string, Buffer>()

/** RFC 4419 §3 SSH_MSG_KEX_DH_GEX_INIT for the group the server named; throws RangeError when
 * the group is unusable (generator out of range, prime too small). */
export function gexInitPayload(p: bigint, g: bigint): Buffer {
  if (p < 1n << 1023n) throw new RangeError(`group of ${p.toString(2).length} bits is smaller than 1024 bits`)
  if (g <= 1n || g >= p - 1n) throw new RangeError('generator is out of range')
  const key = `${p.toString(16)}:${g.toString(16)}`
  let payload = gexCache.get(key)
  if (payload === undefined) {
    payload = Buffer.concat([sshByte(SSH_MSG_KEX_DH_GEX_INIT), sshMpint(dhPublic(p, g))])
    if (gexCache.size >= GEX_CACHE_LIMIT) gexCache.delete(gexCache.keys().next().value!)
    gexCache.set(key, payload)
  }
  return payload
}
