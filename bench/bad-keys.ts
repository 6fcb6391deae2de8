import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { checkAllQuietly, checkHostKey, checkQuietly } from '../src/analysis/bad-keys.js'
import * as batchGcdSource from '../src/analysis/batch-gcd.js'
import { bigintFromBytes } from '../src/analysis/big-integer.js'
import type { HostKey } from '../src/domain/host-key.js'
import { sshString } from '../src/domain/ssh-wire.js'
import { randomPrime, rsaPublicBlob } from '../test/support/rsa-from-primes.js'
import { measure, requireGnuTime } from './measure.js'
import { sievedModuli } from './sieved-moduli.mjs'

/* Known-bad key benchmark (issue 12). checkHostKey per key type (median µs over real keys from
 * node:crypto), then batch GCD in a process of its own per size, so that peak RSS (GNU time) is
 * that size's: full batch GCD over 1,000 / 10,000 / 100,000 RSA-2048-sized moduli, and the
 * incremental case, 1 and 100 fresh moduli against 100,000 known ones. Target: 100,000 moduli in under a
 * minute. badkeys has no JavaScript reference; the ratios between sizes show how cost grows.
 *
 * The batch GCD moduli are random odd 2048-bit numbers: the trees' cost depends on sizes only, and
 * 200,000 genuine primes take hours to make here (bench/rsa-prime-pool.ts). The incremental case
 * uses genuine two-prime fresh moduli, so that random known numbers do not produce hits by sharing
 * small factors with them. BENCH_BADKEYS_SIZES=1000,10000 lowers the sizes; BENCH_BADKEYS_THREADS=1
 * keeps batch GCD on one thread (from 2,000 moduli up it hands half to a worker thread). Each line
 * gives CPU seconds beside wall seconds, and the load average: on a shared machine the wall time is
 * what the other processes leave. */

const HERE = import.meta.filename

function randomModulus(): bigint {
  const bytes = randomBytes(256)
  bytes[0] = bytes[0]! | 0x80
  bytes[255] = bytes[255]! | 1
  return bigintFromBytes(bytes)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function keyOf(kind: string): Pick<HostKey, 'type' | 'blob'> {
  switch (kind) {
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096': {
      const jwk = generateKeyPairSync('rsa', { modulusLength: Number(kind.slice(4)) }).publicKey.export({ format: 'jwk' })
      return { type: 'ssh-rsa', blob: rsaPublicBlob(bigintFromBytes(Buffer.from(jwk.n!, 'base64url'))) }
    }
    case 'ECDSA-P256': {
      const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
      return { type: 'ecdsa-sha2-nistp256', blob: Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]) }
    }
    default: {
      const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url')
      return { type: 'ssh-ed25519', blob: Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]) }
    }
  }
}

/** Median µs of checkHostKey per key kind, over `keys` keys each checked `rounds` times. */
export function benchCheckHostKey(keys = 10, rounds = 20): string[] {
  const lines: string[] = []
  for (const kind of ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'Ed25519']) {
    const samples: number[] = []
    for (let k = 0; k < keys; k++) {
      const key = keyOf(kind)
      if (checkHostKey(key) !== null) throw new Error(`a fresh ${kind} key was flagged`)
      for (let r = 0; r < rounds; r++) {
        const t = performance.now()
        checkHostKey(key)
        samples.push((performance.now() - t) * 1000)
      }
    }
    lines.push(`badkeys: checkHostKey ${kind}: median ${median(samples).toFixed(0)} µs (${keys} keys x ${rounds})`)
  }
  // A scan chunk's 1,000 new RSA-2048-sized keys as a scan checks them (checkAllQuietly: the
  // small-factor test once for the chunk), against one by one; moduli that pass every check.
  const chunk = sievedModuli(1000).map((n) => ({ type: 'ssh-rsa' as const, blob: rsaPublicBlob(bigintFromBytes(n)) }))
  const alone: number[] = []
  const together: number[] = []
  for (let r = 0; r < 5; r++) {
    let t = performance.now()
    for (const key of chunk) checkQuietly(key)
    alone.push(((performance.now() - t) * 1000) / chunk.length)
    t = performance.now()
    if (checkAllQuietly(chunk).some((v) => v !== null)) throw new Error('a sieved modulus was flagged')
    together.push(((performance.now() - t) * 1000) / chunk.length)
  }
  lines.push(`badkeys: 1,000 RSA keys of a scan chunk: median ${median(together).toFixed(0)} µs a key checked together, ${median(alone).toFixed(0)} µs one by one (5 rounds)`)
  return lines
}

