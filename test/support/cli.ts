import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/* Runs the real `hostkeys` executable (bin/hostkeys.js over the compiled dist/), as a user would.
 * `npm test` builds dist/ first. */

export const HOSTKEYS_BIN = fileURLToPath(new URL('../../bin/hostkeys.js', import.meta.url))

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests')
  }
  const started = Date.now()
  return new Promise((resolve, reject) => {
    // Run through its shebang, as a user runs it: that line carries Node flags too.
    const child = spawn(HOSTKEYS_BIN, [...args], {
      env: { ...process.env, HOSTKEYS_DB: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
      })
    })
    child.stdin.end(options.stdin ?? '')
  })
}
