import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { recordScan } from '../src/app/record-scan.js'
import type { HostKey } from '../src/domain/host-key.js'
import type { Observation } from '../src/domain/observation.js'
import { openStore } from '../src/store/open-store.js'
import type { Store } from '../src/store/store.js'
import { observationOf, syntheticKey } from '../test/support/synthetic-keys.js'

/* Observations stream into recordScan from a generator, as a streaming collector would hand them over:
 * the figure is the store's footprint, not that of 300,000 HostKey objects held at once (~530 MB).
 *
 * Store benchmark (issue 3): record a scan of HOSTS hosts x 3 keys, then a second scan in which 1% of
 * the hosts serve a changed ed25519 key; on PostgreSQL (HOSTKEYS_BENCH_DATABASE_URL, else the local
 * server; a scratch database is created and dropped) and on the embedded store in a temporary directory.
 * Targets: < 60 s per scan on PostgreSQL, peak RSS < 300 MB, key_changed exactly the changed hosts. */

export interface StoreBenchResult {
  readonly backend: string
  readonly hosts: number
  readonly firstScanSeconds: number
  readonly secondScanSeconds: number
  readonly changedHosts: number
  readonly keyChangedFindings: number
  readonly exact: boolean
  readonly sightingRowsAfterFirst: number
  readonly sightingRowsAfterSecond: number
}

function* fleet(hosts: number, generation: (i: number) => number): Generator<Observation> {
  for (let i = 0; i < hosts; i++) {
    const name = `h${i}.bench.example`
    const keys: HostKey[] = [
      syntheticKey('ed25519', `${name}/ed25519/${generation(i)}`),
      syntheticKey('ecdsa256', `${name}/ecdsa`),
      syntheticKey('rsa', `${name}/rsa`, 2048),
    ]
    yield observationOf(name, keys, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` })
  }
}

export async function benchStore(backend: string, db: string, hosts: number, log: (line: string) => void): Promise<StoreBenchResult> {
  const changedEvery = 100 // 1%
  const meta = (at: Date) => ({
    startedAt: at,
    finishedAt: at,
    vantage: 'bench',
    request: { keyFamilies: null, targets: [`${hosts} synthetic hosts`] },
  })
  const store = await openStore({ db })
  let first: number
  let second: number
  let keyChanged: Set<string>
  let rowsFirst: number
  let rowsSecond: number
  try {
    let t = performance.now()
    await recordScan(store, meta(new Date(Date.now() - 86_400_000)), fleet(hosts, () => 0))
    first = (performance.now() - t) / 1000
    rowsFirst = await sightingCount(store)
    log(`${backend}: first scan of ${hosts} hosts x 3 keys recorded in ${first.toFixed(1)} s`)
    t = performance.now()
    const result = await recordScan(store, meta(new Date()), fleet(hosts, (i) => (i % changedEvery === 0 ? 1 : 0)))
    second = (performance.now() - t) / 1000
    rowsSecond = await sightingCount(store)
    keyChanged = new Set(result.findings.filter((f) => f.kind === 'key_changed').map((f) => f.host))
    log(`${backend}: second scan (1% changed) recorded in ${second.toFixed(1)} s, ${result.findings.length} findings`)
  } finally {
    await store.close()
  }
  const expected = Array.from({ length: Math.ceil(hosts / changedEvery) }, (_, k) => `h${k * changedEvery}.bench.example`)
  const exact = keyChanged.size === expected.length && expected.every((h) => keyChanged.has(h))
  return {
    backend,
    hosts,
    firstScanSeconds: first,
    secondScanSeconds: second,
    changedHosts: expected.length,
    keyChangedFindings: keyChanged.size,
    exact,
    sightingRowsAfterFirst: rowsFirst,
    sightingRowsAfterSecond: rowsSecond,
  }
}

async function sightingCount(store: Store): Promise<number> {
  return (await store.stats()).sightings
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/** Runs the benchmark on the chosen backends and prints one line per figure. */
export async function runStoreBench(
  options: { hosts?: number; backends?: readonly ('postgres' | 'embedded')[]; log?: (line: string) => void } = {},
): Promise<StoreBenchResult[]> {
  const hosts = options.hosts ?? 100_000
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const results: StoreBenchResult[] = []
  // The kernel's high-water mark (ru_maxrss): a sampling timer misses peaks while the loop is busy.
  const peakMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0)
  {
    for (const backend of options.backends ?? ['postgres', 'embedded']) {
      if (backend === 'postgres') {
        const adminUrl = process.env['HOSTKEYS_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
        const name = `hostkeys_bench_${process.pid}`
        await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
        const url = new URL(adminUrl)
        url.pathname = `/${name}`
        try {
          results.push(await benchStore('postgres', url.toString(), hosts, log))
        } finally {
          await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        }
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'hostkeys-bench-'))
        try {
          results.push(await benchStore('embedded', dir, hosts, log))
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      }
      log(`peak RSS of this process so far: ${peakMb()} MB`)
    }
  }
  for (const r of results) {
    log(
      `${r.backend}: ${r.hosts} hosts: scan 1 ${r.firstScanSeconds.toFixed(1)} s, scan 2 ${r.secondScanSeconds.toFixed(1)} s; ` +
        `key_changed ${r.keyChangedFindings}/${r.changedHosts} changed hosts (${r.exact ? 'exact' : 'MISMATCH'}); ` +
        `sighting rows ${r.sightingRowsAfterFirst} -> ${r.sightingRowsAfterSecond}`,
    )
  }
  log(`peak RSS: ${peakMb()} MB (run one backend per process, \`bench/store.ts postgres\`, for each one's own figure)`)
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const hosts = Number(process.env['HOSTKEYS_BENCH_HOSTS'] ?? 100_000)
  const backends = (process.argv[2]?.split(',') ?? ['postgres', 'embedded']) as ('postgres' | 'embedded')[]
  const results = await runStoreBench({ hosts, backends })
  process.exitCode = results.every((r) => r.exact) ? 0 : 1
}
