import { runBadKeysBench } from './bad-keys.js'
import { runCommandsBench } from './commands.js'
import { runDnsBench } from './dns.js'
import { distributedBenchOptions, runDistributedBench } from './distributed.js'
import { runScanBench } from './scan.js'
import { runStoreBench } from './store.js'

/* `npm run bench`: every benchmark, printing figures and ratios against the reference tools.
 * Sizes can be lowered for a quick look: BENCH_HOSTS, BENCH_ROUNDS, BENCH_LARGE, BENCH_DNS_ROUNDS,
 * BENCH_STORE_HOSTS (BENCH_STORE_BACKENDS=postgres or embedded for one), BENCH_COMMAND_ROUNDS.
 * BENCH_ONLY=scan,dns,store,commands,badkeys
 * runs only those (badkeys only when asked: BENCH_BADKEYS_SIZES=1000,10000 for a quick look;
 * distributed only when asked, sizes in bench/distributed.ts). */

function numberFromEnv(name: string, fallback: number): number {
  const value = process.env[name]
  return value === undefined ? fallback : Number(value)
}

const only = process.env['BENCH_ONLY']?.split(',') ?? ['scan', 'dns', 'store', 'commands']

if (only.includes('scan')) {
  const lines = await runScanBench({
    hosts: numberFromEnv('BENCH_HOSTS', 208),
    rounds: numberFromEnv('BENCH_ROUNDS', 3),
    largeTargets: numberFromEnv('BENCH_LARGE', 10_000),
  })
  for (const line of lines) console.log(line)
}

if (only.includes('dns')) {
  // SSHFP checks on vs --no-dns on the same size of fleet; more rounds, as the ratio is what matters.
  const dnsLines = await runDnsBench({
    hosts: numberFromEnv('BENCH_HOSTS', 208),
    rounds: numberFromEnv('BENCH_DNS_ROUNDS', 5),
  })
  for (const line of dnsLines) console.log(line)
}

if (only.includes('store')) {
  // The history store: a 100,000-host scan and a second one with 1% changed keys, per backend.
  const storeBackends = (process.env['BENCH_STORE_BACKENDS']?.split(',') ?? ['postgres', 'embedded']) as ('postgres' | 'embedded')[]
  await runStoreBench({ hosts: numberFromEnv('BENCH_STORE_HOSTS', 100_000), backends: storeBackends, log: (line) => console.log(line) })
}

if (only.includes('commands')) {
  // Everyday commands on a 1,000-host store against issue 11's start-up targets (needs a built dist/).
  await runCommandsBench({ rounds: numberFromEnv('BENCH_COMMAND_ROUNDS', 7), log: (line) => console.log(line) })
}

if (only.includes('badkeys')) {
  // Known-bad key checks per key, and batch GCD over 1,000 / 10,000 / 100,000 moduli (issue 12).
  await runBadKeysBench((line) => console.log(line))
}

if (only.includes('distributed')) {
  // Distributed scans (issue 14): 1/2/4 workers, queue overhead, 10k-100k growth, an unchanged second night.
  await runDistributedBench(distributedBenchOptions((line) => console.log(line)))
}
