import { Readable } from 'node:stream'
import { main } from '../../src/cli/main.js'
import type { Store } from '../../src/store/store.js'
import { capturedStreams } from './captured-streams.js'
import type { CliResult } from './cli.js'

export interface InProcessOptions {
  /** The open history every command uses (and leaves open) instead of opening --db. */
  history?: Store
  env?: NodeJS.ProcessEnv
  stdin?: string
}

/**
 * Runs the CLI as runCli does, but in this process through main(): the same commander wiring, use
 * cases, renderers and exit codes, without a Node and PGlite start per command. For tests of what a
 * command says and judges; what needs a process of its own (signals, exit by signal, pipes, process
 * titles, locks, --db resolution) spawns with runCli.
 */
export async function runInProcess(args: readonly string[], options: InProcessOptions = {}): Promise<CliResult> {
  const started = Date.now()
  const streams = capturedStreams()
  const code = await main(['node', 'hostkeys', ...args], {
    stdout: streams.stdout,
    stderr: streams.stderr,
    stdin: Readable.from(options.stdin ? [Buffer.from(options.stdin)] : [], { objectMode: false }),
    env: { ...process.env, HOSTKEYS_DB: '', ...options.env },
    ...(options.history ? { history: options.history } : {}),
  })
  await new Promise((resolve) => setImmediate(resolve)) // what the streams still hold
  return { code, signal: null, ...streams.written(), ms: Date.now() - started }
}
