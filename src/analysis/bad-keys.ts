import { checkPrimeSync } from 'node:crypto'
import type { HostKey } from '../domain/host-key.js'
import { KeyBlobError, keyBlobReader } from '../domain/fingerprint/key-blob.js'
import { bigintFromBytes, bitLength, gcd, isqrt, modPow, primesUpTo, productOf } from './big-integer.js'

/* known-bad key : a public key whose private key can be computed from the public key alone, or
 *                 that no honest key generator makes: anyone who reads it from the wire owns it.
 * check         : one published test for such keys, each named after the weakness it finds, as
 *                 badkeys (github.com/badkeys/badkeys, badkeys/checks.py) names its checks.
 * verdict       : the first check a key fails, and how; null when it passes every check.
 *
 * Every check here looks at one key. Two more work on many keys and live in their own modules:
 * shared primes between RSA moduli (batch-gcd.ts) and the blocklists of leaked keys (blocklist.ts). */

/** Bump when a check is added or changed, so verdicts stored with an older version are redone. */
export const BAD_KEY_CHECKS_VERSION = 1

export type BadKeyCheck =
  /** RSA e or n that no valid key has: e < 3, e even, e >= n, n even, n of 512 bits or fewer. */
  | 'rsa-parameters'
  /** An RSA modulus divisible by a prime up to 65537. */
  | 'small-factor'
  /** An RSA modulus whose two primes are so close that Fermat's method factors it. */
  | 'fermat'
  /** An RSA modulus from Infineon's RSALib, CVE-2017-15361. */
  | 'roca'
  /** A DSA key whose domain parameters or public value fail FIPS 186-4's checks. */
  | 'dsa-parameters'
  /** A DSA prime of the sparse form badkeys' dsasparse check looks for. */
  | 'dsa-sparse'
  /** An ECDSA public point OpenSSH would refuse: not on its curve, at infinity, malformed. */
  | 'ecdsa-point'
  /** An Ed25519 public key that is a point of small order. */
  | 'ed25519-small-order'
  /** An RSA modulus sharing a prime with another one: batch-gcd.ts, never checkHostKey. */
  | 'shared-prime'
  /** A key on a blocklist of leaked keys: blocklist.ts, never checkHostKey. */
  | 'blocklist'

export interface BadKeyVerdict {
  readonly check: BadKeyCheck
  /** One sentence for people: what is wrong, and from which source the check comes. */
  readonly detail: string
}

/** The first known weakness of a key, or null. Milliseconds at most: offline, on the blob alone.
 * Throws KeyBlobError if the blob is not a key of `type` (describeKey has accepted every stored one). */
export function checkHostKey(key: Pick<HostKey, 'type' | 'blob'>, options: CheckOptions = {}): BadKeyVerdict | null {
  const reader = keyBlobReader(key.blob, `${key.type} key blob`)
  const name = reader.string('key type').toString('latin1')
  if (name !== key.type) throw new KeyBlobError(`key blob of type '${name.slice(0, 40)}' is not a ${key.type} key`)
  switch (key.type) {
    case 'ssh-rsa': {
      const e = signedMagnitude(reader.string('e'))
      const n = signedMagnitude(reader.string('n'))
      reader.expectEnd()
      return checkRsa(e, n, options.noSmallFactors === true)
    }
    case 'ssh-dss': {
      const p = signedMagnitude(reader.string('p'))
      const q = signedMagnitude(reader.string('q'))
      const g = signedMagnitude(reader.string('g'))
      const y = signedMagnitude(reader.string('y'))
      reader.expectEnd()
      return checkDsa(p, q, g, y)
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const curve = reader.string('curve').toString('latin1')
      const point = reader.string('Q')
      const params = CURVES[curve]
      if (!params) throw new KeyBlobError(`${key.type} key names unknown curve '${curve.slice(0, 20)}'`)
      return checkEcdsaPoint(curve, params, point)
    }
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com': {
      const point = reader.string('public key')
      if (point.length !== 32) throw new KeyBlobError(`${key.type} key is not 32 bytes`)
      return checkEd25519(point)
    }
  }
}

export interface CheckOptions {
  /** The RSA modulus is known to have no prime factor up to 65537 (smallFactorsIn found none). */
  readonly noSmallFactors?: boolean
}

/** An mpint as a BigInt; negative ones (RFC 4251 §5 two's complement, refused by OpenSSH) as -1. */
function signedMagnitude(bytes: Buffer): bigint {
  if (bytes.length > 0 && bytes[0]! & 0x80) return -1n
  return bigintFromBytes(bytes)
}

