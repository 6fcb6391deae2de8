import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { OperationalError } from '../../src/domain/errors.js'
import { acquireEmbeddedLock, LOCK_FILE, processStartTicks } from '../../src/store/embedded-lock.js'

/* Issue 9, item 7: a lock file whose PID now belongs to an unrelated live process (after a reboot, or
 * once PIDs wrap) must not block the store forever; a lock whose holder really runs must, naming it. */

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()

describe('embedded lock and reused PIDs', () => {
  let other: ChildProcess
  let otherStart: number
  const dirs: string[] = []
  before(() => {
    // An unrelated live process, standing for whatever got the dead holder's PID.
    other = spawn('sleep', ['600'], { stdio: 'ignore' })
    otherStart = processStartTicks(other.pid!)!
    assert.ok(Number.isSafeInteger(otherStart))
  })
  after(() => {
    other.kill('SIGKILL')
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  function lockDir(holder: Record<string, unknown>, mtime?: Date): string {
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-lock-'))
    dirs.push(dir)
    const path = join(dir, LOCK_FILE)
    writeFileSync(path, JSON.stringify(holder) + '\n')
    if (mtime) utimesSync(path, mtime, mtime)
    return dir
  }

  const live = () => ({ pid: other.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' })
  const hourAgo = () => new Date(Date.now() - 3_600_000)

  const takenOver: [string, () => string][] = [
    ['the PID now runs a process that started later (start time recorded)', () => lockDir({ ...live(), bootId, processStart: otherStart - 1 })],
    ['the lock was written in an earlier boot', () => lockDir({ ...live(), bootId: '00000000-0000-0000-0000-000000000000', processStart: otherStart })],
    ['an old-format lock, written before its PID\'s process started', () => lockDir(live(), hourAgo())],
  ]
  for (const [why, make] of takenOver) {
    it(`is taken over when ${why}`, () => {
      const dir = make()
      const lock = acquireEmbeddedLock(dir)
      const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>
      assert.equal(holder['pid'], process.pid)
      assert.equal(holder['bootId'], bootId)
      assert.equal(holder['processStart'], processStartTicks(process.pid))
      lock.release()
    })
  }

  const held: [string, () => string][] = [
    ['its holder runs (same PID, boot and start time)', () => lockDir({ ...live(), bootId, processStart: otherStart })],
    ['an old-format lock written while its PID\'s process ran', () => lockDir(live(), new Date())],
    ['it is held from another machine', () => lockDir({ pid: 1, hostname: 'scanner-elsewhere', startedAt: 'then', bootId: 'x', processStart: 1 })],
  ]
  for (const [why, make] of held) {
    it(`is refused, naming the holder, when ${why}`, () => {
      const dir = make()
      const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; hostname: string }
      assert.throws(() => acquireEmbeddedLock(dir), (e: unknown) => {
        assert.ok(e instanceof OperationalError)
        assert.match(e.message, new RegExp(`is in use by process ${holder.pid} on ${holder.hostname} \\(since `))
        return true
      })
      // Still the other holder's file.
      assert.equal((JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number }).pid, holder.pid)
    })
  }
})
