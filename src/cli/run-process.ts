import { CommandLifecycle, Interrupted, UnexpectedFailure, type StopSignal } from './lifecycle.js'
import { EXIT_ERROR, main } from './main.js'
import { hidePasswordsFromPs } from './process-title.js'

/* The process around main: what only the executable does (bin/hostkeys.js calls runProcess).
 *   - The process title hides passwords (see process-title.ts; bin/hostkeys.js sets it first).
 *   - SIGINT and SIGTERM stop the command through its lifecycle (main reports and exits 130/143); a
 *     second one exits at once.
 *   - An uncaughtException or unhandledRejection is a failure like any other: exit 2, one line.
 *   - Nothing left open (a socket, a timer) can keep a finished command alive: it exits. */

/** How long a command may take to wind down after an unexpected failure before the process just exits. */
const UNEXPECTED_FAILURE_GRACE_MS = 90_000

export async function runProcess(argv: readonly string[]): Promise<never> {
  // Until main returns, anything that ends the process early ends it as a failure.
  process.exitCode = EXIT_ERROR
  hidePasswordsFromPs(argv)
  // Deprecation notices are for developers, not cron mail: pg prints one whenever it reads ~/.pgpass,
  // which README recommends. HOSTKEYS_DEBUG shows them.
  if (!process.env['HOSTKEYS_DEBUG']) process.noDeprecation = true

  const lifecycle = new CommandLifecycle()
  for (const signal of ['SIGINT', 'SIGTERM'] as const satisfies readonly StopSignal[]) {
    process.on(signal, () => {
      if (lifecycle.signal.aborted) process.exit(new Interrupted(signal).exitCode)
      lifecycle.abort(new Interrupted(signal))
    })
  }
  const unexpected = (error: unknown) => {
    if (lifecycle.signal.aborted) return // already winding down; main reports the first failure
    lifecycle.abort(new UnexpectedFailure(error))
    setTimeout(() => process.exit(EXIT_ERROR), UNEXPECTED_FAILURE_GRACE_MS).unref()
  }
  process.on('uncaughtException', unexpected)
  process.on('unhandledRejection', unexpected)
  // A reader that goes away (`hostkeys scan … | head`) is not an error worth a message.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    unexpected(error)
  })

  const code = await main(argv, { lifecycle })
  // A write to a pipe that is full (a reader slower than us: `run wait --format json | jq`) is
  // queued by libuv, and process.exit drops the queue: wait until what was written has gone out.
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  process.exit(code)
}

/** Resolves once everything written to the stream before it was handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    stream.write('', () => resolve())
    // A reader gone away (EPIPE) ends the wait too: the error handler above exits.
    stream.once('error', () => resolve())
  })
}
