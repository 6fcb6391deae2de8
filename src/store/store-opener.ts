import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import { OperationalError, UserError } from '../domain/errors.js'
import { describeLocation, redactSecrets, resolveDatabaseLocation } from './database-location.js'
import { DurableNodeFS, durableStartParams, syncTree } from './durable-nodefs.js'
import { acquireEmbeddedLock, LOCK_FILE } from './embedded-lock.js'
import { installEmbeddedTemplate } from './embedded-template.js'
import { KyselyStore } from './kysely-store.js'
import { migrate, readMigrations, type MigrationConnection } from './migrate.js'
import { createGuardedPool } from './postgres-pool.js'
import type { Database } from './schema.js'
import type { Store } from './store.js'
import { chooseWasmTiers } from './wasm-tiers.js'

export interface OpenStoreOptions {
  /** A postgres:// or postgresql:// URL, a directory for an embedded database, or null for the default. */
  readonly db: string | null
  /** For the default directory ($XDG_DATA_HOME, $HOME); defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** Where the migration files are; defaults to the package's migrations/. */
  readonly migrationsDir?: string
  /** --db-timeout in ms: statement and lock timeout on PostgreSQL, and the client's deadline. Default 60 s. */
  readonly timeoutMs?: number
  /** Whether a missing embedded database may be created (scan, import, db migrate); default true. */
  readonly createIfMissing?: boolean
  /** The command writes in bulk (a scan, an import): the embedded store keeps 16 MB of buffers; any
   * other command, 1 MB (~25 MB less RSS for a lookup, which reads a few pages). Default false. */
  readonly bulk?: boolean
  /** The embedded PostgreSQL runs long enough for V8's optimising compiler to pay off (wasm-tiers.ts):
   * a scan of many targets, an import. Default: the same as `bulk`. */
  readonly longRunning?: boolean
}

/** The one default of `--db-timeout`: every statement and lock wait of a command. */
export const DEFAULT_DB_TIMEOUT_SECONDS = 60
export const DEFAULT_DB_TIMEOUT_MS = DEFAULT_DB_TIMEOUT_SECONDS * 1000

/** Entries of a directory that a data directory (or one whose making was cut short) does not hold. */
function strangers(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return [] // missing: it will be made
  }
  return names.filter((name) => name !== LOCK_FILE && !/^(PG_VERSION|base|global|pg_\w+(\.conf)?|postgresql(\.auto)?\.conf|postmaster\.\w+)$/.test(name))
}