/** In a child process: one batch GCD, printing a JSON line with its seconds. */
async function child(mode: string, size: number): Promise<void> {
  // The compiled module when built (`npm run bench` builds): its worker thread is the plain .js one
  // the CLI runs. Under tsx the worker registers tsx itself and, measured here, gains nothing.
  const compiled = new URL('../dist/analysis/batch-gcd.js', import.meta.url)
  const { batchGcd, sharedFactors } = existsSync(compiled) ? ((await import(compiled.href)) as typeof batchGcdSource) : batchGcdSource
  const options = process.env['BENCH_BADKEYS_THREADS'] === '1' ? { workerThread: false } : {}
  if (mode === 'full') {
    const moduli = Array.from({ length: size }, randomModulus)
    const t = performance.now()
    batchGcd(moduli, options)
    process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t) / 1000 })}\n`)
  } else {
    const known = Array.from({ length: size }, randomModulus)
    const fresh = Array.from({ length: Number(mode.split(':')[1] ?? 100) }, () => randomPrime(1024) * randomPrime(1024))
    const t = performance.now()
    const result = sharedFactors(known, fresh, options)
    process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t) / 1000, hits: result.hits.length, method: result.method })}\n`)
  }
}

/** Batch GCD figures, one child process per size. */
export async function benchBatchGcd(sizes: readonly number[] = [1000, 10_000, 100_000], log: (line: string) => void = console.log): Promise<void> {
  requireGnuTime()
  let previous: { size: number; seconds: number } | null = null
  const run = async (mode: string, size: number) => {
    const load = loadavg()[0]!.toFixed(1)
    const result = await measure(process.execPath, ['--import', 'tsx', HERE, 'child', mode, String(size)])
    if (result.exitCode !== 0) throw new Error(`batch GCD bench (${mode} ${size}) exited ${result.exitCode}: ${result.stderr.slice(0, 2000)}`)
    const parsed = JSON.parse(result.stdout.trim().split('\n').pop()!) as { seconds: number; hits?: number; method?: string }
    return { ...parsed, peakRssMb: result.peakRssMb, cpuSeconds: result.cpuSeconds, load }
  }
  for (const size of sizes) {
    const r = await run('full', size)
    const growth = previous ? `, x${(r.seconds / previous.seconds).toFixed(1)} for x${size / previous.size} moduli` : ''
    log(
      `badkeys: batch GCD (full) over ${size} RSA-2048-sized moduli: ${r.seconds.toFixed(1)} s ` +
        `(process CPU ${r.cpuSeconds.toFixed(1)} s, load ${r.load}), peak RSS ${r.peakRssMb.toFixed(0)} MB${growth}`,
    )
    previous = { size, seconds: r.seconds }
  }
  const largest = sizes.at(-1)!
  // The nightly case: a few new keys against the whole history.
  for (const fresh of [1, 100]) {
    const r = await run(`incremental:${fresh}`, largest)
    log(
      `badkeys: incremental: ${fresh} fresh RSA-2048 modul${fresh === 1 ? 'us' : 'i'} against ${largest} known: ${r.seconds.toFixed(1)} s ` +
        `(${r.method}, ${r.hits} hits; process CPU ${r.cpuSeconds.toFixed(1)} s, load ${r.load}), peak RSS ${r.peakRssMb.toFixed(0)} MB`,
    )
  }
}

export async function runBadKeysBench(log: (line: string) => void = console.log): Promise<void> {
  for (const line of benchCheckHostKey()) log(line)
  const sizes = process.env['BENCH_BADKEYS_SIZES']?.split(',').map(Number) ?? [1000, 10_000, 100_000]
  await benchBatchGcd(sizes, log)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'child') await child(process.argv[3]!, Number(process.argv[4]))
  else await runBadKeysBench()
}
