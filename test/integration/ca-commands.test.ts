import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { main } from '../../src/cli/main.js'
import { publicKeyLine } from '../../src/domain/host-key.js'
import { capturedStreams } from '../support/captured-streams.js'
import { syntheticKey } from '../support/synthetic-keys.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'
import type { Store } from '../../src/store/store.js'

/* `ca trust`, `ca list`, `ca remove` and the @cert-authority lines of `known-hosts`, through main()
 * (so exit codes are the CLI's own) against each real backend: embedded always, PostgreSQL when
 * HOSTKEYS_TEST_DATABASE_URL is set. Keys are synthetic: nothing here signs; ca-openssh.test.ts has
 * ssh check a real certificate. The commands share one open store per backend (lent to main()); those
 * about a missing store name its directory with --db. */

async function hostkeys(db: string | Store, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const streams = capturedStreams()
  const { stdout, stderr } = streams
  const where = typeof db === 'string' ? { argv: ['--db', db], lent: {} } : { argv: [], lent: { history: db } }
  const code = await main(['node', 'hostkeys', ...args, ...where.argv], { stdout, stderr, stdin: new PassThrough(), env: { USER: 'tester', HOME: '/nonexistent' }, ...where.lent })
  return { code, ...streams.written() }
}

interface ListedAuthority {
  sha256: string
  type: string
  bits: number
  patterns: string[]
  source: string
  trustedAt: string
}

async function listed(db: string | Store): Promise<ListedAuthority[]> {
  const r = await hostkeys(db, 'ca', 'list', '--format', 'json')
  assert.equal(r.code, 0, r.stderr)
  return (JSON.parse(r.stdout) as { authorities: ListedAuthority[] }).authorities
}

const ca = syntheticKey('ed25519', 'ca-commands-ca')
const otherCa = syntheticKey('ecdsa384', 'ca-commands-other-ca')
const host = syntheticKey('ed25519', 'ca-commands-host')

