// Synthetic RSA moduli for the store benchmark that pass every known-bad key check, batch GCD across
// the whole fleet included, made in about a second for 100,000 hosts. Modulus i is the product of 64
// distinct primes of 33 bits, the primes 64i .. 64i+63 above 2^32 (a segmented sieve finds them):
// every prime is used once, so no two moduli share one; none is below 65,537 (small-factor check);
// 64 factors are nowhere near two close primes (Fermat); the residues are random (ROCA). Such a key is
// not secure (ECM factors 33-bit primes at once), but it is what the checks see in the benchmark:
// a 2049-bit RSA blob judged at the cost of a real one. Genuine two-prime moduli would need 200,000
// 1024-bit primes, hours of OpenSSL here. Made in order, a sieve segment at a time, so the benchmark's
// process holds one 4 MB segment, not all 6.4 million primes.

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

/** The primes above 2^32, in order, as Numbers. */
function* primesAboveBase() {
  // Factors of a number below 2^32 + 2^31 are at most its square root, under 80,264.
  const base = smallPrimes(80_264)
  const segment = new Uint8Array(SEGMENT)
  for (let low = BASE; ; low += SEGMENT) {
    segment.fill(0)
    for (const p of base) {
      for (let j = Math.ceil(low / p) * p - low; j < SEGMENT; j += p) segment[j] = 1
    }
    for (let j = 0; j < SEGMENT; j++) if (!segment[j]) yield low + j
  }
}

function product(values) {
  let level = values
  while (level.length > 1) {
    const next = []
    for (let k = 0; k < level.length; k += 2) next.push(k + 1 < level.length ? level[k] * level[k + 1] : level[k])
    level = next
  }
  return level[0]
}

/** Moduli 0, 1, 2, … as big-endian bytes, made as they are taken. */
export function* sievedModuliInOrder() {
  const primes = primesAboveBase()
  for (;;) {
    const factors = []
    for (let f = 0; f < FACTORS; f++) factors.push(BigInt(primes.next().value))
    const hex = product(factors).toString(16)
    yield Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
  }
}

/** The first `count` moduli. */
export function sievedModuli(count) {
  const moduli = []
  for (const modulus of sievedModuliInOrder()) {
    if (moduli.length === count) break
    moduli.push(modulus)
  }
  return moduli
}
