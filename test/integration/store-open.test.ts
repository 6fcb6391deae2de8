import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { recordScan } from '../../src/app/record-scan.js'
import { OperationalError } from '../../src/domain/errors.js'
import { openStore } from '../../src/store/open-store.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { testBackends } from '../support/test-store.js'
import { readMigrations } from '../../src/store/migrate.js'

const backends = testBackends()
const embedded = backends.find((b) => b.name === 'embedded')!
const postgres = backends.find((b) => b.name === 'postgres')
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A second process holding the embedded store open until killed. */
async function holdStore(dir: string) {
  const script = `
    import { openStore } from './src/store/open-store.ts'
    await openStore({ db: ${JSON.stringify(dir)} })
    process.stdout.write('ready\\n')
    setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
  assert.equal(chunk.toString().trim(), 'ready')
  return child
}

describe('embedded store lock', () => {
  it('a second process gets an OperationalError naming the holder; a dead holder\'s lock is taken over', async () => {
    const { db, cleanup } = await embedded.fresh()
    const child = await holdStore(db)
    try {
      await assert.rejects(openStore({ db }), (e: unknown) => {
        assert.ok(e instanceof OperationalError)
        assert.match(e.message, new RegExp(`in use by process ${child.pid} on `))
        return true
      })
      child.kill('SIGKILL')
      await once(child, 'exit')
      const store = await openStore({ db })
      await store.close()
    } finally {
      child.kill('SIGKILL')
      await cleanup()
    }
  })
})

describe('opening PostgreSQL', () => {
  it('a database that is down is an OperationalError without the password', async () => {
    await assert.rejects(openStore({ db: 'postgres://alice:s3cret-pw@127.0.0.1:1/hostkeys' }), (e: unknown) => {
      assert.ok(e instanceof OperationalError)
      assert.match(e.message, /cannot connect to PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/hostkeys/)
      assert.doesNotMatch(e.message, /s3cret-pw/)
      return true
    })
  })

  it('two processes migrating and recording at once do not collide', { skip: postgres ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set' }, async () => {
    const { db, cleanup } = await postgres!.fresh()
    try {
      const [a, b] = await Promise.all([openStore({ db }), openStore({ db })])
      try {
        assert.deepEqual([...a.migrations.applied, ...b.migrations.applied], readMigrations().map((m) => m.name))
        const meta = () => ({ startedAt: new Date(), finishedAt: new Date(), vantage: 'x', request: { keyFamilies: null } })
        const fleet = (seed: string) => ['s1', 's2', 's3'].map((h) => observationOf(h, [syntheticKey('ed25519', `${h}${seed}`)]))
        const [ra, rb] = await Promise.all([recordScan(a, meta(), fleet('')), recordScan(b, meta(), fleet(''))])
        // One of them saw the hosts first; the other saw them as known and unchanged.
        assert.deepEqual([ra.findings.length, rb.findings.length].sort(), [0, 3])
        assert.equal((await a.stats()).sightings, 3)
      } finally {
        await a.close()
        await b.close()
      }
    } finally {
      await cleanup()
    }
  })
})
