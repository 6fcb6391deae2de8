import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { OperationalError } from '../domain/errors.js'

/* PGlite is one process's database: two processes opening one directory silently lose writes
 * (electric-sql/pglite #323, #1106). So an embedded store holds `hostkeys.lock` in its directory
 * for as long as it is open. The file is written whole to a private name first and then hard-linked
 * into place: link(2) fails with EEXIST atomically, and a reader never sees a half-written holder. */

export interface LockHolder {
  readonly pid: number
  readonly hostname: string
  readonly startedAt: string
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
    return { pid: parsed.pid, hostname: parsed.hostname, startedAt: String(parsed.startedAt ?? '?') }
  } catch {
    return null
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
  const me: LockHolder = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() }
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
      const stale = holder === null ? false : holder.hostname === me.hostname && !isAlive(holder.pid)
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
