import { checkPrimeSync, createPrivateKey, generatePrimeSync, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { bigintFromBytes, bitLength, bytesFromBigint, modPow, primesUpTo } from '../../src/analysis/big-integer.js'
import { sshString, sshMagnitudeMpint } from '../../src/domain/ssh-wire.js'
import { keyFile } from './sshd.js'

/* RSA keys made from primes a test chooses, so that a real sshd serves a modulus with a known
 * weakness: close primes (Fermat), a prime two keys share (batch GCD), primes of Infineon's ROCA
 * form. The private key is PKCS#1 PEM written by node:crypto from a JWK, which OpenSSH's sshd loads
 * as a HostKey (OpenSSL reads PEM RSA keys; OpenSSH only refuses moduli under 1024 bits). */

export const RSA_PUBLIC_EXPONENT = 65537n

export interface RsaFromPrimes {
  readonly n: bigint
  readonly e: bigint
  /** PKCS#1 `-----BEGIN RSA PRIVATE KEY-----`, for sshd_config HostKey (mode 0600). */
  readonly privateKeyPem: string
  /** The SSH public key blob (RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n). */
  readonly blob: Buffer
}

const base64url = (value: bigint) => bytesFromBigint(value).toString('base64url')

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m]
  let [oldS, s] = [1n, 0n]
  while (r !== 0n) {
    const q = oldR / r
    ;[oldR, r] = [r, oldR - q * r]
    ;[oldS, s] = [s, oldS - q * s]
  }
  if (oldR !== 1n) throw new Error('modInverse: not invertible')
  return ((oldS % m) + m) % m
}

/** The SSH blob of an RSA public key. */
export function rsaPublicBlob(n: bigint, e = RSA_PUBLIC_EXPONENT): Buffer {
  return Buffer.concat([sshString('ssh-rsa'), sshMagnitudeMpint(bytesFromBigint(e)), sshMagnitudeMpint(bytesFromBigint(n))])
}

/** The RSA key with primes p and q (distinct, both prime, e invertible mod lcm(p-1, q-1)). */
export function rsaFromPrimes(p: bigint, q: bigint, e = RSA_PUBLIC_EXPONENT): RsaFromPrimes {
  if (p === q) throw new Error('rsaFromPrimes: p and q must differ')
  if (p < q) [p, q] = [q, p]
  const n = p * q
  const lambda = ((p - 1n) * (q - 1n)) / gcdSmall(p - 1n, q - 1n)
  const d = modInverse(e, lambda)
  const jwk = {
    kty: 'RSA',
    n: base64url(n),
    e: base64url(e),
    d: base64url(d),
    p: base64url(p),
    q: base64url(q),
    dp: base64url(d % (p - 1n)),
    dq: base64url(d % (q - 1n)),
    qi: base64url(modInverse(q, p)),
  }
  const privateKeyPem = createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs1', format: 'pem' }).toString()
  return { n, e, privateKeyPem, blob: rsaPublicBlob(n, e) }
}

function gcdSmall(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** A random prime of exactly `bits` bits, with p - 1 prime to 65537 so it can be an RSA prime. */
export function randomPrime(bits: number): bigint {
  for (;;) {
    const p = generatePrimeSync(bits, { bigint: true })
    if ((p - 1n) % RSA_PUBLIC_EXPONENT !== 0n) return p
  }
}

/** The first prime at or above `start` usable with e = 65537. */
export function nextPrime(start: bigint): bigint {
  let candidate = start % 2n === 0n ? start + 1n : start
  while (!checkPrimeSync(candidate) || (candidate - 1n) % RSA_PUBLIC_EXPONENT === 0n) candidate += 2n
  return candidate
}

/** Two primes of `bits` bits that differ by less than 2^gapBits: Fermat's method factors their
 * product in one step when gapBits is well under bits/2 (an RSA-2048 key: gap under ~2^500). */
export function closePrimes(bits: number, gapBits = 64): [bigint, bigint] {
  const p = randomPrime(bits)
  const gap = bigintFromBytes(randomBytes(Math.ceil(gapBits / 8))) >> BigInt(8 * Math.ceil(gapBits / 8) - gapBits)
  const q = nextPrime(p + gap + 2n)
  if (bitLength(q) !== bits) return closePrimes(bits, gapBits)
  return [p, q]
}

/** Two RSA keys of `bits` bits that share one prime. */
export function keysSharingAPrime(bits: number): [RsaFromPrimes, RsaFromPrimes] {
  const shared = randomPrime(bits / 2)
  return [rsaFromPrimes(shared, randomPrime(bits / 2)), rsaFromPrimes(shared, randomPrime(bits / 2))]
}

/** The number of the first primes whose product M RSALib used for primes of a key size (Nemec et
 * al., CCS 2017, Table 1: keys of 512-960 bits 39 primes, 992-1952: 71, 1984-3936: 126, 3968-4096: 225). */
function rocaPrimeCount(keyBits: number): number {
  if (keyBits <= 960) return 39
  if (keyBits <= 1952) return 71
  if (keyBits <= 3936) return 126
  return 225
}

/**
 * A prime of RSALib's vulnerable form p = k·M + (65537^a mod M) (ROCA, CVE-2017-15361), M the
 * product of the first primes for this key size, k and a random; half of a `keyBits` modulus.
 */
export function rocaPrime(keyBits: number): bigint {
  const primeBits = keyBits / 2
  const M = primesUpTo(2000)
    .slice(0, rocaPrimeCount(keyBits))
    .reduce((product, r) => product * BigInt(r), 1n)
  const kBits = primeBits - bitLength(M)
  for (;;) {
    const a = bigintFromBytes(randomBytes(8))
    const k = bigintFromBytes(randomBytes(Math.ceil(kBits / 8))) >> BigInt(8 * Math.ceil(kBits / 8) - kBits)
    const p = (k | (1n << BigInt(kBits - 1))) * M + modPow(65537n, a, M)
    if (bitLength(p) === primeBits && (p - 1n) % RSA_PUBLIC_EXPONENT !== 0n && checkPrimeSync(p)) return p
  }
}

/** An RSA key of `keyBits` bits whose both primes have the ROCA form. */
export function rocaKey(keyBits: number): RsaFromPrimes {
  const p = rocaPrime(keyBits)
  let q = rocaPrime(keyBits)
  while (q === p) q = rocaPrime(keyBits)
  return rsaFromPrimes(p, q)
}

/** A key directory `parent/name` whose RSA host key is `key`: the sshd harness serves the keys it finds there. */
export function rsaKeyDir(parent: string, name: string, key: RsaFromPrimes): string {
  const dir = path.join(parent, name)
  const file = keyFile(dir, 'rsa')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(file, key.privateKeyPem, { mode: 0o600 })
  writeFileSync(`${file}.pub`, `ssh-rsa ${key.blob.toString('base64')} ${name}\n`)
  return dir
}