// ---------------------------------------------------------------------------------------------
// RSA

/** RSA-155 (512 bits) was factored in 1999; Valenta et al., "Factoring as a Service" (FC 2016),
 * factor 512-bit moduli in about 4 hours for about $75 of rented machines. */
const TINY_RSA_BITS = 512

/** badkeys rsakeys/smallfactors.py: MAX_PRIME = 65537, every prime up to it. */
const SMALL_FACTOR_BOUND = 65537
const SMALL_PRIMES = primesUpTo(SMALL_FACTOR_BOUND)
let smallPrimesProduct: bigint | null = null

/** badkeys rsakeys/fermat.py: `tries = 100` steps of a from ceil(sqrt(n)). */
const FERMAT_STEPS = 100

function checkRsa(e: bigint, n: bigint, noSmallFactors: boolean): BadKeyVerdict | null {
  const verdict = (detail: string): BadKeyVerdict => ({ check: 'rsa-parameters', detail })
  if (e < 0n || n < 0n) return verdict(`${e < 0n ? 'e' : 'n'} is a negative mpint, which OpenSSH refuses (RFC 4251 §5)`)
  // badkeys rsakeys/rsainvalid.py: e < 3, e >= n.
  if (e < 3n) return verdict(`the public exponent e is ${e}: with e = 1 the "ciphertext" is the message itself`)
  // phi(n) is even for every n with an odd prime factor, so an even e has no inverse: no private key exists.
  if (e % 2n === 0n) return verdict(`the public exponent e (${shortNumber(e)}) is even, so no private exponent exists for it`)
  if (e >= n) return verdict(`the public exponent e is not smaller than the modulus n`)
  if (n % 2n === 0n) return verdict(`the modulus n is even: 2 is one of its factors`)
  const bits = bitLength(n)
  if (bits <= TINY_RSA_BITS) {
    return verdict(`the modulus has ${bits} bits; 512-bit moduli are factored in hours on rented machines (Valenta et al., FC 2016)`)
  }
  return (noSmallFactors ? null : checkSmallFactors(n)) ?? checkFermat(n) ?? checkRoca(n)
}

/** The small primes in groups whose products stay below 2^50, so a remainder by one is a Number. */
let smallPrimeGroups: { product: bigint; primes: number[] }[] | null = null

/**
 * Whether any of these moduli may have a prime factor up to 65537: false when their product has
 * none (a prime divides the product only if it divides one of them). One product, one division by
 * the small primes' product and ~2,000 word-size remainders for a scan chunk's 1,000 RSA moduli,
 * instead of a division of that product by each modulus and a gcd: the per-key checks of an RSA-2048
 * key went from 0.9-1.1 ms to 0.4-0.55 ms at load 8 (a first scan of 100,000 RSA hosts checks them all).
 */
export function smallFactorsIn(moduli: readonly bigint[]): boolean {
  if (moduli.some((n) => n <= 1n)) return true
  smallPrimesProduct ??= productOf(SMALL_PRIMES.map(BigInt))
  if (smallPrimeGroups === null) {
    smallPrimeGroups = []
    let group: number[] = []
    let product = 1
    for (const p of SMALL_PRIMES) {
      if (product * p >= 2 ** 50) {
        smallPrimeGroups.push({ product: BigInt(product), primes: group })
        group = []
        product = 1
      }
      group.push(p)
      product *= p
    }
    smallPrimeGroups.push({ product: BigInt(product), primes: group })
  }
  const residue = productOf(moduli) % smallPrimesProduct
  return smallPrimeGroups.some(({ product, primes }) => {
    const r = Number(residue % product)
    return primes.some((p) => r % p === 0)
  })
}

function checkSmallFactors(n: bigint): BadKeyVerdict | null {
  smallPrimesProduct ??= productOf(SMALL_PRIMES.map(BigInt))
  const common = gcd(n, smallPrimesProduct % n)
  if (common === 1n) return null
  const factors = SMALL_PRIMES.filter((p) => common % BigInt(p) === 0n)
  const shown = factors.length > 8 ? `${factors.slice(0, 8).join(', ')} and ${factors.length - 8} more` : factors.join(', ')
  return {
    check: 'small-factor',
    detail:
      `the modulus is divisible by ${shown} (primes up to ${SMALL_FACTOR_BOUND}, as badkeys' smallfactors checks); ` +
      `an RSA modulus is the product of two large primes, so the key is corrupt or was made by a broken generator`,
  }
}

/** x is a square mod 64, 63, 65 and 11 (the filter GMP's mpz_perfect_square_p starts with): a
 * non-square passes all four with probability about 1/100, so the exact root is rarely needed. */
