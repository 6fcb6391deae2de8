import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { echoInput } from '../domain/echo.js'
import { UserError } from '../domain/errors.js'

/* database location : where the history lives: a PostgreSQL URL, or a directory holding an embedded
 *                     (PGlite) database. `--db`/HOSTKEYS_DB are resolved by the caller; null means the
 *                     embedded default under $XDG_DATA_HOME. */

export type DatabaseLocation =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dir: string }

const POSTGRES_URL = /^postgres(ql)?:\/\//i
/** `scheme:` at the start, as RFC 3986 §3.1 spells a scheme: what a URL of any kind looks like. */
const URL_LIKE = /^([A-Za-z][A-Za-z0-9+.-]*:)(\/*)([^]*)$/

/** `${XDG_DATA_HOME:-~/.local/share}/hostkeys` (XDG Base Directory spec: a relative value is ignored). */
export function defaultEmbeddedDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME']
  const base = xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] || homedir(), '.local', 'share')
  return join(base, 'hostkeys')
}

/**
 * `--db` (or $HOSTKEYS_DB) as a location. Only postgres:// and postgresql:// are URLs; any other
 * `scheme:` value (`postgress://`, `postgres:/`, `mysql://`) is a UserError, never a directory name: a
 * typo must not scan into a new, empty history.
 */
export function resolveDatabaseLocation(db: string | null, env: NodeJS.ProcessEnv = process.env): DatabaseLocation {
  if (db === null || db === '') return { kind: 'embedded', dir: defaultEmbeddedDir(env) }
  if (POSTGRES_URL.test(db)) {
    try {
      new URL(db)
    } catch {
      throw new UserError(
        `the database ${echoInput(redactDatabaseUrl(db))} is not a valid PostgreSQL URL: percent-encode @ : / ? # % ` +
          'in the user name and password, or leave the password out and use PGPASSWORD or ~/.pgpass',
      )
    }
    return { kind: 'postgres', url: db }
  }
  if (URL_LIKE.test(db)) {
    throw new UserError(
      `the database ${echoInput(redactDatabaseUrl(db))} is not a PostgreSQL URL: only postgres:// and postgresql:// ` +
        'URLs are; a directory whose name has a colon is written ./NAME',
    )
  }
  return { kind: 'embedded', dir: resolve(db) }
}

/**
 * Any URL-like value (`scheme:`, slashes or not) with everything between the slashes and its LAST `@`
 * replaced by `***`, parsed or not: a password may hold an unencoded `@`, `/` or `#` that a parser
 * would take for the end of the user information. `password=` in the query string is masked too.
 */
export function redactDatabaseUrl(value: string): string {
  const match = URL_LIKE.exec(value)
  if (!match) return value
  const [, scheme, slashes, rest] = match as unknown as [string, string, string, string]
  const at = rest.lastIndexOf('@')
  const masked = at >= 0 ? `${scheme}${slashes}***${rest.slice(at)}` : value
  return masked.replace(/([?&](?:password|sslpassword|sslkey)=)[^&#]*/gi, '$1***')
}

/** The strings a URL's user information could leak as: whole, the password raw and decoded. */
function secretsOf(url: string): string[] {
  const match = URL_LIKE.exec(url)
  if (!match) return []
  const rest = match[3]!
  const at = rest.lastIndexOf('@')
  if (at < 0) return []
  const userinfo = rest.slice(0, at)
  const colon = userinfo.indexOf(':')
  const secrets = [userinfo]
  if (colon >= 0) {
    const password = userinfo.slice(colon + 1)
    secrets.push(password)
    try {
      secrets.push(decodeURIComponent(password))
    } catch {
      /* not percent-encoded: the raw form is enough */
    }
  }
  try {
    secrets.push(decodeURIComponent(new URL(url).password))
  } catch {
    /* unparseable: the raw forms above are all there is */
  }
  // Longest first, so a password that contains another candidate is removed whole.
  return [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length)
}

/** Removes a password from free text (a driver's error message could echo the URL or a conninfo). */
export function redactSecrets(text: string, url: string | null): string {
  let out = text
  if (url) {
    out = out.split(url).join(redactDatabaseUrl(url))
    for (const secret of secretsOf(url)) out = out.split(secret).join('***')
  }
  return out
    .replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)\S*@/g, '$1***@')
    .replace(/(password=)[^&\s]*/gi, '$1***')
}

/**
 * Command-line arguments as `ps` may show them: every URL-like argument, or `--flag=URL`, goes through
 * redactDatabaseUrl (for the process title; see src/cli/run-process.ts).
 */
export function redactArguments(args: readonly string[]): string[] {
  return args.map((arg) => {
    const flag = /^(--?[A-Za-z0-9-]+=)([^]*)$/.exec(arg)
    if (flag) return `${flag[1]}${redactDatabaseUrl(flag[2]!)}`
    return redactDatabaseUrl(arg)
  })
}

/** What messages call the location: the redacted URL, or the directory. */
export function describeLocation(location: DatabaseLocation): string {
  return location.kind === 'postgres' ? redactDatabaseUrl(location.url) : location.dir
}
