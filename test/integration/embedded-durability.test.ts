import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, startCli, waitFor, type CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { scansRecorded, silentPeer } from '../support/faults.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* Issue 9, item 8, and the kill -9 cases on the embedded store. PGlite ran PostgreSQL with fsync off
 * and never synced a file; now COMMIT syncs the WAL. Checked under strace: the WAL write that holds
 * the scan is followed by an fsync of that file before the first byte of output; a new store is
 * synced whole before it is used. And the store as it is at the moment the output appears (the
 * process killed right there by strace, the directory copied) opens with the scan in it; killed at
 * the WAL write instead (inside the transaction, just before COMMIT reaches the file) or while
 * probing, the next scan sees the history exactly as before. Real sshd on 127.60.6.1. */

const STRACE = '/usr/bin/strace'
const skip = skipUnlessSshd() || (spawnSync(STRACE, ['-V']).status === 0 ? false : 'strace is not installed (apt-get install strace)')

interface Call {
  readonly name: string
  readonly path: string
}

/** strace -f -y output as (syscall, path of its first fd), in order; eventfd wakeups left out. */
function calls(log: string): Call[] {
  const out: Call[] = []
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const match = /^\d+ +(\w+)\(\d+<([^>]*)>/.exec(line)
    if (match && !match[2]!.startsWith('anon_inode')) out.push({ name: match[1]!, path: match[2]! })
  }
  return out
}

describe('embedded store: durable commits, kill -9 at any point', { skip }, () => {
  let server: SshdServer
  let template: string
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-durable-'))
  const target = () => `127.60.6.1:${server.port}`
  before(async () => {
    server = await startSshd({ addresses: ['127.60.6.1'], keyTypes: ['ed25519'] })
    template = join(work, 'template')
  })
  after(async () => {
    await server?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  let copies = 0
  function copyOf(dir: string): string {
    const copy = join(work, `db${copies++}`)
    cpSync(dir, copy, { recursive: true })
    return copy
  }
  /* The scans that are traced or killed run in a process of their own; the baselines before them and
   * the scans after them, which only write or read the history, run in this process (main(), opening
   * --db as the executable does). */
  const scan = (db: string, ...extra: string[]) => ['scan', '--no-dns', '-T', '10', '-q', '--fail-on', 'info', '--db', db, ...extra]
  /** Runs the CLI with its stdout in `out` (a file, so strace can name it), under strace. */
  function traced(args: readonly string[], out: string, strace: readonly string[]): Promise<CliResult> {
    return runCli(args, { wrapper: ['/bin/sh', '-c', 'exec "$@" > "$OUT"', 'sh', STRACE, '-f', '-qq', ...strace], env: { OUT: out }, timeoutMs: 240_000 })
  }

  it('a new store is synced whole before db migrate reports it', async () => {
    const log = join(work, 'create.strace')
    const out = join(work, 'create.out')
    const result = await traced(['db', 'migrate', '--db', template], out, ['-y', '-o', log, '-e', 'trace=write,writev,fsync,fdatasync'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(readFileSync(out, 'utf8'), /applied 0001_initial/)
    const seen = calls(log)
    const reported = seen.findIndex((c) => c.path === out)
    const synced = (path: string) => seen.findIndex((c, i) => i < reported && c.name === 'fsync' && c.path === path)
    for (const path of [join(template, 'PG_VERSION'), join(template, 'global', 'pg_control'), template]) {
      assert.ok(synced(path) >= 0, `${path} is fsynced before the output`)
    }
  })

  it('the WAL holding a scan is fsynced before the output says anything', async () => {
    const db = copyOf(template)
    const log = join(work, 'scan.strace')
    const out = join(work, 'scan.out')
    const result = await traced(scan(db, target()), out, ['-y', '-o', log, '-e', 'trace=write,writev,pwrite64,fsync,fdatasync'])
    assert.equal(result.code, 1, result.stderr) // new_host, at --fail-on info
    const seen = calls(log)
    const reported = seen.findIndex((c) => c.path === out)
    assert.ok(reported > 0, 'the scan printed its finding')
    const walWrites = seen.map((c, i) => ({ ...c, i })).filter((c) => c.i < reported && c.name === 'pwrite64' && c.path.includes('/pg_wal/'))
    assert.ok(walWrites.length > 0, 'the commit was written to the WAL before the output')
    const last = walWrites.at(-1)!
    const sync = seen.findIndex((c, i) => i > last.i && i < reported && c.name === 'fsync' && c.path === last.path)
    assert.ok(sync > 0, `no fsync of ${last.path} between its last write and the output`)
    assert.equal(await scansRecorded(db), 1)
  })

  it('killed the moment the output appears: a copy of the store opens with the scan in it', async () => {
    const db = copyOf(template)
    const out = join(work, 'kill-after.out')
    // SIGKILL at the first write to stdout: after COMMIT, before the store is closed (no checkpoint).
    const result = await traced(scan(db, target()), out, ['-P', out, '-e', 'trace=write,writev', '-e', 'inject=write,writev:signal=SIGKILL:when=1', '-o', '/dev/null'])
    assert.equal(result.signal, 'SIGKILL', result.stderr)
    assert.equal(readFileSync(out, 'utf8'), '')
    const copy = copyOf(db) // what the disk held at that moment; its lock names the dead process
    assert.equal(await scansRecorded(copy), 1)
    const next = await runInProcess(scan(copy, target()))
    assert.equal(next.code, 0, `the host is known, no new_host: ${next.stdout}${next.stderr}`)
  })

  it('killed at the WAL write of COMMIT, inside the transaction: the history is exactly as before', async () => {
    const db = copyOf(template)
    assert.equal((await runInProcess(scan(db, target()))).code, 1) // new_host: the baseline
    const segments = readdirSync(join(db, 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f))
    const out = join(work, 'kill-commit.out')
    const paths = segments.flatMap((s) => ['-P', join(db, 'pg_wal', s)])
    const result = await traced(scan(db, target()), out, [...paths, '-e', 'trace=pwrite64', '-e', 'inject=pwrite64:signal=SIGKILL:when=1', '-o', '/dev/null'])
    assert.equal(result.signal, 'SIGKILL', result.stderr)
    assert.equal(await scansRecorded(db), 1)
    const next = await runInProcess(scan(db, target()))
    assert.equal(next.code, 0, `the history is as before the killed scan: ${next.stdout}${next.stderr}`)
    assert.equal(await scansRecorded(db), 2)
  })

  it('killed while probing: nothing recorded, the next scan takes over the lock and sees the history as before', async () => {
    const db = copyOf(template)
    assert.equal((await runInProcess(scan(db, target()))).code, 1)
    const peer = await silentPeer('127.60.6.2')
    try {
      const run = startCli(scan(db, '-T', '60', target(), `127.60.6.2:${peer.port}`), { timeoutMs: 120_000 })
      await waitFor(() => peer.connections() > 0, 60_000, 'the scan to probe')
      run.child.kill('SIGKILL')
      assert.equal((await run.done).signal, 'SIGKILL')
    } finally {
      await peer.close()
    }
    assert.equal(await scansRecorded(db), 1)
    const next = await runInProcess(scan(db, target()))
    assert.equal(next.code, 0, `${next.stdout}${next.stderr}`)
  })
})
