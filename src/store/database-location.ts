import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/* database location : where the history lives: a PostgreSQL URL, or a directory holding an embedded
 *                     (PGlite) database. `--db`/HOSTKEYS_DB are resolved by the caller; null means the
 *                     embedded default under $XDG_DATA_HOME. */

export type DatabaseLocation =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dir: string }

const POSTGRES_URL = /^postgres(ql)?:\/\//i

/** `${XDG_DATA_HOME:-~/.local/share}/hostkeys` (XDG Base Directory spec: a relative value is ignored). */
export function defaultEmbeddedDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME']
  const base = xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] || homedir(), '.local', 'share')
  return join(base, 'hostkeys')
}

export function resolveDatabaseLocation(db: string | null, env: NodeJS.ProcessEnv = process.env): DatabaseLocation {
  if (db === null || db === '') return { kind: 'embedded', dir: defaultEmbeddedDir(env) }
  if (POSTGRES_URL.test(db)) return { kind: 'postgres', url: db }
  return { kind: 'embedded', dir: resolve(db) }
}

/**
 * The URL with its password replaced by `***`, for every message that names a database. Also covers
 * `password=` in the query string, and degrades to a bare `postgres://***` when the URL does not parse.
 */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    for (const key of [...parsed.searchParams.keys()]) {
      if (/^(password|sslpassword|sslkey)$/i.test(key)) parsed.searchParams.set(key, '***')
    }
    return parsed.toString().replace(/%2A%2A%2A/g, '***')
  } catch {
    return url.replace(/^(postgres(?:ql)?:\/\/)[^@/]*@/i, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***')
  }
}

/** Removes a password from free text (a driver's error message could echo the URL or a conninfo). */
export function redactSecrets(text: string, url: string | null): string {
  let out = text
  if (url) {
    try {
      const password = decodeURIComponent(new URL(url).password)
      if (password) out = out.split(password).join('***')
    } catch {
      /* unparseable URL: nothing more to remove */
    }
    out = out.split(url).join(redactDatabaseUrl(url))
  }
  return out.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***')
}

/** What messages call the location: the redacted URL, or the directory. */
export function describeLocation(location: DatabaseLocation): string {
  return location.kind === 'postgres' ? redactDatabaseUrl(location.url) : location.dir
}
