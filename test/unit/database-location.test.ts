import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultEmbeddedDir, redactDatabaseUrl, redactSecrets, resolveDatabaseLocation } from '../../src/store/database-location.js'

describe('resolveDatabaseLocation', () => {
  const table: [string | null, Record<string, string>, unknown][] = [
    ['postgres://u:p@db/hk', {}, { kind: 'postgres', url: 'postgres://u:p@db/hk' }],
    ['postgresql://db/hk', {}, { kind: 'postgres', url: 'postgresql://db/hk' }],
    ['/var/lib/hostkeys', {}, { kind: 'embedded', dir: '/var/lib/hostkeys' }],
    [null, { XDG_DATA_HOME: '/x/data', HOME: '/home/u' }, { kind: 'embedded', dir: '/x/data/hostkeys' }],
    [null, { HOME: '/home/u' }, { kind: 'embedded', dir: '/home/u/.local/share/hostkeys' }],
    [null, { XDG_DATA_HOME: 'relative', HOME: '/home/u' }, { kind: 'embedded', dir: '/home/u/.local/share/hostkeys' }],
  ]
  for (const [db, env, expected] of table) {
    it(`${db ?? 'null'} with ${JSON.stringify(env)}`, () => assert.deepEqual(resolveDatabaseLocation(db, env), expected))
  }
  it('the default honours XDG_DATA_HOME', () => assert.equal(defaultEmbeddedDir({ XDG_DATA_HOME: '/d' }), '/d/hostkeys'))
})

describe('password redaction', () => {
  const table: [string, string][] = [
    ['postgres://alice:s3cret@db.example:5432/hk', 'postgres://alice:***@db.example:5432/hk'],
    ['postgresql://alice:p%40ss@db/hk?sslmode=require', 'postgresql://alice:***@db/hk?sslmode=require'],
    ['postgres://db/hk?password=s3cret', 'postgres://db/hk?password=***'],
    ['postgres://alice@db/hk', 'postgres://alice@db/hk'],
  ]
  for (const [url, expected] of table) {
    it(url.replace(/s3cret|p%40ss/, 'PASSWORD'), () => {
      const shown = redactDatabaseUrl(url)
      assert.equal(shown, expected)
      assert.doesNotMatch(shown, /s3cret|p%40ss|p@ss/)
    })
  }
  it('removes the password from free text, decoded or not', () => {
    const url = 'postgres://alice:p%40ss@db/hk'
    const text = redactSecrets(`connect to ${url} failed: password "p@ss" rejected`, url)
    assert.doesNotMatch(text, /p@ss|p%40ss/)
  })
})
