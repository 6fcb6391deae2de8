import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { NodeFS } from '@electric-sql/pglite/nodefs'

/* Durability for the embedded store. PGlite runs PostgreSQL with fsync off (`-F` in its default start
 * parameters), and its Node filesystem (Emscripten's NODEFS) has no fsync operation at all: a
 * PostgreSQL fsync() reaches WASI fd_sync, which calls the stream's `fsync` if there is one, and there
 * is none. A committed scan could vanish with the page cache in a power cut.
 *
 * So the embedded store mounts its directory through DurableNodeFS, which gives NODEFS an fsync that
 * is the real fsync(2), and runs PostgreSQL with fsync on and `wal_sync_method=fsync` (fdatasync is a
 * no-op in Emscripten; fsync goes through fd_sync). PostgreSQL's own protocol then applies: COMMIT
 * returns only after the WAL holding it is on disk, and a checkpoint syncs the data files before
 * pg_control points past them. Measured cost: see README, "The store". */

interface NodefsStream {
  readonly nfd: number
}

interface EmscriptenModuleWithNodefs {
  readonly NODEFS?: { stream_ops?: { fsync?: (stream: NodefsStream) => number } }
}

/** PostgreSQL settings that make COMMIT durable through DurableNodeFS. */
export const DURABLE_START_PARAMS: readonly string[] = ['-c', 'fsync=on', '-c', 'wal_sync_method=fsync', '-c', 'synchronous_commit=on']

/** PGlite's default start parameters without `-F` (fsync off), plus DURABLE_START_PARAMS. */
export function durableStartParams(defaults: readonly string[]): string[] {
  return [...defaults.filter((p) => p !== '-F'), ...DURABLE_START_PARAMS]
}

/** NodeFS whose files PostgreSQL can fsync. */
export class DurableNodeFS extends NodeFS {
  /** Whether the fsync operation was installed (false would mean a PGlite this code does not know). */
  installed = false

  override async init(pg: PGlite, options: Parameters<NodeFS['init']>[1]) {
    const result = await super.init(pg, options)
    const install = (module: EmscriptenModuleWithNodefs) => {
      const ops = module.NODEFS?.stream_ops
      if (!ops) return
      ops.fsync ??= (stream) => {
        fsyncSync(stream.nfd)
        return 0
      }
      this.installed = true
    }
    const preRun = result.emscriptenOpts.preRun ?? []
    result.emscriptenOpts.preRun = [install as (typeof preRun)[number], ...preRun]
    return result
  }
}

/**
 * fsync(2) on every file and directory under dir, directories after their contents. For a data
 * directory PGlite's initdb has just written (initdb runs in a second WebAssembly instance, without
 * DurableNodeFS): the first commit's WAL is only as good as the files it replays onto.
 */
export function syncTree(dir: string): number {
  let synced = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) synced += syncTree(path)
    else if (entry.isFile()) synced += syncPath(path)
  }
  return synced + syncPath(dir)
}

function syncPath(path: string): number {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
    return 1
  } finally {
    closeSync(fd)
  }
}
