// Synthetic RSA moduli for the store benchmark that pass every known-bad key check, batch GCD across
// the whole fleet included, made in about a second for 100,000 hosts. Modulus i is the product of 64
// distinct primes of 33 bits, the primes 64i .. 64i+63 above 2^32 (a segmented sieve finds them):
// every prime is used once, so no two moduli share one; none is below 65,537 (small-factor check);
// 64 factors are nowhere near two close primes (Fermat); the residues are random (ROCA). Such a key is
// not secure (ECM factors 33-bit primes at once), but it is what the checks see in the benchmark:
// a 2049-2051-bit RSA blob judged at the cost of a real one. Genuine two-prime moduli would need
// 200,000 1024-bit primes, hours of OpenSSL here.

const BASE = 2 ** 32
const FACTORS = 64
const SEGMENT = 1 << 22

function smallPrimes(limit) {
  const composite = new Uint8Array(limit + 1)
  const primes = []
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue
    primes.push(i)
    for (let j = i * i; j <= limit; j += i) composite[j] = 1
  }
  return primes
}

/** The first `count` primes above 2^32, as Numbers. */
function primesAboveBase(count) {
  const out = new Float64Array(count)
  let found = 0
  // Factors of a number below 2^32 + 2^31 are at most its square root, under 80,264.
  const base = smallPrimes(80_264)
  const segment = new Uint8Array(SEGMENT)
  for (let low = BASE; found < count; low += SEGMENT) {
    segment.fill(0)
    for (const p of base) {
      let start = Math.ceil(low / p) * p
      for (let j = start - low; j < SEGMENT; j += p) segment[j] = 1
    }
    for (let j = 0; j < SEGMENT && found < count; j++) if (!segment[j]) out[found++] = low + j
  }
  return out
}

/** Modulus i of `count`, as big-endian bytes, for i = 0 .. count-1. */
export function sievedModuli(count) {
  const primes = primesAboveBase(count * FACTORS)
  const moduli = []
  for (let i = 0; i < count; i++) {
    let level = []
    for (let f = 0; f < FACTORS; f++) level.push(BigInt(primes[i * FACTORS + f]))
    while (level.length > 1) {
      const next = []
      for (let k = 0; k < level.length; k += 2) next.push(k + 1 < level.length ? level[k] * level[k + 1] : level[k])
      level = next
    }
    const hex = level[0].toString(16)
    moduli.push(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'))
  }
  return moduli
}
