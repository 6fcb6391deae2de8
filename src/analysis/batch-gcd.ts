import { bitLength, gcd } from './big-integer.js'
import { HelperThread } from './batch-gcd-thread.js'
import { batchTree, chunkResidues, productModulo, productTree, remaindersDown, scaledBatchGcd } from './remainder-tree.js'

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
 * shares with any other modulus, at quasi-linear cost instead of one gcd per pair. Here the remainder
 * tree is Bernstein's scaled one, multiplications instead of divisions (remainder-tree.ts), and the
 * two halves of the trees run on two threads (batch-gcd-thread.ts). */

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
export function sharedFactors(known: readonly bigint[], fresh: readonly bigint[], options: BatchGcdOptions = {}): SharedFactorsResult {
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
  const found = incremental ? freshAgainstKnown(knownValues, freshValues, options) : fullBatch(knownValues, freshValues, options)

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
function fullBatch(knownValues: readonly bigint[], freshValues: readonly bigint[], options: BatchGcdOptions): Found[] {
  const all = [...freshValues, ...knownValues]
  const divisors = batchGcd(all, options)
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
function freshAgainstKnown(knownValues: readonly bigint[], freshValues: readonly bigint[], options: BatchGcdOptions): Found[] {
  const freshTree = productTree(freshValues)
  const F = freshTree.at(-1)![0]!
  const fBits = bitLength(F)
  const averageBits = Math.max(64, bitLength(knownValues[0]!))
  const chunkSize = Math.max(8, Math.floor(Math.max(fBits, 1 << 16) / averageBits))
  // Half of the chunks in a worker thread when there are many: the chunks are the same either way.
  const parallel = options.workerThread ?? knownValues.length >= PARALLEL_MIN_KNOWN
  const split = parallel ? Math.ceil(knownValues.length / 2 / chunkSize) * chunkSize : knownValues.length
  const helper = split < knownValues.length ? HelperThread.start({ kind: 'residues', values: knownValues.slice(split), chunkSize, modulus: F }) : null
  let residues: bigint[]
  let R: bigint
  try {
    // R = ∏ known mod F: each thread's chunk residues multiplied together modulo F, then the two.
    residues = chunkResidues(helper ? knownValues.slice(0, split) : knownValues, chunkSize, F)
    R = productModulo(residues, F)
    if (helper) {
      const { values, product } = helper.receive('result')
      residues.push(...values)
      R = (R * (product ?? productModulo(values, F))) % F
    }
  } finally {
    helper?.close()
  }
  const chunks = residues.map((residue, i) => ({ start: i * chunkSize, end: Math.min(knownValues.length, (i + 1) * chunkSize), residue }))
  const knownResidues = remaindersDown(freshTree, R)
  const freshDivisors = batchGcd(freshValues, { workerThread: false })
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

/** From this many moduli up, a worker thread takes half of a batch GCD; below, starting one (30 to
 * 500 ms) would cost about what it saves. */
const PARALLEL_MIN_MODULI = 2000

/** From this many known moduli up, a worker thread reduces half of them modulo the fresh product. */
const PARALLEL_MIN_KNOWN = 8192

export interface BatchGcdOptions {
  /** Whether a worker thread takes half of the work; by default when there is enough of it. */
  readonly workerThread?: boolean
  /** Height of the subtrees rebuilt on the way down (remainder-tree.ts SUBTREE_HEIGHT); for tests. */
  readonly subtreeHeight?: number
}

/**
 * For each modulus, the product of the primes it shares with the others: gcd(n_i, P / n_i), 1 for
 * most. Equal moduli must have been removed (each would return itself). Exported for the benchmark.
 *
 * The moduli are cut in two halves A and B with product trees of their own, roots L and R; P = L · R,
 * so each half is a scaled remainder tree started from the other's root (remainder-tree.ts), and the
 * two halves run on two threads. P itself, twice the size of the largest node, is never formed.
 */
export function batchGcd(moduli: readonly bigint[], options: BatchGcdOptions = {}): bigint[] {
  if (moduli.length < 2) return moduli.map(() => 1n)
  const mid = Math.ceil(moduli.length / 2)
  const left = moduli.slice(0, mid)
  const right = moduli.slice(mid)
  const { subtreeHeight } = options
  const helper = (options.workerThread ?? moduli.length >= PARALLEL_MIN_MODULI) ? HelperThread.start({ kind: 'half', moduli: right, subtreeHeight }) : null
  if (!helper) {
    const leftTree = batchTree(left, subtreeHeight)
    const rightTree = batchTree(right, subtreeHeight)
    const [L, R] = [leftTree.root, rightTree.root]
    return [...scaledBatchGcd(leftTree, R), ...scaledBatchGcd(rightTree, L)]
  }
  try {
    const leftTree = batchTree(left, subtreeHeight)
    helper.send(leftTree.root)
    const leftDivisors = scaledBatchGcd(leftTree, helper.receive('root').value)
    return [...leftDivisors, ...helper.receive('result').values]
  } finally {
    helper.close()
  }
}

function describeRefs(refs: readonly ModulusRef[]): string {
  const known = refs.filter((r) => r.set === 'known').length
  const fresh = refs.length - known
  const parts = [known ? `${known} earlier key${known === 1 ? '' : 's'}` : '', fresh ? `${fresh} other new key${fresh === 1 ? '' : 's'}` : '']
  return parts.filter(Boolean).join(' and ') || 'another key'
}
