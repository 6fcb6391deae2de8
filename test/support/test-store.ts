import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/open-store.js'
import type { Store } from '../../src/store/store.js'

/* Real databases for store tests, never mocks. The embedded backend always: a migrated template
 * directory made once per test file, copied for each store (a cold PGlite create costs seconds).
 * PostgreSQL when HOSTKEYS_TEST_DATABASE_URL is set: a fresh database per store, dropped after. */

export interface OpenedStore {
  readonly store: Store
  /** What `--db` would be for this store. */
  readonly db: string
  /** Closes the store and removes its database. */
  cleanup(): Promise<void>
}

export interface TestBackend {
  readonly name: 'embedded' | 'postgres'
  open(): Promise<OpenedStore>
  /** A database location without a store opened on it (for lock and migration tests). */
  fresh(): Promise<{ db: string; cleanup(): Promise<void> }>
  /** A database a CLI process can open at once, no store open on it: a copy of the migrated embedded
   * template (no cold create in the process), or a fresh PostgreSQL database (the CLI migrates it). */
  database(): Promise<{ db: string; cleanup(): Promise<void> }>
}

let template: string | null = null

async function embeddedTemplate(): Promise<string> {
  if (template) return template
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-template-'))
  const store = await openStore({ db: dir })
  await store.close()
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  template = dir
  return dir
}

const embedded: TestBackend = {
  name: 'embedded',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-db-'))
    return { db: dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
  },
  async database() {
    const source = await embeddedTemplate()
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-db-'))
    cpSync(source, dir, { recursive: true })
    return { db: dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
  },
  async open() {
    const source = await embeddedTemplate()
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-db-'))
    cpSync(source, dir, { recursive: true })
    const store = await openStore({ db: dir })
    return {
      store,
      db: dir,
      async cleanup() {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

/** Runs one statement (CREATE/DROP DATABASE) on the admin connection of a PostgreSQL server. */
export async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

function postgres(adminUrl: string): TestBackend {
  const admin = (statement: string) => adminQuery(adminUrl, statement)
  async function fresh() {
    const name = `hostkeys_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return {
      db: url.toString(),
      cleanup: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    }
  }
  return {
    name: 'postgres',
    fresh,
    database: fresh,
    async open() {
      const database = await fresh()
      const store = await openStore({ db: database.db })
      return {
        store,
        db: database.db,
        async cleanup() {
          await store.close()
          await database.cleanup()
        },
      }
    },
  }
}

/** The backends to run store tests on: embedded always, PostgreSQL when configured. */
export function testBackends(): TestBackend[] {
  const url = process.env['HOSTKEYS_TEST_DATABASE_URL']
  return url ? [embedded, postgres(url)] : [embedded]
}

/** A database of its own for one CLI scenario: a migrated embedded directory, or a fresh PostgreSQL database. */
export interface ScenarioBackend {
  readonly name: 'embedded' | 'postgres'
  database(): Promise<{ db: string; cleanup(): Promise<void> }>
}

/**
 * The backends for CLI end-to-end scenarios: embedded copies of one migrated template made under
 * `work` (a cold PGlite create costs seconds, a copy milliseconds), and PostgreSQL when configured.
 */
export function scenarioBackends(work: string): ScenarioBackend[] {
  let made: string | null = null
  const embeddedScenario: ScenarioBackend = {
    name: 'embedded',
    async database() {
      if (!made) {
        made = join(work, 'template')
        await (await openStore({ db: made })).close()
      }
      const db = mkdtempSync(join(work, 'db-'))
      cpSync(made, db, { recursive: true })
      return { db, cleanup: async () => rmSync(db, { recursive: true, force: true }) }
    },
  }
  const pg = testBackends().find((b) => b.name === 'postgres')
  return [embeddedScenario, ...(pg ? [{ name: 'postgres' as const, database: () => pg.fresh() }] : [])]
}
