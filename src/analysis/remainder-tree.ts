import { bitLength, gcd, productOf } from './big-integer.js'

/* product tree   : level 0 the numbers, each next level the products of pairs (an odd last node is
 *                  carried up unchanged), up to the root, their product.
 * remainder tree : a number reduced modulo every node, from the root down to the leaves.
 * scaled         : the remainder tree carried as fractions frac(x / node) in fixed point, so that
 *                  going down is a multiplication and a truncation, not a division (Bernstein,
 *                  "Scaled remainder trees", 2004).
 * The arithmetic of batch-gcd.ts, apart so that a worker thread (batch-gcd-worker.ts) can run half. */

/** Levels of a product tree, up to a level of `top` nodes or fewer (1: the root). */
export function productTree(values: readonly bigint[], top = 1): bigint[][] {
  const levels: bigint[][] = [values.slice()]
  for (let level = levels[0]!; level.length > top; ) {
    level = pairProducts(level)
    levels.push(level)
  }
  return levels
}

/** The products of pairs of `level`, an odd last node carried up unchanged. */
function pairProducts(level: readonly bigint[]): bigint[] {
  const next: bigint[] = new Array(Math.ceil(level.length / 2))
  for (let i = 0; i < level.length; i += 2) next[i >> 1] = i + 1 < level.length ? level[i]! * level[i + 1]! : level[i]!
  return next
}

/** x mod each leaf of the tree, reduced level by level from the root. */
export function remaindersDown(tree: readonly bigint[][], x: bigint): bigint[] {
  let remainders = [x % tree.at(-1)![0]!]
  for (let l = tree.length - 2; l >= 0; l--) {
    const level = tree[l]!
    remainders = level.map((node, i) => remainders[i >> 1]! % node)
  }
  return remainders
}

/** Guard bits of the scaled remainder tree's fixed-point values, beyond what the error bound needs. */
const GUARD_BITS = 32

/** The level from which a batch GCD's product tree is kept whole: below it, each subtree of
 * 2^SUBTREE_HEIGHT leaves is rebuilt from its leaves when the remainder tree reaches it. */
export const SUBTREE_HEIGHT = 10

/**
 * The product tree of a batch GCD: its leaves, and its levels from `cut` up to the root. The levels
 * in between (half of the tree's memory at 50,000 moduli: every level weighs as much as the leaves)
 * are rebuilt one subtree of 2^cut leaves at a time on the way down, for ~2% more multiplication
 * (the lower levels are the cheap ones).
 */
export interface BatchTree {
  readonly leaves: readonly bigint[]
  /** Height of the lowest kept level above the leaves. */
  readonly cut: number
  /** levels[l] for l >= cut, and the leaves at 0; empty arrays in between. Consumed on the way down. */
  readonly levels: bigint[][]
  readonly root: bigint
}

export function batchTree(leaves: readonly bigint[], subtreeHeight = SUBTREE_HEIGHT): BatchTree {
  if (leaves.length === 0) throw new RangeError('batchTree: no leaves')
  // A tree no higher than a subtree is kept whole (cut 0).
  const cut = leaves.length > 2 ** subtreeHeight ? subtreeHeight : 0
  const levels: bigint[][] = [leaves.slice()]
  for (let level = levels[0]!; level.length > 1; ) {
    level = pairProducts(level)
    // A level under the cut is only a step to the next one (the leaves stay).
    if (levels.length - 1 < cut && levels.length > 1) levels[levels.length - 1] = []
    levels.push(level)
  }
  return { leaves: levels[0]!, cut, levels, root: levels.at(-1)![0]! }
}

/**
 * gcd(n, (P / n) mod n) for each leaf n of `tree` (a product tree up to its root Q), where
 * P = Q · other: the batch GCD of the leaves against each other and against the moduli whose
 * product is `other` (1 for none).
 *
 * Scaled remainder tree: instead of P mod node² at every node (a division per node, each about 4.5
 * multiplications in V8), each node carries t = frac(P / node²) in fixed point, and a child's is its
 * parent's times the square of its sibling, truncated: frac(P / c1²) = frac(frac(P / node²) · c2²) as
 * node = c1 · c2. At a leaf, t · n = (P / n) mod n. The root starts from frac(P / Q²) = (other mod Q) / Q,
 * the only division. `tree` is consumed: its levels are dropped on the way down, to free memory; below
 * its cut, one subtree at a time is rebuilt and gone down depth first.
 */