const SQUARE_FILTER_MODULUS = 64 * 63 * 65 * 11
const SQUARE_FILTER = (() => {
  const table = new Uint8Array(SQUARE_FILTER_MODULUS)
  for (const m of [64, 63, 65, 11]) {
    const squares = new Uint8Array(m)
    for (let i = 0; i < m; i++) squares[(i * i) % m] = 1
    for (let r = 0; r < SQUARE_FILTER_MODULUS; r++) if (!squares[r % m]) table[r] = 1 // 1: certainly not a square
  }
  return table
})()

/**
 * Fermat's factorisation: n = a² - b² = (a - b)(a + b) for a from ceil(sqrt(n)); it succeeds within
 * k steps when |p - q| is below about sqrt(8k)·n^(1/4), i.e. when the primes share their top half
 * of bits, as Böck found in printers' keys (CVE-2022-26320). The bound is badkeys' 100 steps; each
 * step costs a few additions on doubles, the exact square root only runs on filter survivors.
 */
function checkFermat(n: bigint): BadKeyVerdict | null {
  const root = isqrt(n)
  if (root * root === n) {
    return { check: 'fermat', detail: 'the modulus is a perfect square: p = q, so its square root is the private prime' }
  }
  const a0 = root + 1n
  const b2at0 = a0 * a0 - n
  const m = BigInt(SQUARE_FILTER_MODULUS)
  let residue = Number(b2at0 % m) // (a0 + k)² - n mod M, kept up to date in doubles
  let aResidue = Number(a0 % m)
  for (let k = 0; k <= FERMAT_STEPS; k++) {
    if (!SQUARE_FILTER[residue]) {
      const K = BigInt(k)
      const b2 = b2at0 + 2n * K * a0 + K * K
      const b = isqrt(b2)
      if (b * b === b2) {
        return {
          check: 'fermat',
          detail:
            `Fermat's method factors the modulus after ${k + 1} step${k === 0 ? '' : 's'}: its primes differ by a ` +
            `${bitLength(2n * b)}-bit number out of ${bitLength(n) >> 1} bits (badkeys' fermat check: ${FERMAT_STEPS} steps)`,
        }
      }
    }
    residue = (residue + 2 * aResidue + 1) % SQUARE_FILTER_MODULUS
    aResidue = (aResidue + 1) % SQUARE_FILTER_MODULUS
  }
  return null
}

/* ROCA (CVE-2017-15361; Nemec, Sys, Svenda, Klinec, Matyas, "The Return of Coppersmith's Attack",
 * ACM CCS 2017): Infineon's RSALib made primes p = k·M + (65537^a mod M), M a primorial, so that
 * n = p·q is a power of 65537 modulo every prime dividing M. The fingerprint is that discrete-log
 * test modulo the primorial of the first 39 primes (2..167), which divides M for every key size;
 * ROCA_GENERATOR_ORDER is the order of 65537 in that group. This is the "dlog" detector of the
 * authors' tool (github.com/crocs-muni/roca, roca/detect.py) that badkeys' rsakeys/roca.py reduces
 * to: a random modulus passes with probability ord/phi(M) ~ 2^-155. The authors' older per-prime
 * residue detector also passes moduli that are powers of 65537 modulo each prime but not jointly;
 * their tests list ten such fakes, which this test refuses. */
const ROCA_MODULUS = 0x924cba6ae99dfa084537facc54948df0c23da044d8cabe0edd75bc6n
const ROCA_GENERATOR = 65537n
const ROCA_GENERATOR_ORDER = 2454106387091158800n
/** ROCA_GENERATOR_ORDER = 2^4 · 3^4 · 5^2 · 7 · 11 · 13 · 17 · 23 · 29 · 37 · 41 · 53 · 83. */
const ROCA_ORDER_PRIME_POWERS = [16, 81, 25, 7, 11, 13, 17, 23, 29, 37, 41, 53, 83]
/** Per prime power r^k of the order: the subgroup of order r^k that 65537 generates, as a set. */
const ROCA_SUBGROUPS = ROCA_ORDER_PRIME_POWERS.map((power) => {
  const exponent = ROCA_GENERATOR_ORDER / BigInt(power)
  const g = modPow(ROCA_GENERATOR, exponent, ROCA_MODULUS)
  const members = new Set<bigint>()
  let x = 1n
  for (let i = 0; i < power; i++, x = (x * g) % ROCA_MODULUS) members.add(x)
  return { exponent, members }
})
/** A cheap first filter: the primes of ROCA_MODULUS with the residues of 65537's powers mod each. */
const ROCA_RESIDUE_SETS = primesUpTo(167).map((r) => {
  const powers = new Uint8Array(r)
  for (let x = 1, i = 0; i < r; i++, x = (x * (65537 % r)) % r) powers[x] = 1
  return { r: BigInt(r), powers }
})

