import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/* Runs the real `hostkeys` executable (bin/hostkeys.js over the compiled dist/), as a user would.
 * `npm test` builds dist/ first. */

export const HOSTKEYS_BIN = fileURLToPath(new URL('../../bin/hostkeys.js', import.meta.url))

export interface CliResult {
  readonly code: number
  /** The signal that ended the process, if one did (then code is 128). */
  readonly signal?: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv
  stdin?: string
  timeoutMs?: number
  /** Run under this command (e.g. ['strace', '-f', ...]); the executable and args follow it. */
  wrapper?: readonly string[]
  cwd?: string
}

export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams
  /** What it wrote so far. */
  readonly output: () => { stdout: string; stderr: string }
  readonly done: Promise<CliResult>
}

/** Spawns the CLI without waiting, so a test can act while it runs (signal it, read /proc). */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests')
  }
  const started = Date.now()
  // Run through its shebang, as a user runs it: that line carries Node flags too.
  const [command, ...prefix] = [...(options.wrapper ?? []), HOSTKEYS_BIN]
  const child = spawn(command!, [...prefix, ...args], {
    env: { ...process.env, HOSTKEYS_DB: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const output = () => ({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : -1), signal, ...output(), ms: Date.now() - started })
    })
  })
  child.stdin.on('error', () => {})
  child.stdin.end(options.stdin ?? '')
  return { child, output, done }
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  try {
    return startCli(args, options).done
  } catch (e) {
    return Promise.reject(e)
  }
}

/** Polls until condition() holds; throws after timeoutMs (keep it generous: machines are shared). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
