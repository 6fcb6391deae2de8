import assert from 'node:assert/strict'
import { generatePrimeSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { batchGcd, sharedFactors, type ModulusRef, type SharedFactorsResult } from '../../src/analysis/batch-gcd.js'
import { gcd } from '../../src/analysis/big-integer.js'
import { barrettReducer } from '../../src/analysis/remainder-tree.js'

/* Moduli made of 256-bit primes keep the tests fast; the trees do not care about the size. */
const primes = Array.from({ length: 1000 }, () => generatePrimeSync(256, { bigint: true }))
let nextPrime = 0
const prime = () => primes[nextPrime++]!
const modulus = () => prime() * prime()

/** Pairwise gcds: what the batch must agree with, at quadratic cost. */
function bruteForce(known: readonly bigint[], fresh: readonly bigint[]): Map<number, ModulusRef[]> {
  const all: [ModulusRef, bigint][] = [
    ...known.map((n, index): [ModulusRef, bigint] => [{ set: 'known', index }, n]),
    ...fresh.map((n, index): [ModulusRef, bigint] => [{ set: 'fresh', index }, n]),
  ]
  const result = new Map<number, ModulusRef[]>()
  fresh.forEach((n, index) => {
    const partners = all.filter(([ref, m]) => !(ref.set === 'fresh' && ref.index === index) && m !== n && gcd(n, m) !== 1n).map(([ref]) => ref)
    if (partners.length) result.set(index, partners)
  })
  return result
}

function summary(result: SharedFactorsResult): Map<number, ModulusRef[]> {
  return new Map(result.hits.map((h) => [h.fresh, [...h.sharesWith]]))
}

describe('batchGcd', () => {
  it('returns 1 for moduli sharing nothing and the shared prime for those that do', () => {
    const [p, a, b, c] = [prime(), prime(), prime(), prime()]
    const moduli = [modulus(), p * a, modulus(), p * b, modulus(), c * prime()]
    const divisors = batchGcd(moduli)
    assert.deepEqual(divisors, [1n, p, 1n, p, 1n, 1n])
  })

  it('agrees with pairwise gcds on 200 moduli with planted shared primes', () => {
    const moduli = Array.from({ length: 200 }, () => generatePrimeSync(64, { bigint: true }) * generatePrimeSync(64, { bigint: true }))
    const [p, q] = [generatePrimeSync(64, { bigint: true }), generatePrimeSync(64, { bigint: true })]
    moduli[3] = p * generatePrimeSync(64, { bigint: true })
    moduli[150] = p * generatePrimeSync(64, { bigint: true })
    moduli[77] = q * generatePrimeSync(64, { bigint: true })
    moduli[199] = q * moduli[3]! / p
    const unique = [...new Set(moduli)]
    const divisors = batchGcd(unique)
    unique.forEach((n, i) => {
      const expected = unique.reduce((acc, m, j) => (j === i ? acc : acc * gcd(n, m) / gcd(acc, gcd(n, m))), 1n)
      assert.equal(divisors[i], gcd(n, expected === 1n ? 1n : expected), `modulus ${i}`)
    })
  })

  it('agrees with pairwise gcds at every tree shape, with shared primes at the edges of subtrees', () => {
    // The scaled remainder tree starts from the two top nodes and carries odd nodes up unchanged:
    // every count from 2 to 40 covers both, and the planted pairs sit at the first and last leaves
    // and across the middle, where the two top subtrees meet.
    const small = () => generatePrimeSync(48, { bigint: true })
    for (let count = 2; count <= 40; count++) {
      const moduli = Array.from({ length: count }, () => small() * small())
      const p = small()
      moduli[0] = p * small()
      moduli[count - 1] = p * small()
      if (count >= 4) {
        const q = small()
        const half = count >> 1
        moduli[half - 1] = q * small()
        moduli[half] = q * small()
      }
      const unique = [...new Set(moduli)]
      const divisors = batchGcd(unique)
      unique.forEach((n, i) => {
        const expected = unique.reduce((acc, m, j) => (j === i ? acc : acc * gcd(n, m) / gcd(acc, gcd(n, m))), 1n)
        assert.equal(divisors[i], gcd(n, expected), `${count} moduli, modulus ${i}`)
      })
    }
  })

  it('agrees with pairwise gcds when the lower tree is rebuilt one subtree at a time', () => {
    // Large batches keep only the leaves and the levels from the cut up (SUBTREE_HEIGHT): small
    // subtrees here put every count on both sides of the cut, a short last subtree among them, and
    // shared primes inside one subtree, across two and across the halves.
    const small = () => generatePrimeSync(48, { bigint: true })
    for (const subtreeHeight of [1, 2, 3]) {
      for (const count of [3, 5, 8, 9, 16, 17, 23, 33, 40]) {
        const moduli = Array.from({ length: count }, () => small() * small())
        const [p, q, r] = [small(), small(), small()]
        moduli[0] = p * small()
        moduli[count - 1] = p * small()
        moduli[1] = q * small()
        moduli[2] = q * small()
        if (count >= 9) {
          // The last leaf of the first half closes its short last subtree, when it has one.
          moduli[Math.ceil(count / 2) - 1] = r * small()
          moduli[count - 3] = r * small()
          moduli[4] = r * small()
        }
        const unique = [...new Set(moduli)]
        for (const workerThread of [false, true]) {
          const divisors = batchGcd(unique, { subtreeHeight, workerThread })
          unique.forEach((n, i) => {
            const expected = unique.reduce((acc, m, j) => (j === i ? acc : acc * gcd(n, m) / gcd(acc, gcd(n, m))), 1n)
            assert.equal(divisors[i], gcd(n, expected), `${count} moduli, subtrees of height ${subtreeHeight}, modulus ${i}, worker thread ${workerThread}`)
          })
        }
      }
    }
  })

  it('gives the same divisors with half of the work in a worker thread', () => {
    const small = () => generatePrimeSync(48, { bigint: true })
    for (const count of [2, 3, 17, 64]) {
      const moduli = Array.from({ length: count }, () => small() * small())
      const [p, q] = [small(), small()]
      const half = Math.ceil(count / 2)
      // Across the two halves (first and last, last of one and first of the other) and inside one.
      moduli[0] = p * small()
      moduli[count - 1] = p * small()
      if (count >= 4) {
        moduli[half - 1] = q * small()
        moduli[half] = q * small()
      }
      assert.deepEqual(batchGcd(moduli, { workerThread: true }), batchGcd(moduli, { workerThread: false }), `${count} moduli`)
      assert.notEqual(batchGcd(moduli, { workerThread: true })[0], 1n)
    }
  })

  it('throws the worker thread\'s error as an Error', () => {
    // A zero in the worker's half: its remainder tree divides by zero there.
    assert.throws(() => batchGcd([15n, 21n, 35n, 0n], { workerThread: true }), (e: unknown) => e instanceof Error && /worker thread: Division by zero/.test(e.message))
  })

  it('returns the modulus itself when both its primes are shared', () => {
    const [p, q] = [prime(), prime()]
    const divisors = batchGcd([p * prime(), q * prime(), p * q])
    assert.equal(divisors[2], p * q)
  })
})

describe('sharedFactors', () => {
  const shared = prime()
  const known = Array.from({ length: 60 }, modulus)
  known[17] = shared * prime()
  const [p2, q2] = [prime(), prime()]
  known[30] = p2 * prime()
  known[41] = q2 * prime()

  const cases: { name: string; known: bigint[]; fresh: bigint[]; method: 'full' | 'incremental'; duplicates?: number; split?: boolean[] }[] = [
    { name: 'nothing shared', known, fresh: [modulus(), modulus()], method: 'incremental' },
    { name: 'a fresh modulus shares a prime with a known one', known, fresh: [modulus(), shared * prime(), modulus()], method: 'incremental', split: [true] },
    {
      name: 'two fresh moduli share a prime with each other',
      known,
      fresh: ((p) => [p * prime(), modulus(), p * prime()])(prime()),
      method: 'incremental',
      split: [true, true],
    },
    { name: 'both primes shared with two different known moduli: split by a partner', known, fresh: [p2 * q2], method: 'incremental', split: [true] },
    { name: 'everything fresh: full batch GCD', known: [], fresh: [modulus(), shared * prime(), shared * prime(), modulus()], method: 'full', split: [true, true] },
    { name: 'few known: one batch GCD over both', known: known.slice(10, 20), fresh: [shared * prime(), modulus()], method: 'full', split: [true] },
    { name: 'a fresh modulus equal to a known one is the same key', known, fresh: [known[5]!, modulus()], method: 'incremental', duplicates: 1 },
    { name: 'the same fresh modulus twice is one key', known: [], fresh: ((n) => [n, modulus(), n])(modulus()), method: 'full', duplicates: 1 },
    { name: 'duplicates in known are one key', known: [...known, known[17]!], fresh: [shared * prime()], method: 'incremental', duplicates: 1, split: [true] },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const result = sharedFactors(c.known, c.fresh)
      assert.equal(result.method, c.method)
      assert.equal(result.duplicates, c.duplicates ?? 0)
      assert.deepEqual(summary(result), bruteForce(c.known, c.fresh))
      assert.deepEqual(
        result.hits.map((h) => h.split),
        c.split ?? [],
      )
      for (const hit of result.hits) {
        const n = c.fresh[hit.fresh]!
        assert.equal(n % hit.factor, 0n, 'the factor divides the modulus')
        if (hit.split) assert.ok(hit.factor > 1n && hit.factor < n)
        assert.match(hit.detail, hit.split ? /prime/ : /cannot split/)
      }
    })
  }

  it('a fresh modulus given twice is reported at both indices, with the known side of the pair', () => {
    const n = shared * prime()
    const result = sharedFactors(known, [n, modulus(), n])
    assert.deepEqual(
      result.hits.map((h) => [h.fresh, h.sharesWith]),
      [
        [0, [{ set: 'known', index: 17 }]],
        [2, [{ set: 'known', index: 17 }]],
      ],
    )
  })

  it('says so when the plain method cannot split the modulus (gcd = n)', () => {
    // A three-prime modulus containing another whole modulus: every gcd is the smaller modulus.
    const [p, q, r] = [prime(), prime(), prime()]
    const result = sharedFactors([], [p * q, p * q * r])
    const hit = result.hits.find((h) => h.fresh === 0)!
    assert.equal(hit.split, false)
    assert.equal(hit.factor, p * q)
    assert.match(hit.detail, /cannot split/)
  })

  it('incremental and full agree on random sets with planted shares', () => {
    for (let round = 0; round < 3; round++) {
      const base = Array.from({ length: 50 }, modulus)
      const p = prime()
      base[round * 7] = p * prime()
      const fresh = [p * prime(), modulus(), base[round * 11 + 1]!] // the last is a known key seen again
      const incremental = sharedFactors(base, fresh)
      const full = sharedFactors([], [...fresh, ...base])
      assert.equal(incremental.method, 'incremental')
      assert.deepEqual(summary(incremental), bruteForce(base, fresh))
      assert.deepEqual(
        full.hits.filter((h) => h.fresh < fresh.length).map((h) => h.fresh),
        incremental.hits.map((h) => h.fresh),
      )
    }
  })

  it('incremental: partners at the edges of the chunks the known moduli are multiplied in', () => {
    // 256-bit moduli are multiplied 256 to a chunk (2^16 bits); the planted partners sit at the
    // first and last index of chunks and in the last, partial chunk.
    const small = () => generatePrimeSync(128, { bigint: true })
    const base = Array.from({ length: 600 }, () => small() * small())
    const edges = [0, 255, 256, 511, 512, 599]
    const fresh: bigint[] = []
    for (const index of edges) {
      const p = small()
      base[index] = p * small()
      fresh.push(p * small())
    }
    fresh.push(small() * small())
    for (const workerThread of [false, true]) {
      // With a worker thread, it takes the chunks from 256 on: the edge of the split is a chunk edge.
      const result = sharedFactors(base, fresh, { workerThread })
      assert.equal(result.method, 'incremental')
      assert.deepEqual(summary(result), bruteForce(base, fresh))
      assert.deepEqual(
        result.hits.map((h) => h.sharesWith),
        edges.map((index) => [{ set: 'known', index }]),
      )
    }
  })

  it('refuses a number that is not a modulus', () => {
    assert.throws(() => sharedFactors([1n], [modulus()]), /known\[0\]/)
    assert.throws(() => sharedFactors([], [0n]), /fresh\[0\]/)
  })
})

describe('barrettReducer', () => {
  const m = generatePrimeSync(200, { bigint: true }) * generatePrimeSync(190, { bigint: true })
  const k = BigInt(m.toString(2).length)
  const reduce = barrettReducer(m)
  const cases: [string, bigint][] = [
    ['zero', 0n],
    ['below m', m - 1n],
    ['m itself', m],
    ['m squared less one', m * m - 1n],
    ['the largest x for the fast path', (1n << (2n * k)) - 1n],
    ['beyond the fast path', (1n << (2n * k)) + 12345n],
    ['negative', -m - 7n],
    ['a product of two residues', (m - 2n) * (m - 3n)],
  ]
  for (const [name, x] of cases) {
    it(name, () => assert.equal(reduce(x), ((x % m) + m) % m))
  }
  it('agrees with % on random products', () => {
    for (let i = 0; i < 200; i++) {
      const x = (generatePrimeSync(190, { bigint: true }) * BigInt(i + 1) * m + BigInt(i) * 7919n) * generatePrimeSync(150, { bigint: true })
      assert.equal(reduce(x), x % m)
    }
  })
})