export function scaledBatchGcd(tree: BatchTree, other: bigint): bigint[] {
  const { leaves, cut, levels } = tree
  const top = levels.length - 1
  let leafBits = Infinity
  for (const n of leaves) leafBits = Math.min(leafBits, bitLength(n))
  // Precision of a node at height h (leaves 0): b = 2·bits(node) - leafBits + GUARD_BITS + 2h. It
  // covers a child's need, b_c1 + 2·bits(c2) <= b_node, as bits(c1) + bits(c2) <= bits(node) + 1,
  // and at a leaf b >= bits(n) + GUARD_BITS. Each truncation adds at most one unit in the last place,
  // so a leaf's error is under (height + 1) · 2^-b, far below the 1 / (2n) that rounding t · n to the
  // integer (P / n) mod n can afford.
  const precision = (node: bigint, height: number) => 2 * bitLength(node) - leafBits + GUARD_BITS + 2 * height
  const rootBits = precision(tree.root, top)
  let state: Fractions = { values: [((other % tree.root) << BigInt(rootBits)) / tree.root], bits: [rootBits] }
  if (cut === 0) return leafDivisors(leaves, descend(levels, state, 0, precision))

  state = descend(levels, state, cut, precision)
  const divisors: bigint[] = []
  const width = 2 ** cut
  for (let j = 0; j < state.values.length; j++) {
    const sub = productTree(leaves.slice(j * width, (j + 1) * width))
    // A short last subtree was carried up unchanged from its own top to the cut: the same fraction,
    // to the precision of its own height.
    const height = sub.length - 1
    const b = state.bits[j]!
    const bits = precision(sub[height]![0]!, height)
    const start: Fractions = { values: [state.values[j]! >> BigInt(b - bits)], bits: [bits] }
    state.values[j] = 0n
    for (const d of leafDivisors(sub[0]!, descend(sub, start, 0, precision))) divisors.push(d)
  }
  return divisors
}

/** Fixed-point fractions of a level's nodes, each with its precision in bits. */
interface Fractions {
  readonly values: bigint[]
  readonly bits: number[]
}

/** The fractions of the nodes of level `to`, from those of the top level of `levels`; the levels
 * above `to` are dropped as they are passed. */
function descend(levels: bigint[][], from: Fractions, to: number, precision: (node: bigint, height: number) => number): Fractions {
  let { values: fractions, bits } = from
  for (let l = levels.length - 2; l >= to; l--) {
    const level = levels[l]!
    levels.length = l + 1 // the level above is no longer needed
    const nextBits: number[] = new Array(level.length)
    const next: bigint[] = new Array(level.length)
    for (let parent = 0; parent < fractions.length; parent++) {
      const t = fractions[parent]!
      const b = bits[parent]!
      fractions[parent] = 0n
      const c1 = level[2 * parent]!
      if (2 * parent + 1 >= level.length) {
        // An odd node carried up unchanged: the same fraction, to the precision of the level below.
        nextBits[2 * parent] = precision(c1, l)
        next[2 * parent] = t >> BigInt(b - nextBits[2 * parent]!)
        continue
      }
      const c2 = level[2 * parent + 1]!
      for (const [child, self, sibling] of [
        [2 * parent, c1, c2],
        [2 * parent + 1, c2, c1],
      ] as const) {
        const childBits = precision(self, l)
        nextBits[child] = childBits
        next[child] = BigInt.asUintN(b, t * (sibling * sibling)) >> BigInt(b - childBits)
      }
    }
    bits = nextBits
    fractions = next
  }
  return { values: fractions, bits }
}

/** gcd(n, (P / n) mod n) for each leaf n, from its fraction t = frac(P / n²): (P / n) mod n = round(t · n). */
function leafDivisors(leaves: readonly bigint[], { values, bits }: Fractions): bigint[] {
  return leaves.map((n, i) => {
    const b = BigInt(bits[i]!)
    const z = ((values[i]! * n + (1n << (b - 1n))) >> b) % n
    return gcd(n, z)
  })
}

/**
 * x mod m for many x with one m, by Barrett reduction (Menezes et al., Handbook of Applied
 * Cryptography, Algorithm 14.42): for 0 <= x < 2^2k, k the bit length of m, two multiplications by
 * precomputed numbers replace V8's division, which costs 3 to 4.5 multiplications at these sizes.
 * Other x fall back to the division.
 */
export function barrettReducer(m: bigint): (x: bigint) => bigint {
  const k = bitLength(m)
  const mu = (1n << BigInt(2 * k)) / m
  const limit = 1n << BigInt(2 * k)
  const down = BigInt(k - 1)
  const up = BigInt(k + 1)
  return (x) => {
    if (x < 0n || x >= limit) return ((x % m) + m) % m
    // q <= floor(x / m) <= q + 2 (HAC 14.42, note (i)), so at most two corrections.
    let r = x - (((x >> down) * mu) >> up) * m
    while (r >= m) r -= m
    return r
  }
}

/** The products of `values` taken `chunkSize` at a time, each reduced modulo m. */
export function chunkResidues(values: readonly bigint[], chunkSize: number, m: bigint): bigint[] {
  const reduce = barrettReducer(m)
  // A chunk product hardly larger than m has a quotient of a few bits, which V8's division finds in
  // about the time of a subtraction; Barrett's two multiplications would cost more there.
  const nearM = m << 64n
  const residues: bigint[] = []
  for (let start = 0; start < values.length; start += chunkSize) {
    const product = productOf(values.slice(start, start + chunkSize))
    residues.push(product < nearM ? product % m : reduce(product))
  }
  return residues
}

/** ∏ values mod m, streamed: one multiplication and one Barrett reduction per value (each below m). */
export function productModulo(values: readonly bigint[], m: bigint): bigint {
  const reduce = barrettReducer(m)
  let product = 1n % m
  for (const value of values) product = reduce(product * value)
  return product
}