/**
 * Opens the history: connects (or takes the embedded directory's lock), applies pending migrations,
 * and returns the Store. A database that is down, locked or unmigratable is an OperationalError here,
 * before anything is written; no message carries a password.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const env = options.env ?? process.env
  const location = resolveDatabaseLocation(options.db, env)
  const where = describeLocation(location)
  const files = readMigrations(options.migrationsDir)
  const secrets = (text: string) => {
    let out = redactSecrets(text, location.kind === 'postgres' ? location.url : null)
    const pgPassword = env['PGPASSWORD']
    if (pgPassword) out = out.split(pgPassword).join('***')
    return out
  }

  if (location.kind === 'postgres') {
    const pool = await createGuardedPool({ connectionString: location.url, timeoutMs: options.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS })
    try {
      const client = await pool.connect()
      client.release()
    } catch (e) {
      // Ends every socket, also one whose authentication failed client-side (an empty password):
      // left open, it would keep the process alive until the server's authentication_timeout.
      await pool.end()
      throw new OperationalError(`cannot connect to PostgreSQL at ${where}: ${secrets((e as Error).message)}`, { cause: e })
    }
    const connection: MigrationConnection = {
      async transaction(fn) {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          const result = await fn({
            query: async (text, params) => (await client.query(text, params ? [...params] : undefined)).rows,
            exec: async (script) => {
              await client.query(script) // no parameters: the simple protocol runs several statements
            },
          })
          await client.query('COMMIT')
          return result
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {})
          throw e
        } finally {
          client.release()
        }
      },
    }
    let migrations
    try {
      migrations = await migrate(connection, files)
    } catch (e) {
      await pool.end()
      if (e instanceof OperationalError) throw new OperationalError(`${where}: ${secrets(e.message)}`, { cause: e })
      throw new OperationalError(`migrating ${where} failed: ${secrets((e as Error).message)}`, { cause: e })
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    // kysely ends the pool only if a query ever went through it (`db migrate` runs none): end it here
    // too, or its idle connections would hold the process for pg's 10 s idle timeout.
    return new KyselyStore(db, { backend: 'postgres', location: where, migrations, redact: secrets, onClose: () => pool.end() })
  }

  const existed = existsSync(join(location.dir, 'PG_VERSION'))
  if (!existed && options.createIfMissing === false) {
    // Only scan, import and db migrate create a history: a read on a mistyped directory must not
    // silently make a new, empty one (seconds and hundreds of MB) and answer "no match".
    throw new UserError(`no history at ${where}; run a scan first or pass --db`)
  }
  if (!existed) {
    // A directory of someone's files is not a new store: PostgreSQL's files would be written among them.
    const foreign = strangers(location.dir)
    if (foreign.length > 0) {
      throw new UserError(
        `${where} is not a hostkeys history (no PG_VERSION) and is not empty (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); ` +
          `pass --db a new or empty directory`,
      )
    }
  }
  try {
    mkdirSync(location.dir, { recursive: true, mode: 0o700 })
  } catch (e) {
    throw new OperationalError(`cannot create the embedded database directory ${where}: ${(e as Error).message}`, { cause: e })
  }
  const lock = acquireEmbeddedLock(location.dir)
  try {
    // A new directory gets the data directory made at build time, instead of PGlite's initdb (a second
    // WebAssembly PostgreSQL, ~2.5 s and ~800 MB); without a template for this PGlite, initdb it is.
    const templated = !existed && installEmbeddedTemplate(location.dir)
    const { PGlite } = await import('@electric-sql/pglite')
    let pglite
    try {
      const fs = new DurableNodeFS(location.dir)
      chooseWasmTiers(options.longRunning ?? options.bulk ?? false) // a lookup: Liftoff only (wasm-tiers.ts)
      pglite = await PGlite.create({
        fs,
        // PGlite's PostgreSQL keeps its buffers inside the process's WebAssembly memory, which never
        // shrinks: PostgreSQL's default 128 MB of shared_buffers fill up during a large scan and stay
        // in our RSS. The data directory is on disk and the OS caches it anyway; 16 MB is plenty.
        // durableStartParams: fsync on, so that a committed scan survives a power cut.
        startParams: [...durableStartParams(PGlite.defaultStartParams), '-c', `shared_buffers=${options.bulk ? '16MB' : '1MB'}`],
      })
      if (!fs.installed) {
        await pglite.close().catch(() => {})
        throw new Error('this PGlite has no Emscripten NODEFS to give an fsync to; commits would not be durable')
      }
      // initdb wrote the new directory without syncing it; the WAL of the first commit replays onto it.
      // (A template was synced as it was written.)
      if (!existed && !templated) syncTree(location.dir)
    } catch (e) {
      throw new OperationalError(`cannot open the embedded database ${where}: ${(e as Error).message}`, { cause: e })
    }
    const instance = pglite
    const connection: MigrationConnection = {
      transaction: (fn) =>
        instance.transaction((tx) =>
          fn({
            query: async (text, params) => (await tx.query(text, params ? [...params] : undefined)).rows as never[],
            exec: async (script) => {
              await tx.exec(script)
            },
          }),
        ),
    }
    let migrations
    try {
      migrations = await migrate(connection, files)
    } catch (e) {
      await instance.close().catch(() => {})
      if (e instanceof OperationalError) throw new OperationalError(`${where}: ${e.message}`, { cause: e })
      throw new OperationalError(`migrating ${where} failed: ${(e as Error).message}`, { cause: e })
    }
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: instance }) })
    return new KyselyStore(db, {
      backend: 'embedded',
      location: where,
      migrations,
      redact: (t) => t,
      onClose: async () => {
        // kysely closes PGlite only if it ever ran a query through it.
        try {
          if (!instance.closed) await instance.close()
        } finally {
          lock.release()
        }
      },
    })
  } catch (e) {
    lock.release()
    throw e
  }
}
