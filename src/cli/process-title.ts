import { redactArguments } from '../store/database-location.js'

/* `ps` shows /proc/PID/cmdline, readable by every user. On Linux, Node's process.title overwrites that
 * memory (libuv writes the title over the original argument area and zero-fills the rest), so once it
 * is set a --db URL shows as postgres://***@host/db for the rest of the run. The moments before it is
 * set remain: README recommends PGPASSFILE/~/.pgpass, PGPASSWORD or HOSTKEYS_DB for passwords. */

/** `hostkeys ARGS...` with URL-like arguments masked, as `ps` should show the process. */
export function processTitle(argv: readonly string[]): string {
  return ['hostkeys', ...redactArguments(argv.slice(2))].join(' ')
}

/** Sets the process title to processTitle(argv); idempotent and cheap, so callable first thing. */
export function hidePasswordsFromPs(argv: readonly string[]): void {
  try {
    process.title = processTitle(argv)
  } catch {
    /* a platform without a settable title: nothing to hide there */
  }
}
