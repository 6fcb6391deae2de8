import { bitLength, gcd, productOf } from './big-integer.js'

/* shared prime : two RSA moduli n1 = p·q1 and n2 = p·q2 with a prime in common; gcd(n1, n2) = p
 *                factors both, so both private keys are public. Keys made by a random generator
 *                without entropy (embedded devices at first boot) share primes across the Internet:
 *                Heninger, Durumeric, Wustrow, Halderman, "Mining Your Ps and Qs", USENIX Security 2012.
 * duplicate    : the same modulus twice is the same key (a clone, a re-scan), not a shared prime.
 * known, fresh : moduli already checked against each other (earlier scans), and moduli not yet
 *                checked. Only pairs with a fresh modulus in them are looked at.
 *
 * Batch GCD (Bernstein, "How to find smooth parts of integers", 2004; the algorithm of the paper
 * above): a product tree P = n1·n2·…, then a remainder tree down it with P mod n_i², so that
 * z_i = (P mod n_i²) / n_i = (P / n_i) mod n_i and gcd(n_i, z_i) is the product of the primes n_i
 * shares with any other modulus, at quasi-linear cost instead of one gcd per pair. */

/** One of the moduli passed in: `known[index]` or `fresh[index]`. */
export interface ModulusRef {
  readonly set: 'known' | 'fresh'
  readonly index: number
}

/** A fresh modulus that shares a prime with another modulus. */
export interface SharedFactorHit {
  /** Index into `fresh`. */
  readonly fresh: number
  /** A factor of the modulus shared with the moduli in `sharesWith`: a prime, or the whole modulus
   * when both its primes are shared (with different moduli) and no partner's gcd split it. */
  readonly factor: bigint
  /** True when `factor` is a proper divisor: the modulus is factored (its private key is known). */
  readonly split: boolean
  /** Every other modulus, known or fresh, with a prime in common with this one (never the same
   * modulus again: a duplicate is the same key). Both sides of each pair are to be flagged. */
  readonly sharesWith: readonly ModulusRef[]
  readonly detail: string
}

export interface SharedFactorsResult {
  /** Fresh moduli sharing a prime, in `fresh` order; a fresh modulus given twice appears twice. */
  readonly hits: readonly SharedFactorHit[]
  /** Moduli left out of the computation because they repeat one already in (the same key). */
  readonly duplicates: number
  /** 'full': one batch GCD over known and fresh together; 'incremental': fresh against the
   * product of the known moduli reduced modulo the product of the fresh ones. */
  readonly method: 'full' | 'incremental'
}

/** Below this many known moduli per fresh one, one full batch GCD over both is cheaper than
 * reducing the known product modulo the fresh product (whose size grows with `fresh`). */
const INCREMENTAL_MIN_RATIO = 16

/**
 * Which fresh moduli share a prime with a known or another fresh modulus, and with which ones.
 * Near-linear in the number of known moduli when `fresh` is small; a full batch GCD otherwise.
 * Moduli must be positive; duplicates (equal values, in either list) are the same key, not a hit.
 */
