import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { generatePrimeSync } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { gcd } from '../../src/analysis/big-integer.js'

/* The batch GCD worker thread as it runs outside tsx: from the tsc output (dist/analysis) and from
 * the esbuild bundle the CLI runs (dist/bundle/batch-gcd-worker.js), each in a plain `node` process
 * of its own, which must also exit by itself afterwards (the worker must not keep it alive).
 * `npm run build` first. */

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url))
const built = existsSync(`${DIST}analysis/batch-gcd-worker.js`) && existsSync(`${DIST}bundle/batch-gcd-worker.js`)

/** Runs an ES module script in plain node; a process kept alive by a worker would hit the timeout. */
function runNode(script: string, input: unknown): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    input: JSON.stringify(input, (_, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
    encoding: 'utf8',
    timeout: 120_000,
    cwd: DIST,
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

const small = () => generatePrimeSync(64, { bigint: true })

/** 40 moduli with shared primes across the two halves, inside one half, and at the edges. */
function plantedModuli(): bigint[] {
  const moduli = Array.from({ length: 40 }, () => small() * small())
  const [p, q, r] = [small(), small(), small()]
  moduli[0] = p * small()
  moduli[39] = p * small()
  moduli[19] = q * small()
  moduli[20] = q * small()
  moduli[5] = r * small()
  moduli[6] = r * small()
  return moduli
}

function pairwise(moduli: readonly bigint[]): string[] {
  return moduli.map((n, i) => `${moduli.reduce((acc, m, j) => (j === i ? acc : (acc * gcd(n, m)) / gcd(acc, gcd(n, m))), 1n)}`)
}

describe('batch GCD worker thread outside tsx', { skip: built ? false : 'dist/ is not built (npm run build)' }, () => {
  it('the compiled module gives pairwise results with half in a worker thread, surfaces its errors, and the process exits', () => {
    const moduli = plantedModuli()
    const script = `
      import { batchGcd, sharedFactors } from ${JSON.stringify(`${DIST}analysis/batch-gcd.js`)}
      let text = ''
      for await (const chunk of process.stdin) text += chunk
      const moduli = JSON.parse(text).map(BigInt)
      const divisors = batchGcd(moduli, { workerThread: true }).map(String)
      const known = moduli.slice(0, 30), fresh = moduli.slice(30)
      const incremental = sharedFactors(known, fresh, { workerThread: true }).hits.map((h) => [h.fresh, h.sharesWith])
      let error = null
      try { batchGcd([15n, 21n, 35n, 0n], { workerThread: true }) } catch (e) { error = e instanceof Error ? e.message : 'not an Error' }
      process.stdout.write(JSON.stringify({ divisors, incremental, error }))`
    const result = runNode(script, moduli)
    assert.equal(result.status, 0, result.stderr)
    const out = JSON.parse(result.stdout) as { divisors: string[]; incremental: [number, { set: string; index: number }[]][]; error: string | null }
    assert.deepEqual(out.divisors, pairwise(moduli))
    // fresh = moduli 30..39: the last shares p with known modulus 0.
    assert.deepEqual(out.incremental, [[9, [{ set: 'known', index: 0 }]]])
    assert.match(out.error ?? '', /batch GCD worker thread: Division by zero/)
  })

  it('the bundled worker file loads on its own and answers the protocol', () => {
    // The bundle's batch-gcd-thread code looks for batch-gcd-worker.js next to its chunk, in
    // dist/bundle; this drives that file directly, as HelperThread does (messages, then a bump of the
    // worker's counter, on which it sleeps in Atomics.wait).
    const moduli = plantedModuli()
    const script = `
      import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads'
      let text = ''
      for await (const chunk of process.stdin) text += chunk
      const moduli = JSON.parse(text).map(BigInt)
      const left = moduli.slice(0, 20), right = moduli.slice(20)
      const { port1, port2 } = new MessageChannel()
      const counters = new Int32Array(new SharedArrayBuffer(8))
      const worker = new Worker(new URL('./bundle/batch-gcd-worker.js', ${JSON.stringify(`file://${DIST}`)}), { workerData: { port: port2, counters, task: { kind: 'half', moduli: right } }, transferList: [port2], execArgv: [] })
      const next = () => { for (;;) { const seen = Atomics.load(counters, 0); const m = receiveMessageOnPort(port1); if (m) return m.message; Atomics.wait(counters, 0, seen, 60000) } }
      const ready = next(), root = next()
      port1.postMessage(left.reduce((a, b) => a * b, 1n)); Atomics.add(counters, 1, 1); Atomics.notify(counters, 1)
      const result = next()
      await worker.terminate()
      process.stdout.write(JSON.stringify({ ready: ready.kind, rootOk: root.value === right.reduce((a, b) => a * b, 1n), result: result.values.map(String) }))`
    const result = runNode(script, moduli)
    assert.equal(result.status, 0, result.stderr)
    const out = JSON.parse(result.stdout) as { ready: string; rootOk: boolean; result: string[] }
    assert.equal(out.ready, 'ready')
    assert.ok(out.rootOk, 'the worker sends the product of its half')
    assert.deepEqual(out.result, pairwise(moduli).slice(20))
  })
})
