import { Command, CommanderError } from 'commander'
import { oneLine } from '../domain/echo.js'
import { OperationalError, UserError } from '../domain/errors.js'
import { redactSecrets } from '../store/database-location.js'
import { writeLine, type CommandContext } from './context.js'
import { CommandLifecycle, Interrupted, UnexpectedFailure } from './lifecycle.js'
import { registerDemo } from './commands/demo.js'
import { registerLookup } from './commands/lookup.js'
import { registerHistory } from './commands/history.js'
import { registerFindings } from './commands/findings.js'
import { registerAccept } from './commands/accept.js'
import { registerAllowShared } from './commands/allow-shared.js'
import { registerRevoke } from './commands/revoke.js'
import { registerWaive } from './commands/waive.js'
import { registerKnownHosts } from './commands/known-hosts.js'
import { registerImport } from './commands/import.js'
import { registerPrune } from './commands/prune.js'
import { registerDb } from './commands/db.js'
import { registerScan } from './commands/scan.js'
import { registerSshfp } from './commands/sshfp.js'
import { registerCa } from './commands/ca.js'
import { registerAudit } from './commands/audit.js'
import { registerExpect } from './commands/expect.js'
import { registerSelfReport } from './commands/self-report.js'
import { registerPublish } from './commands/publish.js'
import { registerReport } from './commands/report.js'
import { registerRun } from './commands/run.js'
import { registerWorker } from './commands/worker.js'
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js'
import { packageVersion } from './version.js'

/* The CLI is wiring only: commander parses, a command calls one use case, renders, and sets the
 * exit code. Exit codes, in one place:
 *   0    success, no finding at or above --fail-on
 *   1    findings at or above --fail-on (lookup: nothing matched); only ever set by a command that
 *        finished its work
 *   2    everything else that went wrong: usage errors, unreadable or malformed input, operational
 *        failures (database down, lost, too slow or locked), and any unexpected exception
 *   130  interrupted by SIGINT; 143 by SIGTERM (128 + the signal, as shells report it)
 * Whatever the failure, stderr gets one line (a stack trace only with HOSTKEYS_DEBUG set). */

export { EXIT_ERROR, EXIT_FINDINGS, EXIT_OK } from './exit-codes.js'

export type CommandRegistrar = (program: Command, context: CommandContext) => void

/** Every command module registers itself here. */
const REGISTRARS: CommandRegistrar[] = [
  registerScan,
  registerLookup,
  registerHistory,
  registerFindings,
  registerAccept,
  registerAllowShared,
  registerWaive,
  registerRevoke,
  registerKnownHosts,
  registerImport,
  registerCa,
  registerExpect,
  registerSelfReport,
  registerSshfp,
  registerAudit,
  registerPublish,
  registerReport,
  registerPrune,
  registerDb,
  registerDemo,
  registerRun,
  registerWorker,
]

export function buildProgram(context: CommandContext, registrars: readonly CommandRegistrar[] = REGISTRARS): Command {
  const program = new Command('hostkeys')
    .description('SSH host-key and fingerprint inventory for fleets of servers')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      // commander quotes bad flags and values back: escape them as any other echoed input.
      outputError: (text, write) => write(text.split('\n').map((line) => oneLine(line)).join('\n')),
    })
    .exitOverride()
  for (const register of registrars) register(program, context)
  // Subcommands inherit the parent's output and exit handling.
  for (const command of program.commands) command.copyInheritedSettings(program)
  return program
}

/** Runs the CLI on argv (as process.argv: node, script, args…) and returns the exit code. */
export async function main(argv: readonly string[], partial: Partial<CommandContext> = {}): Promise<number> {
  const lifecycle = partial.lifecycle ?? new CommandLifecycle()
  const context: CommandContext = {
    stdout: partial.stdout ?? process.stdout,
    stderr: partial.stderr ?? process.stderr,
    stdin: partial.stdin ?? process.stdin,
    env: partial.env ?? process.env,
    exitCode: EXIT_OK,
    lifecycle,
    ...(partial.history ? { history: partial.history } : {}),
  }
  const program = buildProgram(context)
  try {
    await lifecycle.race(program.parseAsync([...argv]))
    return context.exitCode
  } catch (e) {
    const problems = await lifecycle.runFailureHooks(e)
    const code = exitCodeForError(e, context)
    for (const problem of problems) writeLine(context.stderr, `hostkeys: also: ${oneLine(problem)}`)
    return code
  }
}

function exitCodeForError(e: unknown, context: CommandContext): number {
  if (e instanceof CommanderError) {
    // --help and --version end through here with exit code 0; commander already printed.
    return e.exitCode === 0 ? EXIT_OK : EXIT_ERROR
  }
  const say = (text: string) => writeLine(context.stderr, `hostkeys: ${oneLine(text)}`)
  if (e instanceof Interrupted) {
    say(context.lifecycle ? context.lifecycle.describe(e) : e.message)
    return e.exitCode
  }
  // The stack's frames only: a driver's raw message could hold what the line above redacted.
  const debug = (error: unknown) => {
    if (!context.env['HOSTKEYS_DEBUG'] || !(error instanceof Error) || !error.stack) return
    const frames = error.stack.split('\n').filter((line) => /^\s+at /.test(line))
    context.stderr.write(`${error.name}\n${frames.join('\n')}\n`)
  }
  if (e instanceof UserError || e instanceof OperationalError) {
    say(e.message)
    debug(e.cause ?? e) // where the driver's own error came from, when there is one
    return EXIT_ERROR
  }
  // Nobody wrote this message for a user: mask anything in it that looks like a URL's credentials.
  const error = e instanceof UnexpectedFailure ? e.error : e
  say(redactSecrets(`internal error: ${error instanceof Error ? error.message : String(error)}`, null))
  if (context.env['HOSTKEYS_DEBUG'] && error instanceof Error && error.stack) context.stderr.write(`${redactSecrets(error.stack, null)}\n`)
  return EXIT_ERROR
}
