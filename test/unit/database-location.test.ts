import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UserError } from '../../src/domain/errors.js'
import {
  defaultEmbeddedDir,
  redactArguments,
  redactDatabaseUrl,
  redactSecrets,
  resolveDatabaseLocation,
} from '../../src/store/database-location.js'

describe('resolveDatabaseLocation', () => {
  const table: [string | null, Record<string, string>, unknown][] = [
    ['postgres://u:p@db/hk', {}, { kind: 'postgres', url: 'postgres://u:p@db/hk' }],
    ['postgresql://db/hk', {}, { kind: 'postgres', url: 'postgresql://db/hk' }],
    ['POSTGRES://db/hk', {}, { kind: 'postgres', url: 'POSTGRES://db/hk' }],
    ['postgres://', {}, { kind: 'postgres', url: 'postgres://' }],
    ['/var/lib/hostkeys', {}, { kind: 'embedded', dir: '/var/lib/hostkeys' }],
    ['./backup:2024', {}, { kind: 'embedded', dir: `${process.cwd()}/backup:2024` }],
    [null, { XDG_DATA_HOME: '/x/data', HOME: '/home/u' }, { kind: 'embedded', dir: '/x/data/hostkeys' }],
    [null, { HOME: '/home/u' }, { kind: 'embedded', dir: '/home/u/.local/share/hostkeys' }],
    [null, { XDG_DATA_HOME: 'relative', HOME: '/home/u' }, { kind: 'embedded', dir: '/home/u/.local/share/hostkeys' }],
  ]
  for (const [db, env, expected] of table) {
    it(`${db ?? 'null'} with ${JSON.stringify(env)}`, () => assert.deepEqual(resolveDatabaseLocation(db, env), expected))
  }
  it('the default honours XDG_DATA_HOME', () => assert.equal(defaultEmbeddedDir({ XDG_DATA_HOME: '/d' }), '/d/hostkeys'))

  // Issue 7: a typo must not become a directory holding a new, empty history.
  for (const typo of ['postgress://db/hk', 'postgres:/db/hk', 'postgres:db', 'mysql://root:hunter22@db/hk', 'sqlite:hk.db', 'backup:2024']) {
    it(`${typo} is not a PostgreSQL URL`, () => {
      assert.throws(() => resolveDatabaseLocation(typo, {}), (e: unknown) => {
        assert.ok(e instanceof UserError)
        assert.match(e.message, /is not a PostgreSQL URL/)
        assert.doesNotMatch(e.message, /hunter22/)
        return true
      })
    })
  }
  it('a postgres:// URL that does not parse is refused without echoing its password', () => {
    assert.throws(() => resolveDatabaseLocation('postgres://bob:p@ss:w/rd?#%x@127.0.0.1:5499/db', {}), (e: unknown) => {
      assert.ok(e instanceof UserError)
      assert.match(e.message, /postgres:\/\/\*\*\*@127\.0\.0\.1:5499\/db is not a valid PostgreSQL URL/)
      assert.doesNotMatch(e.message, /p@ss|ss:w|rd\?|%x/)
      return true
    })
  })
})

describe('password redaction', () => {
  // Everything between :// and the LAST @ is masked, whether or not the URL parses.
  const table: [string, string][] = [
    ['postgres://alice:s3cret@db.example:5432/hk', 'postgres://***@db.example:5432/hk'],
    ['postgresql://alice:p%40ss@db/hk?sslmode=require', 'postgresql://***@db/hk?sslmode=require'],
    ['postgres://bob:p@ss:w/rd?#%x@127.0.0.1:5499/db', 'postgres://***@127.0.0.1:5499/db'],
    ['postgresql://alice:@db/hk', 'postgresql://***@db/hk'],
    ['postgres://db/hk?password=s3cret', 'postgres://db/hk?password=***'],
    ['postgres://alice@db/hk', 'postgres://***@db/hk'],
    ['postgres://db/hk', 'postgres://db/hk'],
    ['mysql://root:s3cret@db/hk', 'mysql://***@db/hk'],
    ['postgres:/alice:s3cret@db/hk', 'postgres:/***@db/hk'],
    ['/var/lib/hostkeys', '/var/lib/hostkeys'],
  ]
  for (const [url, expected] of table) {
    it(url.replace(/s3cret|p%40ss|p@ss:w\/rd\?#%x/, 'PASSWORD'), () => {
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
  it('removes a password that no parser can find from free text', () => {
    const url = 'postgres://bob:p@ss:w/rd?#%x@127.0.0.1:5499/db'
    const text = redactSecrets(`failed for ${url} and for p@ss:w/rd?#%x; see postgres://carol:x@y@h/db`, url)
    assert.equal(text, 'failed for postgres://***@127.0.0.1:5499/db and for ***; see postgres://***@h/db')
  })
  it('masks URL-like arguments for the process title, as values and as --flag=value', () => {
    assert.deepEqual(redactArguments(['scan', '--db', 'postgres://a:b c@h/d', '--db=postgresql://a:b@h/d', 'host1']), [
      'scan',
      '--db',
      'postgres://***@h/d',
      '--db=postgresql://***@h/d',
      'host1',
    ])
  })
})
