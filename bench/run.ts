import { runScanBench } from './scan.js'

/* `npm run bench`: every benchmark, printing figures and ratios against the reference tools.
 * Sizes can be lowered for a quick look: BENCH_HOSTS, BENCH_ROUNDS, BENCH_LARGE. */

function numberFromEnv(name: string, fallback: number): number {
  const value = process.env[name]
  return value === undefined ? fallback : Number(value)
}

const lines = await runScanBench({
  hosts: numberFromEnv('BENCH_HOSTS', 208),
  rounds: numberFromEnv('BENCH_ROUNDS', 3),
  largeTargets: numberFromEnv('BENCH_LARGE', 10_000),
})
for (const line of lines) console.log(line)
