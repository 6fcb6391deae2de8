import { generatePrime } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import path from 'node:path'

/* Genuine 1024-bit primes for the synthetic RSA-2048 moduli of the store benchmark, kept on disk
 * (bench/.cache, git-ignored) because making them is slow: ~55 ms each with OpenSSL on this
 * machine, so the 200,000 a 100,000-host fleet needs take hours the first time. Host i's modulus is
 * prime[2i] · prime[2i+1]: every prime is used once, so the moduli pass every known-bad key check,
 * batch GCD across the whole fleet included. Cheaper constructions were all bad keys: random
 * numbers have small factors and share primes, and a smaller pool of primes shared between moduli
 * is exactly what batch GCD must flag. */

const ROOT = path.resolve(import.meta.dirname, '..')
export const RSA_PRIME_POOL = path.join(ROOT, 'bench/.cache/rsa-primes-1024.bin')
export const RSA_PRIME_BYTES = 128

/** Makes sure the pool holds at least `count` primes, generating the missing ones with OpenSSL on
 * the libuv thread pool (all cores), appending as they come so an interrupted run keeps its work. */
export async function ensureRsaPrimePool(count: number, log: (line: string) => void): Promise<string> {
  mkdirSync(path.dirname(RSA_PRIME_POOL), { recursive: true })
  const have = existsSync(RSA_PRIME_POOL) ? Math.floor(statSync(RSA_PRIME_POOL).size / RSA_PRIME_BYTES) : 0
  if (have >= count) return RSA_PRIME_POOL
  const missing = count - have
  log(`store bench: generating ${missing} 1024-bit primes for the RSA moduli into ${RSA_PRIME_POOL} (once; ${have} cached)`)
  const fd = openSync(RSA_PRIME_POOL, 'a')
  const started = performance.now()
  let made = 0
  try {
    const worker = async () => {
      while (made < missing) {
        made++
        const prime = await new Promise<ArrayBuffer>((resolve, reject) =>
          generatePrime(1024, { safe: false }, (error, p) => (error ? reject(error) : resolve(p))),
        )
        const bytes = Buffer.from(prime)
        if (bytes.length !== RSA_PRIME_BYTES || (bytes[0]! & 0x80) === 0) throw new Error('generatePrime(1024) returned a number not of 1024 bits')
        writeSync(fd, bytes)
        if (made % 5000 === 0) log(`store bench: ${made}/${missing} primes, ${((performance.now() - started) / made).toFixed(1)} ms each`)
      }
    }
    await Promise.all(Array.from({ length: 4 }, worker))
  } finally {
    closeSync(fd)
  }
  log(`store bench: ${missing} primes in ${((performance.now() - started) / 1000).toFixed(0)} s`)
  return RSA_PRIME_POOL
}
