import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { openStore } from '../../src/store/open-store.js'
import { defaultMigrationsDir } from '../../src/store/migrate.js'
import { testBackends } from '../support/test-store.js'

/* Migration 0009 on a history made before it: the self-reports already recorded become complete
 * statements (the host read all of its own key files), the owners' lists stay partial. The history
 * is made by the migrations up to 0007 with two statements written as 0005 left them; then the
 * store opens with every migration. Both backends. */

const work = mkdtempSync(join(tmpdir(), 'hostkeys-0009-'))
after(() => rmSync(work, { recursive: true, force: true }))

/** migrations/ as it was before 0008, with the statements of an older history appended to 0007's file. */
function olderMigrations(): string {
  const dir = join(work, 'migrations-0007')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const source = defaultMigrationsDir()
  for (const file of readdirSync(source).filter((f) => /^000[1-7]_.*\.sql$/.test(f))) copyFileSync(join(source, file), join(dir, file))
  const last = readdirSync(dir).find((f) => f.startsWith('0007_'))!
  const digest = Buffer.alloc(32, 7).toString('base64')
  const seed = `
INSERT INTO key_statements (host_name, source, stated_at, stated_by) VALUES
  ('web1', 'self-report', '2026-11-01T00:00:00Z', 'self-report by root on web1 from /etc/ssh'),
  ('web1', 'expect', '2026-11-01T00:00:00Z', 'expect by alice from keys.txt');
INSERT INTO stated_keys (statement_id, family, digest_type, digest)
  SELECT id, 'ed25519', 'sha256', decode('${digest}', 'base64') FROM key_statements;
`
  writeFileSync(join(dir, last), readFileSync(join(source, last), 'utf8') + seed)
  return dir
}

describe('migration 0009: statements recorded before it', () => {
  for (const backend of testBackends()) {
    it(`${backend.name}: a self-report becomes complete, an owner's list does not`, async () => {
      const { db, cleanup } = await backend.fresh()
      try {
        const older = await openStore({ db, migrationsDir: olderMigrations() })
        assert.ok(!older.migrations.applied.some((m) => m.startsWith('0009_')))
        await older.close()

        const store = await openStore({ db })
        try {
          assert.ok(store.migrations.applied.includes('0009_statement_complete'), store.migrations.applied.join(', '))
          const statements = await store.keyStatements('web1')
          assert.deepEqual(
            statements.map((s) => [s.source, s.complete]).sort(),
            [
              ['expect', false],
              ['self-report', true],
            ],
          )
        } finally {
          await store.close()
        }
      } finally {
        await cleanup()
      }
    })
  }
})
