import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { StoreStats } from '../src/store/store.js'
import { adminQuery } from '../test/support/test-store.js'
import { measure, requireGnuTime } from './measure.js'

/* Store benchmark (issue 3): record a scan of HOSTS hosts x 3 keys (ed25519, ecdsa nistp256,
 * rsa 2048), then a second scan in which 1% of the hosts serve a changed ed25519 key; on PostgreSQL
 * (HOSTKEYS_BENCH_DATABASE_URL, else the local server; a scratch database is created and dropped)
 * and on the embedded store in a temporary directory.
 *
 * Each scan runs as `hostkeys scan` would: its own process (bench/store-scan-child.mjs) on the
 * compiled dist/, with the node flags of bin/hostkeys.js' shebang, the synthetic observations handed
 * one by one to the same historyJudge the CLI uses, which keeps them until the scan ends and then
 * records them. Peak RSS is the kernel's (GNU time, ru_maxrss) for that whole process.
 * Targets: < 60 s per scan on PostgreSQL, peak RSS < 300 MB, key_changed exactly the changed hosts. */

const ROOT = path.resolve(import.meta.dirname, '..')
const CHILD = path.join(ROOT, 'bench/store-scan-child.mjs')
const CHANGED_EVERY = 100 // 1%

export interface ScanFigures {
  /** Handing the observations to the judge (synthetic keys made and described), not the store. */
  readonly observeSeconds: number
  /** recordScan: the scan's transaction and its shared-prime check, as the CLI waits for them at the end of a scan. */
  readonly recordSeconds: number
  /** The scan's own transaction, under the recording lock. */
  readonly scanTransactionSeconds: number
  /** The shared-prime check's transaction (its verdicts and findings), under the recording lock; 0 when no key was new. */
  readonly sharedPrimeTransactionSeconds: number
  readonly peakRssMb: number
  readonly findings: number
  readonly rowsAdded: number
}

export interface StoreBenchResult {
  readonly backend: string
  readonly hosts: number
  readonly nodeFlags: readonly string[]
  readonly first: ScanFigures
  readonly second: ScanFigures
  readonly changedHosts: number
  readonly keyChangedFindings: number
  readonly exact: boolean
  readonly sightingRowsAfterFirst: number
  readonly sightingRowsAfterSecond: number
}

/** The node flags `hostkeys` runs with: those on bin/hostkeys.js' `#!/usr/bin/env -S node ...` line. */
export function cliNodeFlags(): string[] {
  const shebang = readFileSync(path.join(ROOT, 'bin/hostkeys.js'), 'utf8').split('\n')[0] ?? ''
  const match = /^#!\S*env\s+(?:-S\s+)?node\s*(.*)$/.exec(shebang)
  return match?.[1] ? match[1].trim().split(/\s+/) : []
}

interface ChildReport {
  observeSeconds: number
  recordSeconds: number
  stageSeconds: { scan?: number; 'shared-primes'?: number }
  findings: number
  keyChanged: string[]
  before: StoreStats
  after: StoreStats
}

const totalRows = (s: StoreStats) => s.hosts + s.keys + s.sightings + s.scans + s.scanFailures + s.findings

async function recordOneScan(db: string, hosts: number, generation: number, flags: readonly string[]) {
  const run = await measure(process.execPath, [...flags, CHILD, db, String(hosts), String(generation), String(CHANGED_EVERY)])
  if (run.exitCode !== 0) throw new Error(`store bench scan exited ${run.exitCode}: ${run.stderr.slice(0, 2000)}`)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildReport
  const figures: ScanFigures = {
    observeSeconds: report.observeSeconds,
    recordSeconds: report.recordSeconds,
    scanTransactionSeconds: report.stageSeconds.scan ?? 0,
    sharedPrimeTransactionSeconds: report.stageSeconds['shared-primes'] ?? 0,
    peakRssMb: run.peakRssMb,
    findings: report.findings,
    rowsAdded: totalRows(report.after) - totalRows(report.before),
  }
  return { figures, report }
}

