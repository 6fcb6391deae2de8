import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { OperationalError } from '../domain/errors.js'

/* PGlite is one process's database: two processes opening one directory silently lose writes
 * (electric-sql/pglite #323, #1106). So an embedded store holds `hostkeys.lock` in its directory
 * for as long as it is open. The file is written whole to a private name first and then hard-linked
 * into place: link(2) fails with EEXIST atomically, and a reader never sees a half-written holder.
 *
 * A PID alone does not name a process for long: after a reboot, or once PIDs wrap, the PID in a lock
 * left by a crash may belong to an unrelated live process. So the holder also records the machine's
 * boot id (/proc/sys/kernel/random/boot_id) and its own start time (field 22 of /proc/PID/stat, in
 * clock ticks since boot): a lock is held only by the process that has that PID, in that boot, since
 * that tick. Lock files written before these fields existed are judged by their age: a process that
 * started after the lock was written cannot be its holder. */

export interface LockHolder {
  readonly pid: number
  readonly hostname: string
  readonly startedAt: string
  /** The holder's boot (Linux boot_id); absent in old lock files and off Linux. */
  readonly bootId?: string
  /** The holder's start, in clock ticks since boot (/proc/PID/stat field 22). */
  readonly processStart?: number
}

export interface EmbeddedLock {
  readonly path: string
  release(): void
}

export const LOCK_FILE = 'hostkeys.lock'

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
    if (typeof parsed.pid !== 'number' || typeof parsed.hostname !== 'string') return null
    return {
      pid: parsed.pid,
      hostname: parsed.hostname,
      startedAt: String(parsed.startedAt ?? '?'),
      ...(typeof parsed.bootId === 'string' ? { bootId: parsed.bootId } : {}),
      ...(typeof parsed.processStart === 'number' ? { processStart: parsed.processStart } : {}),
    }
  } catch {
    return null
  }
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** This boot's id, or null off Linux. */
function currentBootId(): string | null {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || null
}

/** When a process started, in clock ticks since boot (proc(5): field 22 of /proc/PID/stat), or null. */
export function processStartTicks(pid: number): number | null {
  const stat = readProc(`/proc/${pid}/stat`)
  if (stat === null) return null
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[22 - 3])
  return Number.isSafeInteger(ticks) ? ticks : null
}

/** Unix time in ms at which a process started, from the boot time in /proc/stat; null if unknown. */
function processStartedAtMs(pid: number): number | null {
  const ticks = processStartTicks(pid)
  const btime = /^btime (\d+)$/m.exec(readProc('/proc/stat') ?? '')
  // USER_HZ, the unit of /proc/PID/stat times, is 100 on every Linux architecture Node runs on.
  return ticks === null || !btime ? null : Number(btime[1]) * 1000 + ticks * 10
}

/**
 * Whether the holder recorded in a lock file on this machine is still running: its PID is alive,
 * and is the same process (same boot, same start time) rather than a later one given the same PID.
 */
function holderRunning(holder: LockHolder, lockPath: string): boolean {
  const bootId = currentBootId()
  if (holder.bootId && bootId && holder.bootId !== bootId) return false // written before a reboot
  if (!isAlive(holder.pid)) return false
  if (holder.processStart !== undefined) {
    const start = processStartTicks(holder.pid)
    return start === null || start === holder.processStart
  }
  // An old lock file: its PID's process must have started before the file was written.
  const startedAtMs = processStartedAtMs(holder.pid)
  if (startedAtMs === null) return true
  try {
    return startedAtMs <= statSync(lockPath).mtimeMs + 2_000 // tick rounding and clock steps
  } catch {
    return true
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' // alive, but someone else's
  }
}

function describe(holder: LockHolder): string {
  return `process ${holder.pid} on ${holder.hostname} (since ${holder.startedAt})`
}

/**
 * Takes the directory's exclusive lock, or throws an OperationalError naming the holder. A lock left
 * by a dead process on this machine is taken over; one held from another machine is never guessed at.
 */
export function acquireEmbeddedLock(dir: string): EmbeddedLock {
  const path = join(dir, LOCK_FILE)
  const bootId = currentBootId()
  const processStart = processStartTicks(process.pid)
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    ...(bootId ? { bootId } : {}),
    ...(processStart !== null ? { processStart } : {}),
  }
  const draft = join(dir, `.${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`)
  writeFileSync(draft, JSON.stringify(me) + '\n', { mode: 0o644 })
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(draft, path)
        return {
          path,
          release() {
            // Only remove the lock if it is still ours.
            const holder = readHolder(path)
            if (holder && holder.pid === me.pid && holder.hostname === me.hostname && holder.startedAt === me.startedAt) {
              try {
                unlinkSync(path)
              } catch {
                /* already gone */
              }
            }
          },
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new OperationalError(`cannot lock the embedded database ${dir}: ${(e as Error).message}`, { cause: e })
        }
      }
      const holder = readHolder(path)
      const stale = holder === null ? false : holder.hostname === me.hostname && !holderRunning(holder, path)
      if (holder !== null && !stale) {
        throw new OperationalError(
          `the embedded database ${dir} is in use by ${describe(holder)}; wait for it to finish ` +
            `(if that process is gone, delete ${path})`,
        )
      }
      if (holder === null) {
        throw new OperationalError(`the embedded database ${dir} is locked by ${path}, whose holder is unreadable; delete it if no hostkeys is running`)
      }
      // Stale: the holder died on this machine. Remove its file, unless another process already
      // replaced it (a narrow window remains between this read and the unlink), and try again.
      const again = readHolder(path)
      if (again && (again.pid !== holder.pid || again.startedAt !== holder.startedAt)) continue
      try {
        unlinkSync(path)
      } catch {
        /* another process removed it first */
      }
    }
    throw new OperationalError(`the embedded database ${dir} is contended: could not take ${path}`)
  } finally {
    try {
      unlinkSync(draft)
    } catch {
      /* nothing to clean */
    }
  }
}
