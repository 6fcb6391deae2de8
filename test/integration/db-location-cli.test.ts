import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { runCli } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { assertOneLine, silentPeer } from '../support/faults.js'

/* Issue 7, item 3 (the bullet on --db): a typo in --db must not scan into a new, empty history, and a
 * read on a directory without a database must not create one there (it used to: 7 s, 800 MB, then
 * "no match"). Nothing here opens a database: every case ends before that. A silent peer on
 * 127.60.7.1 shows that a refused scan probes nothing. The CLI runs in this process (main(): the same
 * resolution of --db, HOSTKEYS_DB and HOME, and exit codes), but for the scans whose relative --db
 * must land in a working directory of their own. */

describe('--db: what is a URL, and who may create a history', () => {
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-dbloc-'))
  after(() => rmSync(work, { recursive: true, force: true }))

  const readers: string[][] = [
    ['lookup', 'web1.example.test'],
    ['history', 'web1.example.test'],
    ['findings'],
    ['known-hosts'],
    ['sshfp', 'web1.example.test'],
    ['accept', 'web1.example.test'],
    ['allow-shared', 'a.example.test', 'b.example.test'],
    ['prune', '--older-than', '90d'],
  ]
  for (const args of readers) {
    it(`${args[0]} on a missing embedded database: exit 2, and nothing is created`, async () => {
      const missing = join(work, `missing-${args[0]}`)
      const result = await runInProcess([...args, '--db', missing])
      assert.equal(result.code, 2, result.stderr)
      assertOneLine(result.stderr, new RegExp(`^hostkeys: no history at ${missing}; run a scan first or pass --db$`))
      assert.equal(existsSync(missing), false)
    })
  }

  it('the default location and HOSTKEYS_DB are held to the same rule', async () => {
    const home = join(work, 'home')
    const viaDefault = await runInProcess(['findings'], { env: { HOME: home, XDG_DATA_HOME: '' } })
    assert.equal(viaDefault.code, 2)
    assertOneLine(viaDefault.stderr, new RegExp(`no history at ${home}/\\.local/share/hostkeys;`))
    assert.equal(existsSync(home), false)
    const viaEnv = await runInProcess(['known-hosts'], { env: { HOSTKEYS_DB: join(work, 'env-db') } })
    assert.equal(viaEnv.code, 2)
    assert.equal(existsSync(join(work, 'env-db')), false)
  })

  it('an empty directory is no history either, and stays empty', async () => {
    const empty = mkdtempSync(join(work, 'empty-'))
    const result = await runInProcess(['lookup', 'web1', '--db', empty])
    assert.equal(result.code, 2)
    assert.deepEqual(readdirSync(empty), [])
  })

  const typos = ['postgress://scanner:hunter22@db.example.test/hostkeys', 'postgres:/db.example.test/hostkeys', 'mysql://root:hunter22@db/hostkeys', 'sqlite:hostkeys.db']
  for (const typo of typos) {
    it(`scan --db ${typo.replace('hunter22', 'PASSWORD')}: not a PostgreSQL URL, exit 2, nothing probed or created`, async () => {
      const peer = await silentPeer('127.60.7.1')
      const cwd = mkdtempSync(join(work, 'cwd-'))
      try {
        const result = await runCli(['scan', '--no-dns', '--db', typo, `127.60.7.1:${peer.port}`], { cwd })
        assert.equal(result.code, 2, result.stderr)
        assertOneLine(result.stderr, /is not a PostgreSQL URL: only postgres:\/\/ and postgresql:\/\/ URLs are/)
        assert.doesNotMatch(result.stderr, /hunter22/)
        assert.equal(peer.connections(), 0)
        assert.deepEqual(readdirSync(cwd), [])
      } finally {
        await peer.close()
      }
    })
  }
})