export async function benchStore(backend: string, db: string, hosts: number, log: (line: string) => void): Promise<StoreBenchResult> {
  const flags = cliNodeFlags()
  // Genuine RSA moduli, so that known-bad key checks in the recording path do not flag the fleet.
  const first = await recordOneScan(db, hosts, 0, flags)
  log(
    `${backend}: scan 1 of ${hosts} hosts x 3 keys recorded in ${first.figures.recordSeconds.toFixed(1)} s ` +
      `(observations handed over in ${first.figures.observeSeconds.toFixed(1)} s), peak RSS ${first.figures.peakRssMb.toFixed(0)} MB; ` +
      `recording lock held ${first.figures.scanTransactionSeconds.toFixed(1)} s for the scan and ${first.figures.sharedPrimeTransactionSeconds.toFixed(1)} s ` +
      `for its shared-prime check`,
  )
  const second = await recordOneScan(db, hosts, 1, flags)
  log(
    `${backend}: scan 2 (1% changed) recorded in ${second.figures.recordSeconds.toFixed(1)} s, ` +
      `${second.figures.findings} findings, peak RSS ${second.figures.peakRssMb.toFixed(0)} MB`,
  )
  const expected = Array.from({ length: Math.ceil(hosts / CHANGED_EVERY) }, (_, k) => `h${k * CHANGED_EVERY}.bench.example`)
  const keyChanged = new Set(second.report.keyChanged)
  const exact =
    second.report.keyChanged.length === expected.length && keyChanged.size === expected.length && expected.every((h) => keyChanged.has(h))
  return {
    backend,
    hosts,
    nodeFlags: flags,
    first: first.figures,
    second: second.figures,
    changedHosts: expected.length,
    keyChangedFindings: second.report.keyChanged.length,
    exact,
    sightingRowsAfterFirst: first.report.after.sightings,
    sightingRowsAfterSecond: second.report.after.sightings,
  }
}

/** Runs the benchmark on the chosen backends and returns one line per figure. Needs a built dist/. */
export async function runStoreBench(
  options: { hosts?: number; backends?: readonly ('postgres' | 'embedded')[]; log?: (line: string) => void } = {},
): Promise<StoreBenchResult[]> {
  requireGnuTime()
  if (!existsSync(path.join(ROOT, 'dist/app/scan-judges.js'))) throw new Error('the store benchmark runs dist/: npm run build first')
  const hosts = options.hosts ?? 100_000
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const results: StoreBenchResult[] = []
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
      const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-bench-'))
      try {
        results.push(await benchStore('embedded', dir, hosts, log))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  for (const r of results) {
    const peak = Math.max(r.first.peakRssMb, r.second.peakRssMb)
    log(
      `${r.backend}: ${r.hosts} hosts (node ${r.nodeFlags.join(' ') || 'without flags'}): ` +
        `scan 1 ${r.first.recordSeconds.toFixed(1)} s, scan 2 ${r.second.recordSeconds.toFixed(1)} s, peak RSS ${peak.toFixed(0)} MB; ` +
        `key_changed ${r.keyChangedFindings}/${r.changedHosts} changed hosts (${r.exact ? 'exact' : 'MISMATCH'}); ` +
        `rows added by scan 2: ${r.second.rowsAdded} (sightings ${r.sightingRowsAfterFirst} -> ${r.sightingRowsAfterSecond})`,
    )
  }
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const hosts = Number(process.env['BENCH_STORE_HOSTS'] ?? process.env['HOSTKEYS_BENCH_HOSTS'] ?? 100_000)
  const backends = (process.argv[2]?.split(',') ?? ['postgres', 'embedded']) as ('postgres' | 'embedded')[]
  const results = await runStoreBench({ hosts, backends })
  process.exitCode = results.every((r) => r.exact) ? 0 : 1
}
