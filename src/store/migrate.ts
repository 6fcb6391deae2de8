import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { OperationalError } from '../domain/errors.js'

/* migration : a numbered SQL file in migrations/ (`0001_initial.sql`), applied once, in order, in one
 *             transaction with its record in schema_migrations; never edited once landed.
 * The same files run on PostgreSQL and PGlite. Scripts go through each backend's multi-statement
 * path (pg's simple query protocol, PGlite's exec), which kysely's one-statement queries cannot use. */

/** One database session inside a transaction, as the runner needs it. */
export interface MigrationSession {
  /** One statement, with parameters. */
  query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]>
  /** A script of several statements, without parameters. */
  exec(script: string): Promise<void>
}

/** Runs a function in one transaction on one connection. */
export interface MigrationConnection {
  transaction<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T>
}

export interface MigrationFile {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** What a run did, as data (kysely's migrator does the same). */
export interface MigrationReport {
  readonly applied: readonly string[]
  readonly alreadyApplied: readonly string[]
  readonly version: number
}

const FILE_NAME = /^(\d{4})_([a-z0-9][a-z0-9_-]*)\.sql$/

/** Key of the PostgreSQL advisory lock that serialises migration runs across processes ('hkmg'). */
const MIGRATION_LOCK_KEY = 0x686b6d67

/** migrations/ at the package root: two levels above both src/store/ and dist/store/. */
export function defaultMigrationsDir(): string {
  return fileURLToPath(new URL('../../migrations/', import.meta.url))
}

/** Reads and orders the migration files; a stray or duplicate name is a packaging bug, said loudly. */
export function readMigrations(dir: string = defaultMigrationsDir()): MigrationFile[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    throw new OperationalError(`cannot read the migrations directory ${dir}: ${(e as Error).message}`, { cause: e })
  }
  const files: MigrationFile[] = []
  for (const file of names.filter((n) => n.endsWith('.sql')).sort()) {
    const match = FILE_NAME.exec(file)
    if (!match) throw new OperationalError(`${dir}/${file}: a migration is named NNNN_name.sql`)
    const version = Number(match[1])
    if (files.some((f) => f.version === version)) {
      throw new OperationalError(`${dir}/${file}: migration version ${version} appears twice`)
    }
    files.push({ version, name: file.slice(0, -'.sql'.length), sql: readFileSync(`${dir}/${file}`, 'utf8') })
  }
  return files
}

async function appliedVersions(session: MigrationSession): Promise<Map<number, string> | null> {
  const exists = await session.query<{ present: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS present`,
  )
  if (!exists[0]?.present) return null
  const rows = await session.query<{ version: number; name: string }>(`SELECT version, name FROM schema_migrations`)
  return new Map(rows.map((r) => [Number(r.version), r.name]))
}

function pending(files: readonly MigrationFile[], applied: Map<number, string> | null): MigrationFile[] {
  const known = Math.max(0, ...files.map((f) => f.version))
  for (const [version, name] of applied ?? []) {
    if (version > known) {
      throw new OperationalError(
        `the database has migration ${name}, newer than this hostkeys knows (up to ${known}): upgrade hostkeys`,
      )
    }
  }
  return files.filter((f) => !applied?.has(f.version))
}

/**
 * Applies the migrations the database lacks, all in one transaction under an advisory lock, so two
 * processes starting at once apply each file once; a failing file leaves the database as it was.
 */
export async function migrate(
  connection: MigrationConnection,
  files: readonly MigrationFile[] = readMigrations(),
): Promise<MigrationReport> {
  const version = Math.max(0, ...files.map((f) => f.version))
  // Fast path without the lock: the common case is a database that is up to date.
  const before = await connection.transaction((s) => appliedVersions(s))
  if (pending(files, before).length === 0) {
    return { applied: [], alreadyApplied: files.map((f) => f.name), version }
  }
  return connection.transaction(async (session) => {
    await session.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
    await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const applied = await appliedVersions(session)
    const todo = pending(files, applied)
    for (const file of todo) {
      try {
        await session.exec(file.sql)
      } catch (e) {
        throw new OperationalError(`migration ${file.name} failed: ${(e as Error).message}`, { cause: e })
      }
      await session.query(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, [file.version, file.name])
    }
    return {
      applied: todo.map((f) => f.name),
      alreadyApplied: files.filter((f) => !todo.includes(f)).map((f) => f.name),
      version,
    }
  })
}
