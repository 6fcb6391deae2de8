/* Two kinds of error reach the user, and the CLI maps both to exit code 2:
 *   UserError        : the user's input is wrong (flags, inventory lines, fingerprints); fix and retry
 *   OperationalError : the world is wrong (database down, lock held, file unreadable); nothing was written
 * A failure at one scanned host is neither: it is a HostStatus, part of the result. */

export class UserError extends Error {
  override name = 'UserError'
}

export class OperationalError extends Error {
  override name = 'OperationalError'
}
