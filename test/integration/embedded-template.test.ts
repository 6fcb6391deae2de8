import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { UserError } from '../../src/domain/errors.js'
import { installedPgliteVersion, installEmbeddedTemplate, TEMPLATE_FILE, usableTemplate } from '../../src/store/embedded-template.js'
import { readMigrations } from '../../src/store/migrate.js'
import { openStore } from '../../src/store/open-store.js'

/* The data directory made at build time (npm run build) and copied into a new embedded store in place
 * of PGlite's initdb. npm test builds first, so the template is there. */

describe('embedded store template', () => {
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-template-test-'))
  after(() => rmSync(work, { recursive: true, force: true }))

  it('exists for the installed PGlite, and its PostgreSQL is the one PGlite runs', async () => {
    assert.ok(existsSync(TEMPLATE_FILE), `no template at ${TEMPLATE_FILE}: run npm run build`)
    const stamp = usableTemplate()
    assert.ok(stamp, 'the template was made with another PGlite than the installed one')
    assert.equal(stamp.pglite, installedPgliteVersion())
    // If PGlite's PostgreSQL moves to a new major version, a template of the old one must not be used.
    // PGlite started on a copy of the template (no initdb of its own: that costs seconds) says which
    // PostgreSQL it runs; it refuses a data directory of another major version.
    const dir = join(work, 'version')
    assert.equal(installEmbeddedTemplate(dir), true)
    const pglite = await PGlite.create(dir)
    try {
      const version = (await pglite.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
      assert.equal(stamp.postgresMajor, version.split('.')[0])
    } finally {
      await pglite.close()
    }
  })

  it('a new store is made from it: migrated, written, read back after reopening', async () => {
    const db = join(work, 'store')
    const store = await openStore({ db })
    try {
      assert.deepEqual(store.migrations.applied, readMigrations().map((m) => m.name))
      const at = new Date()
      await store.recording(async (session) => {
        const scanId = await session.insertScan({ startedAt: at, finishedAt: at, vantage: 'test', request: { keyFamilies: null } })
        await session.writeHosts(scanId, at, new Set(['ed25519']), [])
        return scanId
      })
    } finally {
      await store.close()
    }
    assert.equal(readFileSync(join(db, 'PG_VERSION'), 'utf8').trim(), usableTemplate()!.postgresMajor)
    const again = await openStore({ db })
    try {
      assert.deepEqual(again.migrations.applied, [])
      assert.equal((await again.stats()).scans, 1)
    } finally {
      await again.close()
    }
  })

  it('a copy cut short (no PG_VERSION yet) is copied again, not opened half made', async () => {
    const db = join(work, 'cut')
    assert.equal(installEmbeddedTemplate(db), true)
    rmSync(join(db, 'PG_VERSION'))
    rmSync(join(db, 'global', 'pg_control'))
    const store = await openStore({ db })
    try {
      assert.deepEqual(store.migrations.applied, readMigrations().map((m) => m.name))
      assert.equal((await store.stats()).hosts, 0)
    } finally {
      await store.close()
    }
  })

  it('a directory of other files is refused, and nothing is written into it', async () => {
    const db = join(work, 'documents')
    mkdirSync(db)
    writeFileSync(join(db, 'notes.txt'), 'mine')
    await assert.rejects(openStore({ db }), (e: Error) => e instanceof UserError && /is not a hostkeys history \(no PG_VERSION\) and is not empty \(notes.txt\)/.test(e.message))
    assert.deepEqual(readdirSync(db), ['notes.txt'])
  })
})