function checkRoca(n: bigint): BadKeyVerdict | null {
  const residue = n % ROCA_MODULUS
  // A modulus that is not a power of 65537 mod each small prime fails here, with ~40 small divisions.
  for (const { r, powers } of ROCA_RESIDUE_SETS) if (!powers[Number(residue % r)]) return null
  if (modPow(residue, ROCA_GENERATOR_ORDER, ROCA_MODULUS) !== 1n) return null
  for (const { exponent, members } of ROCA_SUBGROUPS) {
    if (!members.has(modPow(residue, exponent, ROCA_MODULUS))) return null
  }
  return {
    check: 'roca',
    detail:
      'the modulus has the fingerprint of Infineon RSALib keys (ROCA, CVE-2017-15361): its primes can be ' +
      'recovered by Coppersmith\'s method (Nemec et al., CCS 2017); replace the key and update the device firmware',
  }
}

// ---------------------------------------------------------------------------------------------
// DSA

/**
 * FIPS 186-4 §4.1 domain parameters and public key, checked the way its Appendix A.1.1.1 (p, q
 * prime, q | p - 1) and A.2.2 (1 < g < p, g^q = 1 mod p) validate them, and the public value as
 * SP 800-56A §5.6.2.3.1 does (1 < y < p - 1, y^q = 1 mod p). g = 1 or y outside the subgroup lets
 * anyone forge signatures (Vaudenay, "Hidden Collisions on DSS", CRYPTO 1996, for bad g).
 */
function checkDsa(p: bigint, q: bigint, g: bigint, y: bigint): BadKeyVerdict | null {
  const verdict = (detail: string): BadKeyVerdict => ({ check: 'dsa-parameters', detail: `${detail} (FIPS 186-4 §4.1, A.1.1.1, A.2.2)` })
  if (p < 0n || q < 0n || g < 0n || y < 0n) return verdict('a DSA parameter is a negative mpint')
  if (q < 2n || p < 3n || (p - 1n) % q !== 0n) return verdict('q does not divide p - 1')
  if (g <= 1n || g >= p) return verdict(`g is ${g <= 1n ? g : 'not below p'}, outside 1 < g < p`)
  if (y <= 1n || y >= p - 1n) return verdict('the public value y is outside 1 < y < p - 1')
  if (!checkPrimeSync(q)) return verdict('q is not prime')
  if (modPow(g, q, p) !== 1n) return verdict('g does not generate a subgroup of order q (g^q mod p is not 1)')
  if (modPow(y, q, p) !== 1n) return verdict('the public value y is not in the subgroup of order q')
  if (!checkPrimeSync(p)) return verdict('p is not prime')
  if (isSparseDsaPrime(p)) {
    return {
      check: 'dsa-sparse',
      detail: 'the DSA prime p has the sparse bit pattern badkeys\' dsasparse check finds in keys of a broken generator',
    }
  }
  return null
}

/** badkeys dsakeys/dsasparse.py: a 1024-bit p whose top 24 bits are 0x800000 and whose bits from
 * 168 up, read as 32-bit words from the bottom (the top bit cleared), have bits 4..23 of every word
 * zero. */
function isSparseDsaPrime(p: bigint): boolean {
  if (bitLength(p) !== 1024 || p >> 1000n !== 0x800000n) return false
  let high = (p >> 168n) ^ (1n << 855n)
  while (high !== 0n) {
    if ((Number(high & 0xffffffffn) & 0x00fffff0) !== 0) return false
    high >>= 32n
  }
  return true
}

// ---------------------------------------------------------------------------------------------
// ECDSA

interface CurveParameters {
  /** The field prime. */
  readonly p: bigint
  /** b of y² = x³ - 3x + b (a = -3 on every NIST prime curve). */
  readonly b: bigint
  /** Bit length of the group order n. */
  readonly orderBits: number
}

/** FIPS 186-4 Appendix D.1.2 (SEC 2 secp256r1, secp384r1, secp521r1). */
const CURVES: Record<string, CurveParameters> = {
  nistp256: {
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    orderBits: 256,
  },
  nistp384: {
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    orderBits: 384,
  },
  nistp521: {
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    orderBits: 521,
  },
}

