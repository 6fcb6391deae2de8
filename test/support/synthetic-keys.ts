import { checkPrimeSync, createECDH, createHash } from 'node:crypto'
import { bigintFromBytes, bytesFromBigint, modPow, primesUpTo } from '../../src/analysis/big-integer.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { HostStatus, Observation } from '../../src/domain/observation.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { sshMagnitudeMpint, sshString } from '../../src/domain/ssh-wire.js'

/* Public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709) made from a seed: distinct seeds give
 * distinct keys, the same seed the same key. They are honest keys, so that the known-bad key checks
 * (src/analysis/bad-keys.ts, batch-gcd.ts) pass them: an RSA modulus is the product of two primes
 * found from the seed (memoised; a new RSA-3072 key takes about a second), an ECDSA point is the public point of
 * a private scalar derived from the seed, a DSA key uses fixed valid domain parameters with
 * y = g^x mod p. Nobody holds their private keys; the store and analysis only ever look at blobs. */

function bytesFrom(seed: string, length: number): Buffer {
  const out: Buffer[] = []
  for (let i = 0; out.length * 32 < length; i++) out.push(createHash('sha256').update(`${seed}/${i}`).digest())
  return Buffer.concat(out).subarray(0, length)
}

const SIEVE_PRIMES = primesUpTo(20_000).slice(1)

/** The first prime at or above a `bits`-bit number taken from the seed (top two bits set, so that
 * the product of two has exactly twice the bits), usable with e = 65537. Candidates with a factor
 * below 20,000 are skipped by residues kept in doubles, so OpenSSL's test runs on few of them. */
function primeFrom(seed: string, bits: number): bigint {
  const bytes = bytesFrom(seed, bits / 8)
  bytes[0] = bytes[0]! | 0xc0
  const start = bigintFromBytes(bytes) | 1n
  const residues = SIEVE_PRIMES.map((p) => Number(start % BigInt(p)))
  for (let step = 0; ; step += 2) {
    if (residues.every((r, i) => (r + step) % SIEVE_PRIMES[i]! !== 0)) {
      const candidate = start + BigInt(step)
      if ((candidate - 1n) % 65537n !== 0n && checkPrimeSync(candidate)) return candidate
    }
  }
}

const moduli = new Map<string, bigint>()
/** An RSA modulus of `bits` bits (a multiple of 16): two distinct primes derived from the seed. */
function rsaModulus(seed: string, bits: number): bigint {
  const key = `${bits}/${seed}`
  let n = moduli.get(key)
  if (n === undefined) {
    n = primeFrom(`${seed}/p`, bits / 2) * primeFrom(`${seed}/q`, bits / 2)
    moduli.set(key, n)
  }
  return n
}

/** A public point of a NIST curve: the ECDH public key (uncompressed) of a scalar from the seed. */
function ecdsaPoint(seed: string, curve: 'prime256v1' | 'secp384r1'): Buffer {
  const ecdh = createECDH(curve)
  const size = curve === 'prime256v1' ? 32 : 48
  for (let i = 0; ; i++) {
    try {
      ecdh.setPrivateKey(bytesFrom(`${seed}/ecdsa/${i}`, size))
      return ecdh.getPublicKey()
    } catch {
      // The scalar was not below the group order (probability ~2^-32 on P-256): take the next one.
    }
  }
}

/* FIPS 186-4 DSA domain parameters (1024-bit p, 160-bit q) that node:crypto generated once. */
const DSA_P = 0x8eb0b76c231c23018fce62d85908c70fdb0ad66e8265d643b747377a3ffbee126b5f41eb1529897c809ceadbce222c5b3058e167dc0ad4783f58c4b16023b984272d573bce76ed5d3cceb7d457f0712d98f640fcb83987d21ba6dd76b5a25961f5e7b0bac6236123ead54089f48b381b2f767e88326656d0e918086d0d9556c9n
const DSA_Q = 0xf1b21b010a94afdf89dc26a64970bab01e43625dn
const DSA_G = 0x6bad8e07cb1bfb96686a80eeffaddb38a3819ce5eaf6fd770fc054f35dfa865d0a1da8313ce582c4d113c71f40649ac81f05a1d931141e440ef528dd16d0975ba8ecc7c226762e73e89ce67d9a7fac861dc81a4b1e8e5d44ace90fe97d8e8368700da55736cde636efe1ab197446b5ff7693f51dba700c30ba2f872e02c11aa3n

const mpint = (value: bigint) => sshMagnitudeMpint(bytesFromBigint(value))

export type SyntheticType = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'rsa' | 'dsa'

export function syntheticBlob(type: SyntheticType, seed: string, bits = 3072): Buffer {
  const s = (text: string) => sshString(Buffer.from(text))
  switch (type) {
    case 'ed25519':
      return Buffer.concat([s('ssh-ed25519'), sshString(bytesFrom(seed, 32))])
    case 'ecdsa256':
    case 'ecdsa384': {
      const curve = type === 'ecdsa256' ? 'nistp256' : 'nistp384'
      return Buffer.concat([s(`ecdsa-sha2-${curve}`), s(curve), sshString(ecdsaPoint(seed, type === 'ecdsa256' ? 'prime256v1' : 'secp384r1'))])
    }
    case 'rsa':
      return Buffer.concat([s('ssh-rsa'), sshString(Buffer.from([1, 0, 1])), mpint(rsaModulus(seed, bits))])
    case 'dsa': {
      const x = (bigintFromBytes(bytesFrom(`${seed}/x`, 20)) % (DSA_Q - 2n)) + 2n
      return Buffer.concat([s('ssh-dss'), mpint(DSA_P), mpint(DSA_Q), mpint(DSA_G), mpint(modPow(DSA_G, x, DSA_P))])
    }
  }
}

export function syntheticKey(type: SyntheticType, seed: string, bits?: number): HostKey {
  return describeKey(syntheticBlob(type, seed, bits))
}

const addresses = new Map<string, string>()

/** A TEST-NET-1 address of its own for each host name. */
function syntheticAddress(host: string): string {
  let address = addresses.get(host)
  if (!address) addresses.set(host, (address = `192.0.2.${(addresses.size % 254) + 1}`))
  return address
}

export function observationOf(
  host: string,
  keys: readonly HostKey[],
  options: { status?: HostStatus; address?: string; port?: number; aliases?: string[]; at?: Date } = {},
): Observation {
  const status = options.status ?? 'ok'
  return {
    target: {
      host,
      address: options.address ?? host,
      port: options.port ?? 22,
      aliases: options.aliases ?? [],
      source: 'test',
    },
    // One documentation address per host name (never connected to): different hosts are different
    // servers unless a test puts them on one address.
    address: options.address ?? syntheticAddress(host),
    status,
    error: status === 'ok' ? null : 'synthetic failure',
    banner: status === 'ok' ? 'SSH-2.0-OpenSSH_9.2p1' : null,
    offered: null,
    keys: status === 'ok' ? keys : [],
    failedFamilies: [],
    connections: 1,
    startedAt: options.at ?? new Date(),
    durationMs: 1,
  }
}
