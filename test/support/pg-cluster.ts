/* A PostgreSQL 15 cluster of a test's own, on 127.0.0.1 and a free port, so that a test can stop it
 * (`pg_ctl stop -m fast|immediate`), freeze it (SIGSTOP) and restart it without touching the shared
 * server on :5432 that other tests use. initdb and postgres run as the `postgres` user (we are root);
 * the data directory is in a temporary directory. As in sshd.ts, the postmaster runs under a small
 * /bin/sh guard that stops it when our end of the guard's stdin closes, so even a test process killed
 * with SIGKILL leaves no server behind.
 *
 * Authentication: the `postgres` superuser is trusted; every other role must give its password
 * (scram-sha-256), for tests of failed logins. */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const PG_BIN = '/usr/lib/postgresql/15/bin'

export function pgClusterAvailable(): boolean {
  return process.getuid?.() === 0 && existsSync(join(PG_BIN, 'initdb')) && spawnSync('id', ['postgres']).status === 0
}

/** For describe(..., { skip: skipUnlessPgCluster() }). */
export function skipUnlessPgCluster(): string | false {
  if (pgClusterAvailable()) return false
  const why = `PostgreSQL 15 binaries in ${PG_BIN}, a postgres user and root are needed`
  if (process.env['CI']) throw new Error(why)
  return why
}

function asPostgres(command: string, args: readonly string[]): void {
  const result = spawnSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(PG_BIN, command), ...args], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

/* The guard: postgres in the background; the shell waits on its stdin (our pipe) and then asks for an
 * immediate shutdown. setpriv execs postgres, so $pid is the postmaster. */
const GUARD = ['"$@" </dev/null >>"$PGLOG" 2>&1 & pid=$!', "trap 'kill -QUIT $pid 2>/dev/null; exit 0' TERM INT HUP", 'read _ignored', 'kill -CONT $pid 2>/dev/null', 'kill -QUIT $pid 2>/dev/null', 'wait $pid'].join('\n')

export interface PgCluster {
  readonly port: number
  readonly dataDir: string
  /** postgres://USER[:PASSWORD]@127.0.0.1:PORT/DATABASE */
  url(database: string, user?: string, password?: string): string
  /** One statement as the superuser; rows as objects. */
  query<Row = Record<string, unknown>>(database: string, statement: string, params?: unknown[]): Promise<Row[]>
  /** A new, empty database; returns its name. */
  createDatabase(): Promise<string>
  /** `pg_ctl stop -m MODE`: fast terminates sessions, immediate kills the server without a checkpoint. */
  stop(mode: 'fast' | 'immediate'): void
  /** Starts the server again after stop(). */
  start(): Promise<void>
  /** SIGSTOP (or SIGCONT) the postmaster and every backend. */
  freeze(): void
  thaw(): void
  /** Stops the server for good and removes its files. */
  destroy(): Promise<void>
}

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry))
    } catch {
      /* gone meanwhile */
    }
  }
  return out
}

export interface PgClusterOptions {
  /** Extra server settings, `name=value`. */
  readonly settings?: readonly string[]
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'hostkeys-pg-'))
  const dataDir = join(root, 'data')
  chownSync(root, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout))
  asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--no-sync', '-A', 'trust', '--no-instructions'])
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  )
  const port = await freePort()
  const log = join(root, 'postgres.log')
  let guard: ChildProcess | null = null
  let frozen: number[] = []

  const { default: pg } = await import('pg')
  const url = (database: string, user = 'postgres', password?: string) =>
    `postgres://${user}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${database}`

  async function query<Row>(database: string, statement: string, params?: unknown[]): Promise<Row[]> {
    const client = new pg.Client({ connectionString: url(database) })
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query(statement, params)).rows as Row[]
    } finally {
      await client.end().catch(() => {})
    }
  }

  async function start(): Promise<void> {
    const args = ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(PG_BIN, 'postgres'), '-D', dataDir, '-p', String(port)]
    const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'fsync=off', 'max_connections=50', ...(options.settings ?? [])]
    guard = spawn('/bin/sh', ['-c', GUARD, 'pg-guard', 'setpriv', ...args, ...settings.flatMap((s) => ['-c', s])], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { ...process.env, PGLOG: log },
    })
    guard.stdin!.on('error', () => {})
    guard.unref()
    ;(guard.stdin as unknown as net.Socket).unref?.()
    const deadline = Date.now() + 60_000
    for (;;) {
      try {
        await query('postgres', 'SELECT 1')
        return
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`postgres did not start: ${(e as Error).message}\n${readFileSync(log, 'utf8').slice(-2000)}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  const postmasterPid = () => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const signalAll = (pids: number[], signal: NodeJS.Signals) => pids.forEach((pid) => { try { process.kill(pid, signal) } catch { /* gone */ } })

  await start()
  return {
    port,
    dataDir,
    url,
    query,
    async createDatabase() {
      const name = `hk_${Math.random().toString(36).slice(2, 10)}`
      await query('postgres', `CREATE DATABASE ${name}`)
      return name
    },
    stop(mode) {
      asPostgres('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-t', '60'])
      guard?.stdin?.end()
    },
    start,
    freeze() {
      const pid = postmasterPid()
      frozen = [pid, ...childrenOf(pid)]
      signalAll(frozen, 'SIGSTOP')
    },
    thaw() {
      signalAll(frozen, 'SIGCONT')
      frozen = []
    },
    async destroy() {
      signalAll(frozen, 'SIGCONT')
      if (existsSync(join(dataDir, 'postmaster.pid'))) spawnSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(PG_BIN, 'pg_ctl'), 'stop', '-D', dataDir, '-m', 'immediate'])
      guard?.stdin?.end()
      rmSync(root, { recursive: true, force: true })
    },
  }
}