for (const backend of testBackends()) {
  describe(`ca commands (${backend.name})`, () => {
    let opened: OpenedStore
    let db: Store
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-ca-'))
    const caFile = join(dir, 'ca.pub')
    writeFileSync(caFile, `${publicKeyLine(ca)} ops-ca@example.com\n`)
    before(async () => {
      opened = await backend.open()
      db = opened.store
    })
    after(async () => {
      await opened?.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    it('ca list says when no CA is trusted; JSON is an empty list', async () => {
      assert.deepEqual(await hostkeys(db, 'ca', 'list'), { code: 0, stdout: '', stderr: 'hostkeys: no trusted certificate authorities\n' })
      assert.deepEqual(await listed(db), [])
    })

    it('ca trust FILE --names: one line per CA, then listed with who trusted it', async () => {
      const r = await hostkeys(db, 'ca', 'trust', caFile, '--names', '*.example.com')
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, `trusted ${ca.sha256} (ED25519 256) for *.example.com\n`, ''])
      const [only, ...rest] = await listed(db)
      assert.deepEqual(rest, [])
      assert.deepEqual({ ...only, trustedAt: undefined }, {
        sha256: ca.sha256,
        type: 'ssh-ed25519',
        bits: 256,
        patterns: ['*.example.com'],
        source: `ca trust by tester from ${caFile}`,
        trustedAt: undefined,
      })
      assert.ok(Math.abs(Date.parse(only!.trustedAt) - Date.now()) < 60_000)
    })

    it('trusting the same CA for the same patterns again changes nothing and says so', async () => {
      const before = await listed(db)
      const r = await hostkeys(db, 'ca', 'trust', caFile, '--names', '*.EXAMPLE.com')
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^already trusted ${ca.sha256.replace(/[+/]/g, '\\$&')} \\(ED25519 256\\) for \\*\\.example\\.com \\(since .*, ca trust by tester from .*ca\\.pub\\)\\n$`))
      assert.deepEqual(await listed(db), before, 'no second row, the first kept as it was')
    })

    it('ca trust KEYLINE with other patterns replaces the earlier ones', async () => {
      const r = await hostkeys(db, 'ca', 'trust', `${publicKeyLine(ca)} ops-ca`, '--names', 'web*.example.com,!web9.example.com')
      assert.deepEqual([r.code, r.stdout], [0, `trusted ${ca.sha256} (ED25519 256) for web*.example.com,!web9.example.com (instead of *.example.com)\n`])
      assert.deepEqual((await listed(db)).map((a) => [a.sha256, a.patterns, a.source]), [[ca.sha256, ['web*.example.com', '!web9.example.com'], 'ca trust by tester']])
    })

    it("import known_hosts keeps @cert-authority lines, and ca list shows them with the file as source", async () => {
      const file = join(dir, 'known_hosts')
      writeFileSync(
        file,
        [
          `web1.example.com,192.0.2.1 ${publicKeyLine(host)}`,
          `@cert-authority *.corp.example,[*.corp.example]:2222 ${publicKeyLine(otherCa)} corp`,
          `@cert-authority db*.example.com ${publicKeyLine(ca)}`,
          '',
        ].join('\n'),
      )
      const r = await hostkeys(db, 'import', 'known_hosts', file)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /2 certificate authorities kept/)
      assert.deepEqual((await listed(db)).map((a) => [a.sha256, a.type, a.bits, a.patterns.join(','), a.source]), [
        [ca.sha256, 'ssh-ed25519', 256, 'web*.example.com,!web9.example.com', 'ca trust by tester'],
        [otherCa.sha256, 'ecdsa-sha2-nistp384', 384, '*.corp.example,[*.corp.example]:2222', file],
        [ca.sha256, 'ssh-ed25519', 256, 'db*.example.com', file],
      ])
      const text = await hostkeys(db, 'ca', 'list')
      const lines = text.stdout.trimEnd().split('\n')
      assert.match(lines[0]!, /^FINGERPRINT +TYPE +PATTERNS +TRUSTED +SOURCE$/)
      assert.equal(lines.length, 4)
      assert.match(lines[2]!, /^SHA256:\S+ +ECDSA 384 +\*\.corp\.example,\[\*\.corp\.example\]:2222 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\S*known_hosts$/)
      assert.equal(new Set(lines.map((l) => l.indexOf(l.includes('PATTERNS') ? 'PATTERNS' : l.match(/ (\S*example\S*) /)![1]!))).size, 1, 'aligned')
    })

    it('known-hosts writes one @cert-authority line per CA and pattern list, after the host lines', async () => {
      const plain = (await hostkeys(db, 'known-hosts')).stdout.trimEnd().split('\n')
      assert.deepEqual(plain, [
        `web1.example.com,192.0.2.1 ${publicKeyLine(host)}`,
        `@cert-authority web*.example.com,!web9.example.com ${publicKeyLine(ca)}`,
        `@cert-authority *.corp.example,[*.corp.example]:2222 ${publicKeyLine(otherCa)}`,
        `@cert-authority db*.example.com ${publicKeyLine(ca)}`,
      ])
      const hashed = (await hostkeys(db, 'known-hosts', '--hash')).stdout.trimEnd().split('\n')
      assert.equal(hashed.length, 2 + 3, 'one hashed line per host name, the CA lines as they were')
      assert.ok(hashed.slice(0, 2).every((l) => /^\|1\|\S+ ssh-ed25519 /.test(l)))
      assert.deepEqual(hashed.slice(2), plain.slice(1), '--hash leaves CA patterns in clear')
    })

    it('ca remove of a CA that is not trusted is exit 2 naming the trusted ones, and removes nothing', async () => {
      const stranger = syntheticKey('ed25519', 'ca-commands-stranger')
      const r = await hostkeys(db, 'ca', 'remove', stranger.sha256)
      assert.equal(r.code, 2)
      assert.equal(r.stdout, '')
      assert.equal(r.stderr, `hostkeys: ${stranger.sha256} is not a trusted certificate authority; trusted: ${ca.sha256}, ${otherCa.sha256}\n`)
      assert.equal((await listed(db)).length, 3)
    })

    it('ca remove with a malformed fingerprint is exit 2 saying the form', async () => {
      const r = await hostkeys(db, 'ca', 'remove', 'SHA256:abc')
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^hostkeys: 'SHA256:abc' is not a SHA256 fingerprint \(43 base64 characters after SHA256:/)
    })

    it('ca remove FINGERPRINT drops every pattern list of that CA, imported ones included', async () => {
      const r = await hostkeys(db, 'ca', 'remove', ca.sha256)
      assert.deepEqual([r.code, r.stdout], [0, `removed ${ca.sha256} (ED25519 256), which was trusted for web*.example.com,!web9.example.com and for db*.example.com\n`])
      assert.deepEqual((await listed(db)).map((a) => a.sha256), [otherCa.sha256])
      assert.ok(!(await hostkeys(db, 'known-hosts')).stdout.includes(publicKeyLine(ca)))
    })

    it('ca remove FILE, then nothing is trusted', async () => {
      const file = join(dir, 'other.pub')
      writeFileSync(file, `${publicKeyLine(otherCa)}\n`)
      const r = await hostkeys(db, 'ca', 'remove', file)
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(await listed(db), [])
      const again = await hostkeys(db, 'ca', 'remove', file)
      assert.deepEqual([again.code, again.stderr], [2, `hostkeys: ${otherCa.sha256} is not a trusted certificate authority; none is trusted\n`])
    })

    it('a file with a bad line trusts none of its keys: exit 2 with file:line', async () => {
      const file = join(dir, 'mixed.pub')
      writeFileSync(file, `${publicKeyLine(ca)}\n${publicKeyLine(otherCa).slice(0, 40)}\n`)
      const r = await hostkeys(db, 'ca', 'trust', file)
      assert.equal(r.code, 2)
      assert.match(r.stderr, new RegExp(`^hostkeys: ${file.replace(/[.]/g, '\\.')}:2: expected a public key line 'TYPE BASE64 \\[COMMENT\\]'`))
      assert.deepEqual(await listed(db), [])
    })

    it('a file of several CAs is trusted whole, each for * by default', async () => {
      const file = join(dir, 'both.pub')
      writeFileSync(file, `# two CAs\n${publicKeyLine(ca)} a\n${publicKeyLine(otherCa)} b\n`)
      const r = await hostkeys(db, 'ca', 'trust', file)
      assert.deepEqual([r.code, r.stdout.split('\n').length], [0, 3])
      assert.deepEqual((await listed(db)).map((a) => [a.sha256, a.patterns]), [[ca.sha256, ['*']], [otherCa.sha256, ['*']]])
    })
  })
}

describe('ca commands on a missing embedded store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-ca-missing-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('ca list and ca remove exit 2 and create nothing, as other read-only commands; ca trust creates it, as import does', async () => {
    const db = join(dir, 'store')
    for (const args of [['ca', 'list'], ['ca', 'remove', ca.sha256]]) {
      const r = await hostkeys(db, ...args)
      assert.deepEqual([r.code, r.stderr], [2, `hostkeys: no history at ${db}; run a scan first or pass --db\n`])
      assert.ok(!existsSync(db))
    }
    const trusted = await hostkeys(db, 'ca', 'trust', publicKeyLine(ca))
    assert.deepEqual([trusted.code, trusted.stdout], [0, `trusted ${ca.sha256} (ED25519 256) for *\n`])
    assert.deepEqual((await listed(db)).map((a) => a.sha256), [ca.sha256])
  })
})