export function sharedFactors(known: readonly bigint[], fresh: readonly bigint[]): SharedFactorsResult {
  for (const [name, list] of [['known', known], ['fresh', fresh]] as const) {
    list.forEach((n, i) => {
      if (n <= 1n) throw new RangeError(`sharedFactors: ${name}[${i}] is not a modulus (${n})`)
    })
  }
  // Distinct values, each with every index it was given at.
  const freshIndices = indicesByValue(fresh)
  const knownIndices = indicesByValue(known)
  for (const value of freshIndices.keys()) knownIndices.delete(value)
  const freshValues = [...freshIndices.keys()]
  const knownValues = [...knownIndices.keys()]
  const duplicates = known.length + fresh.length - freshValues.length - knownValues.length
  if (freshValues.length === 0) return { hits: [], duplicates, method: 'incremental' }

  const incremental = knownValues.length >= INCREMENTAL_MIN_RATIO * freshValues.length
  const found = incremental ? freshAgainstKnown(knownValues, freshValues) : fullBatch(knownValues, freshValues)

  const hits: SharedFactorHit[] = []
  for (const { value, factor, partners } of found) {
    const sharesWith: ModulusRef[] = []
    for (const partner of partners) {
      for (const index of knownIndices.get(partner) ?? []) sharesWith.push({ set: 'known', index })
      for (const index of freshIndices.get(partner) ?? []) sharesWith.push({ set: 'fresh', index })
    }
    sharesWith.sort((a, b) => (a.set === b.set ? a.index - b.index : a.set === 'known' ? -1 : 1))
    const split = factor !== value
    const detail = split
      ? `shares a ${bitLength(factor)}-bit prime with ${describeRefs(sharesWith)}: gcd of the two moduli factors both ` +
        `(batch GCD, Heninger et al., USENIX Security 2012)`
      : `both primes of the modulus are shared, with ${describeRefs(sharesWith)}: batch GCD yields the modulus itself, ` +
        `which the plain method cannot split; the key is compromised all the same`
    for (const index of freshIndices.get(value)!) hits.push({ fresh: index, factor, split, sharesWith, detail })
  }
  hits.sort((a, b) => a.fresh - b.fresh)
  return { hits, duplicates, method: incremental ? 'incremental' : 'full' }
}

interface Found {
  /** The fresh modulus. */
  readonly value: bigint
  /** A proper factor when one is known, else the modulus itself. */
  readonly factor: bigint
  /** The moduli (known or fresh values) it shares a prime with. */
  readonly partners: readonly bigint[]
}

function indicesByValue(list: readonly bigint[]): Map<bigint, number[]> {
  const map = new Map<bigint, number[]>()
  list.forEach((value, index) => {
    const indices = map.get(value)
    if (indices) indices.push(index)
    else map.set(value, [index])
  })
  return map
}

/** One batch GCD over the union; then each fresh hit's partners among the other hits (a partner of
 * a hit is a hit itself, so this is a search among few). */
function fullBatch(knownValues: readonly bigint[], freshValues: readonly bigint[]): Found[] {
  const all = [...freshValues, ...knownValues]
  const divisors = batchGcd(all)
  const hitValues = all.filter((_, i) => divisors[i] !== 1n)
  const found: Found[] = []
  for (let i = 0; i < freshValues.length; i++) {
    if (divisors[i] === 1n) continue
    const value = freshValues[i]!
    found.push(partnersAmong(value, divisors[i]!, hitValues))
  }
  return found
}

/** The partners of `value` among `candidates`, and a proper factor of it if any partner yields one. */
function partnersAmong(value: bigint, divisor: bigint, candidates: Iterable<bigint>): Found {
  let factor = divisor
  const partners: bigint[] = []
  for (const other of candidates) {
    if (other === value) continue
    // With a proper factor f known, value = f · (value / f) and a partner is a multiple of either
    // (exact for two-prime moduli, the only kind ssh-keygen and OpenSSL make): one division per
    // candidate instead of one gcd, as a cluster of weak keys can make thousands of hits.
    const shares =
      factor !== value ? other % factor === 0n || other % (value / factor) === 0n : gcd(value, other % value) !== 1n
    if (!shares) continue
    partners.push(other)
    if (factor === value) {
      const g = gcd(value, other % value)
      if (g !== value) factor = g
    }
  }
  return { value, factor, partners }
}

/**
 * Fresh against known without a product tree over the known moduli: the known moduli are multiplied
 * in chunks, each chunk product reduced modulo F = the product of the fresh moduli, and the chunk
 * residues multiplied together modulo F: R = (∏ known) mod F, at a cost linear in the number of
 * known moduli (every operation is on numbers the size of F). Then R mod n_i for each fresh n_i down
 * the fresh product tree; gcd(n_i, R mod n_i) finds primes shared with known moduli, and a batch
 * GCD over the fresh moduli alone finds those shared among them. The chunk residues are kept so that
 * the known partners of a hit are found by testing chunks, then the moduli of the chunks that hit.
 */
