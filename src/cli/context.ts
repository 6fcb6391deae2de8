import type { Readable, Writable } from 'node:stream'
import type { Store } from '../store/store.js'
import type { CommandLifecycle } from './lifecycle.js'

/** What a command may touch of the process: its streams, its environment, and its exit code. */
export interface CommandContext {
  readonly stdout: Writable & { isTTY?: boolean }
  readonly stderr: Writable & { isTTY?: boolean }
  readonly stdin: Readable
  readonly env: NodeJS.ProcessEnv
  exitCode: number
  /** Signals and failure hooks; main always provides one (tests that drive commander directly may not). */
  readonly lifecycle?: CommandLifecycle
  /** A history already open, which every command uses instead of opening --db, and leaves open: a
   * caller running many commands on one history (the tests: one open store per file, not one Node and
   * PGlite start per command). */
  readonly history?: Store
}

/** Writes a line (or lines) to a stream. */
export function writeLine(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`)
}