/**
 * The checks OpenSSH makes before it uses a peer's ECDSA key (sshbuf_get_eckey: uncompressed SEC 1
 * §2.3.3 encoding only; sshkey.c sshkey_ec_validate_public, after Antipa et al., "Validation of
 * Elliptic Curve Public Keys", PKC 2003): not at infinity, coordinates below p, on the curve, and
 * each coordinate longer than half the order's bits. The curves have cofactor 1, so a point on the
 * curve is in the group of prime order. badkeys checks ECDSA keys only against its blocklist.
 */
function checkEcdsaPoint(curve: string, { p, b, orderBits }: CurveParameters, point: Buffer): BadKeyVerdict | null {
  const verdict = (detail: string): BadKeyVerdict => ({
    check: 'ecdsa-point',
    detail: `${detail}; OpenSSH refuses such a key (sshkey_ec_validate_public)`,
  })
  const size = (bitLength(p) + 7) >> 3
  if (point.length === 1 && point[0] === 0) return verdict(`the ${curve} public point is the point at infinity`)
  if (point.length !== 1 + 2 * size || point[0] !== 4) {
    return verdict(`the ${curve} public point is not an uncompressed point of ${1 + 2 * size} bytes`)
  }
  const x = bigintFromBytes(point.subarray(1, 1 + size))
  const y = bigintFromBytes(point.subarray(1 + size))
  if (x >= p || y >= p) return verdict(`a coordinate of the ${curve} public point is not below the field prime`)
  if ((y * y - (x * x * x - 3n * x + b)) % p !== 0n) return verdict(`the public point is not on ${curve}`)
  if (bitLength(x) <= orderBits >> 1 || bitLength(y) <= orderBits >> 1) {
    return verdict(`a coordinate of the ${curve} public point has half the order's bits or fewer`)
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// Ed25519

const ED25519_P = 2n ** 255n - 19n
/**
 * y coordinates of the eight points of small order (1, 2, 4, 8) on edwards25519: 1 (the neutral
 * point), p - 1 (order 2), 0 (order 4) and the two y of the order-8 points, as libsodium's
 * ge25519_has_small_order lists their encodings. A public key of small order verifies signatures
 * that anyone can make (Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs", SSR 2020). The
 * sign bit is ignored and y is reduced mod p, so non-canonical encodings (y = p, p + 1) count too.
 */
const ED25519_SMALL_ORDER_Y = new Set([
  0n,
  1n,
  ED25519_P - 1n,
  bigintFromBytes(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex').reverse()),
  bigintFromBytes(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex').reverse()),
])

/** RFC 8032 §5.1.2: the key is y in little-endian, its top bit the sign of x. */
function checkEd25519(point: Buffer): BadKeyVerdict | null {
  const littleEndian = Buffer.from(point).reverse()
  littleEndian[0]! &= 0x7f
  const y = bigintFromBytes(littleEndian) % ED25519_P
  if (!ED25519_SMALL_ORDER_Y.has(y)) return null
  return {
    check: 'ed25519-small-order',
    detail: 'the Ed25519 public key is a point of small order, for which signatures can be made without a private key',
  }
}

function shortNumber(value: bigint): string {
  const text = value.toString()
  return text.length > 24 ? `${text.slice(0, 10)}…(${text.length} digits)` : text
}

/** A blob describeKey accepted never fails the checks' parsing; if one does, it is not judged bad. */
export function checkQuietly(key: Pick<HostKey, 'type' | 'blob'>, options: CheckOptions = {}): BadKeyVerdict | null {
  try {
    return checkHostKey(key, options)
  } catch {
    return null
  }
}

/** checkQuietly of each key, the small-factor test of their RSA moduli made for all of them at once
 * (smallFactorsIn); when it finds one, each is tested alone as checkHostKey does. */
export function checkAllQuietly(keys: readonly Pick<HostKey, 'type' | 'blob'>[]): (BadKeyVerdict | null)[] {
  const moduli: bigint[] = []
  try {
    for (const key of keys) if (key.type === 'ssh-rsa') moduli.push(rsaModulus(key.blob))
  } catch {
    moduli.length = 0
  }
  const options = moduli.length > 1 && !smallFactorsIn(moduli) ? { noSmallFactors: true } : {}
  return keys.map((key) => checkQuietly(key, options))
}

/** n of an ssh-rsa blob (RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n). */
export function rsaModulus(blob: Uint8Array): bigint {
  const reader = keyBlobReader(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), 'ssh-rsa key blob')
  reader.string('key type')
  reader.string('e')
  return bigintFromBytes(reader.string('n'))
}