function freshAgainstKnown(knownValues: readonly bigint[], freshValues: readonly bigint[]): Found[] {
  const freshTree = productTree(freshValues)
  const F = freshTree.at(-1)![0]!
  const modF = barrettReducer(F)
  const fBits = bitLength(F)
  const averageBits = Math.max(64, bitLength(knownValues[0]!))
  const chunkSize = Math.max(8, Math.floor(Math.max(fBits, 1 << 16) / averageBits))
  const chunks: { start: number; end: number; residue: bigint }[] = []
  for (let start = 0; start < knownValues.length; start += chunkSize) {
    const end = Math.min(knownValues.length, start + chunkSize)
    chunks.push({ start, end, residue: modF(productOf(knownValues.slice(start, end))) })
  }
  // R = ∏ residues mod F, streamed: one multiplication and one reduction per chunk.
  let R = 1n % F
  for (const chunk of chunks) R = modF(R * chunk.residue)
  const knownResidues = remaindersDown(freshTree, R)
  const freshDivisors = freshValues.length > 1 ? batchGcdFromTree(freshTree) : freshValues.map(() => 1n)
  const found: Found[] = []
  const freshHits = freshValues.filter((_, i) => freshDivisors[i] !== 1n)
  for (let i = 0; i < freshValues.length; i++) {
    const value = freshValues[i]!
    const withKnown = gcd(value, knownResidues[i]!)
    if (withKnown === 1n && freshDivisors[i] === 1n) continue
    // A proper factor from either side factors the modulus; with it, partners are multiples of a prime.
    let factor = withKnown !== 1n && withKnown !== value ? withKnown : freshDivisors[i]!
    if (factor === 1n) factor = value
    const partners: bigint[] = []
    if (withKnown !== 1n) {
      for (const chunk of chunks) {
        const r = chunk.residue % value
        if (gcd(value, r) === 1n) continue
        for (let j = chunk.start; j < chunk.end; j++) {
          const other = knownValues[j]!
          const g = gcd(value, other % value)
          if (g === 1n) continue
          partners.push(other)
          if (factor === value && g !== value) factor = g
        }
      }
    }
    if (freshDivisors[i] !== 1n) {
      const among = partnersAmong(value, factor, freshHits)
      factor = among.factor
      partners.push(...among.partners)
    }
    found.push({ value, factor, partners })
  }
  return found
}

/** Levels of a product tree: level 0 the values, each next level the products of pairs, up to a
 * level of `top` nodes or fewer (1: the root). */
function productTree(values: readonly bigint[], top = 1): bigint[][] {
  const levels: bigint[][] = [values.slice()]
  for (let level = levels[0]!; level.length > top; ) {
    const next: bigint[] = new Array(Math.ceil(level.length / 2))
    for (let i = 0; i < level.length; i += 2) next[i >> 1] = i + 1 < level.length ? level[i]! * level[i + 1]! : level[i]!
    levels.push(next)
    level = next
  }
  return levels
}

/** x mod each leaf of the tree, reduced level by level from the root. */
function remaindersDown(tree: readonly bigint[][], x: bigint): bigint[] {
  let remainders = [x % tree.at(-1)![0]!]
  for (let l = tree.length - 2; l >= 0; l--) {
    const level = tree[l]!
    remainders = level.map((node, i) => remainders[i >> 1]! % node)
  }
  return remainders
}

/**
 * x mod m for many x with one m, by Barrett reduction (Menezes et al., Handbook of Applied
 * Cryptography, Algorithm 14.42): for x < 2^2k, k the bit length of m, two multiplications by
 * precomputed numbers replace V8's division, which costs about 4.5 multiplications at these sizes.
 * Larger x fall back to the division.
 */
export function barrettReducer(m: bigint): (x: bigint) => bigint {
  const k = bitLength(m)
  const mu = (1n << BigInt(2 * k)) / m
  const limit = 1n << BigInt(2 * k)
  const down = BigInt(k - 1)
  const up = BigInt(k + 1)
  return (x) => {
    if (x < 0n || x >= limit) return ((x % m) + m) % m
    // q ≤ floor(x / m) ≤ q + 2 (HAC 14.42, note (i)), so at most two corrections.
    let r = x - (((x >> down) * mu) >> up) * m
    while (r >= m) r -= m
    return r
  }
}

