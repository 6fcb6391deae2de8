import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { adminQuery } from '../test/support/test-store.js'
import { cliNodeFlags } from './store.js'
import { measure, median, requireGnuTime, type Measured } from './measure.js'

/* Everyday commands against issue 11's targets: each run as a user types it (bin/hostkeys.js, a
 * process of its own under GNU time), ROUNDS times, the commands alternating, medians printed with
 * the target beside them. The store is the one README's table describes: 1,000 hosts x 3 keys made by
 * two synthetic scans (bench/store-scan-child.mjs), on the embedded store and on PostgreSQL
 * (HOSTKEYS_BENCH_DATABASE_URL, else the local server; a scratch database is made and dropped).
 *
 * Targets (issue 11): the first command on a new embedded store <= 3 s and <= 300 MB; every later
 * command on a 1,000-host store <= 1 s and <= 200 MB, lookup and history <= 0.5 s; on PostgreSQL
 * lookup <= 0.4 s, --version <= 0.15 s. Wall times move with the machine's load: read them with the
 * load average printed beside them. */

const ROOT = path.resolve(import.meta.dirname, '..')
const CLI = path.join(ROOT, 'bin/hostkeys.js')
const CHILD = path.join(ROOT, 'bench/store-scan-child.mjs')
const HOSTS = 1000

interface Case {
  readonly name: string
  readonly args: (db: string) => string[]
  /** Made anew before each run (the first command on a new store). */
  readonly fresh?: boolean
  readonly wallTarget: number
  readonly rssTarget: number | null
}

export interface CommandFigure {
  readonly name: string
  readonly wallSeconds: number
  readonly peakRssMb: number
  readonly wallTarget: number
  readonly rssTarget: number | null
  readonly met: boolean
}

/** A loopback port nothing listens on: a scan of it is refused at once. */
async function refusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function fillStore(db: string): Promise<void> {
  const flags = cliNodeFlags()
  for (const generation of [1, 2]) {
    const run = await measure(process.execPath, [...flags, CHILD, db, String(HOSTS), String(generation), '100'])
    if (run.exitCode !== 0) throw new Error(`filling the bench store failed: ${run.stderr.slice(0, 2000)}`)
  }
}

async function runCases(cases: readonly Case[], db: () => string, rounds: number): Promise<CommandFigure[]> {
  const runs = new Map<string, Measured[]>(cases.map((c) => [c.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const dir = c.fresh ? mkdtempSync(path.join(tmpdir(), 'hostkeys-bench-new-')) : null
      try {
        const run = await measure(CLI, c.args(dir ? path.join(dir, 'db') : db()))
        // 0 or 1 (a scan's findings); 2 is a failure, and a figure of it would mean nothing.
        if (run.exitCode !== 0 && run.exitCode !== 1) throw new Error(`${c.name} exited ${run.exitCode}: ${run.stderr.slice(0, 2000)}`)
        runs.get(c.name)!.push(run)
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  return cases.map((c) => {
    const list = runs.get(c.name)!
    const wallSeconds = median(list.map((r) => r.wallSeconds))
    const peakRssMb = median(list.map((r) => r.peakRssMb))
    return { name: c.name, wallSeconds, peakRssMb, wallTarget: c.wallTarget, rssTarget: c.rssTarget, met: wallSeconds <= c.wallTarget && (c.rssTarget === null || peakRssMb <= c.rssTarget) }
  })
}

export async function runCommandsBench(options: { rounds?: number; log?: (line: string) => void } = {}): Promise<CommandFigure[]> {
  requireGnuTime()
  const rounds = options.rounds ?? 7
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const port = await refusedPort()
  const refused = `127.0.0.1:${port}`
  const quietScan = (db: string) => ['scan', '--db', db, '--no-dns', '-T', '2', '--format', 'json', refused]
  const host = 'h5.bench.example'
  const figures: CommandFigure[] = []

  const work = mkdtempSync(path.join(tmpdir(), 'hostkeys-bench-commands-'))
  try {
    const embedded = path.join(work, 'embedded')
    await fillStore(embedded)
    figures.push(
      ...(await runCases(
        [
          { name: 'embedded: first command on a new store (scan of a refused port)', args: quietScan, fresh: true, wallTarget: 3, rssTarget: 300 },
          { name: `embedded: lookup, ${HOSTS} hosts`, args: (db) => ['lookup', host, '--db', db], wallTarget: 0.5, rssTarget: 200 },
          { name: `embedded: history, ${HOSTS} hosts`, args: (db) => ['history', host, '--db', db], wallTarget: 0.5, rssTarget: 200 },
          { name: `embedded: findings, ${HOSTS} hosts`, args: (db) => ['findings', '--db', db], wallTarget: 1, rssTarget: 200 },
          { name: `embedded: known-hosts, ${HOSTS} hosts`, args: (db) => ['known-hosts', '--db', db], wallTarget: 1, rssTarget: 200 },
          { name: `embedded: a later scan (a refused port), ${HOSTS} hosts`, args: quietScan, wallTarget: 1, rssTarget: 200 },
          { name: '--version', args: () => ['--version'], wallTarget: 0.15, rssTarget: null },
        ],
        () => embedded,
        rounds,
      )),
    )
  } finally {
    rmSync(work, { recursive: true, force: true })
  }

  const adminUrl = process.env['HOSTKEYS_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `hostkeys_bench_cmd_${process.pid}`
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  try {
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    await fillStore(url.toString())
    figures.push(...(await runCases([{ name: `postgres: lookup, ${HOSTS} hosts`, args: (db) => ['lookup', host, '--db', db], wallTarget: 0.4, rssTarget: null }], () => url.toString(), rounds)))
  } finally {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }

  log(`commands (medians of ${rounds}, load ${loadavg()[0]!.toFixed(1)} at the end):`)
  for (const f of figures) {
    const target = `<= ${f.wallTarget} s${f.rssTarget === null ? '' : `, <= ${f.rssTarget} MB`}`
    log(`  ${f.name}: ${f.wallSeconds.toFixed(2)} s, ${f.peakRssMb.toFixed(0)} MB (target ${target}: ${f.met ? 'met' : 'NOT met'})`)
  }
  return figures
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runCommandsBench({ rounds: Number(process.env['BENCH_COMMAND_ROUNDS'] ?? 7) })
}