/**
 * For each modulus, the product of the primes it shares with the others: gcd(n_i, P / n_i), 1 for
 * most. Equal moduli must have been removed (each would return itself). Exported for the benchmark.
 */
export function batchGcd(moduli: readonly bigint[]): bigint[] {
  if (moduli.length < 2) return moduli.map(() => 1n)
  // The root product is never needed (see batchGcdFromTree): the tree stops at two nodes.
  return batchGcdFromTree(productTree(moduli, 2))
}

/** Guard bits of the scaled remainder tree's fixed-point values, beyond what the error bound needs. */
const GUARD_BITS = 32

/**
 * gcd(n, (P / n) mod n) for each leaf n of a product tree (two leaves at least), by Bernstein's
 * scaled remainder tree ("Scaled remainder trees", 2004): instead of P mod node² at every node (a
 * division per node, each about 4.5 multiplications in V8), each node carries the fraction
 * t = frac(P / node²) in fixed point, and a child's is its parent's times the square of its sibling,
 * truncated: frac(P / c1²) = frac(frac(P / node²) · c2²) as node = c1 · c2. At a leaf,
 * t · n = (P / n) mod n. One multiplication per child instead of a division: measured 2.5 to 3 times
 * faster on 10,000 to 100,000 RSA-2048 moduli. The root's product is never formed: the top two
 * nodes L and R start from frac(P / L²) = (R mod L) / L, the only divisions.
 */
function batchGcdFromTree(tree: readonly bigint[][]): bigint[] {
  const top = tree[tree.length - 1]!.length === 1 ? tree.length - 2 : tree.length - 1
  const [left, right] = tree[top]! as [bigint, bigint]
  // Precision of a node at height h (leaves 0): b = 2·bits(node) + GUARD_BITS + 2h. It covers the
  // child's need, b_c1 + 2·bits(c2) <= b_node, as bits(c1) + bits(c2) <= bits(node) + 1; each
  // truncation adds one unit in the last place, so a leaf's error is under (height + 1) · 2^-b,
  // far below the 1 / (2n) that rounding t · n to the integer (P / n) mod n can afford.
  const precision = (node: bigint, height: number) => 2 * bitLength(node) + GUARD_BITS + 2 * height
  let bits = [precision(left, top), precision(right, top)]
  let fractions = [((right % left) << BigInt(bits[0]!)) / left, ((left % right) << BigInt(bits[1]!)) / right]
  for (let l = top - 1; l >= 0; l--) {
    const level = tree[l]!
    const nextBits: number[] = new Array(level.length)
    const next: bigint[] = new Array(level.length)
    for (let parent = 0; parent < fractions.length; parent++) {
      const t = fractions[parent]!
      const b = bits[parent]!
      const c1 = level[2 * parent]!
      if (2 * parent + 1 >= level.length) {
        // An odd node carried up unchanged: the same fraction, to the precision of the level below.
        nextBits[2 * parent] = precision(c1, l)
        next[2 * parent] = t >> BigInt(b - nextBits[2 * parent]!)
        continue
      }
      const c2 = level[2 * parent + 1]!
      for (const [child, self, sibling] of [[2 * parent, c1, c2], [2 * parent + 1, c2, c1]] as const) {
        const childBits = precision(self, l)
        nextBits[child] = childBits
        next[child] = BigInt.asUintN(b, t * (sibling * sibling)) >> BigInt(b - childBits)
      }
    }
    bits = nextBits
    fractions = next
  }
  return tree[0]!.map((n, i) => {
    const b = BigInt(bits[i]!)
    const z = ((fractions[i]! * n + (1n << (b - 1n))) >> b) % n
    return gcd(n, z)
  })
}

function describeRefs(refs: readonly ModulusRef[]): string {
  const known = refs.filter((r) => r.set === 'known').length
  const fresh = refs.length - known
  const parts = [known ? `${known} earlier key${known === 1 ? '' : 's'}` : '', fresh ? `${fresh} other new key${fresh === 1 ? '' : 's'}` : '']
  return parts.filter(Boolean).join(' and ') || 'another key'
}
