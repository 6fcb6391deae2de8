import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { main } from '../../src/cli/main.js'
import { runCli } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'
import { capturedStreams } from '../support/captured-streams.js'

/* Everyday flags as OpenSSH users know them, through the CLI run in this process (main(): the same
 * wiring, renderers and exit codes) against real sshd on 127.61.0.0/16: -D beside ssh-keyscan -D, -E beside ssh-keygen -E, -H beside ssh-keygen -F, and
 * --list, which must not contact the server. Every scan passes --no-dns and --no-store. --version is
 * the real executable's: bin/hostkeys.js answers it before the CLI loads. */

const connections = (server: SshdServer) =>
  server.logFiles.map((f) => readFileSync(f, 'utf8').split('Connection from').length - 1).reduce((a, b) => a + b, 0)

describe('scan -D, -E, -H and --list (CLI, real sshd)', { skip: skipUnlessSshd() }, () => {
  let web: SshdServer
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-everyday-'))

  before(async () => {
    // ssh-keyscan's default types: one ECDSA curve, Ed25519, RSA.
    web = await startSshd({ addresses: ['127.61.1.1'], keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] })
  })
  after(async () => {
    await web?.stop()
  })

  it('-D prints the lines ssh-keyscan -D prints for the same inventory, byte for byte', async () => {
    const inventory = join(dir, 'hosts.txt')
    writeFileSync(inventory, '127.61.1.1 web1.example.test,www1.example.test\n')
    const port = String(web.port)
    const keyscan = execFileSync('ssh-keyscan', ['-D', '-p', port, '-f', inventory], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const result = await runInProcess(['scan', '-D', '--no-store', '--no-dns', '-p', port, '-f', inventory])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr, '')
    const lines = (text: string) => text.split('\n').filter(Boolean).sort()
    // ssh-keyscan prints keys in the order its connections finish; hostkeys groups them by name.
    assert.equal(lines(keyscan).length, 12, `two names, three keys, two digests each:\n${keyscan}`)
    assert.deepEqual(lines(result.stdout), lines(keyscan))
    assert.ok(result.stdout.endsWith('\n'))
    assert.match(result.stdout, /^web1\.example\.test IN SSHFP 4 1 [0-9a-f]{40}\nweb1\.example\.test IN SSHFP 4 2 [0-9a-f]{64}\n/, 'SHA-1 then SHA-256, the name without a port')
  })

  it('-D says on stderr, as a ; comment, why a host got no records', async () => {
    const result = await runInProcess(['scan', '-D', '--no-store', '--no-dns', '-T', '2', `127.61.1.1:${web.port}`, `127.61.1.2:${web.port}`])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, new RegExp(`^; \\[127\\.61\\.1\\.1\\]:${web.port} \\(127\\.61\\.1\\.1:${web.port}\\): no SSHFP records: they live at DNS names`, 'm'))
    assert.match(result.stderr, new RegExp(`^; \\[127\\.61\\.1\\.2\\]:${web.port} \\(127\\.61\\.1\\.2:${web.port}\\): refused`, 'm'))
  })

  it('-E md5 shows the fingerprints ssh-keygen -l -E md5 prints', async () => {
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '-E', 'md5', `127.61.1.1:${web.port}`])
    assert.equal(result.code, 0, result.stderr)
    for (const type of ['ed25519', 'ecdsa-256', 'rsa'] as const) {
      const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', web.publicKeyFiles[type]!], { encoding: 'utf8' }).split(' ')[1]!
      assert.match(result.stdout, new RegExp(` ${md5}$`, 'm'))
    }
    assert.doesNotMatch(result.stdout, /SHA256:/)
  })

  it('-H hashes known_hosts names as --hash does, and ssh-keygen -F finds them', async () => {
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '--format', 'known_hosts', '-H', '-t', 'ed25519', `127.61.1.1:${web.port}`])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 AAAA\S+\n$/)
    const file = join(dir, 'known_hosts')
    writeFileSync(file, result.stdout)
    const found = execFileSync('ssh-keygen', ['-F', `[127.61.1.1]:${web.port}`, '-f', file], { encoding: 'utf8' })
    assert.ok(found.includes(web.publicKeys.ed25519!.split(' ')[1]!))
  })

  it('--list prints the targets and opens no connection and no database', async () => {
    const inventory = join(dir, 'list.txt')
    writeFileSync(inventory, '127.61.1.1 web1.example.test\n127.61.1.0/30\n')
    const database = join(dir, 'never-created')
    const before = connections(web)
    const result = await runInProcess(['scan', '--list', '-p', String(web.port), '-f', inventory], { env: { HOSTKEYS_DB: database } })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout.trim().split('\n').length, 1 + 3, 'a header, one named host, the two hosts of the /30 (not its network and broadcast addresses)')
    assert.match(result.stdout, new RegExp(`^\\[web1\\.example\\.test\\]:${web.port} +127\\.61\\.1\\.1 +${web.port}$`, 'm'))
    assert.match(result.stderr, /3 target\(s\); no host, DNS server or database was contacted/)
    assert.equal(connections(web), before, 'no connection reached sshd')
    assert.ok(!existsSync(database), 'no database was created')
  })
})

describe('findings with nothing to show', () => {
  // The last backend: PostgreSQL when HOSTKEYS_TEST_DATABASE_URL is set (cheap), else an embedded copy.
  const backend = testBackends().at(-1)!
  let db: string
  let cleanup: () => Promise<void>
  before(async () => {
    const opened = await backend.open()
    await opened.store.close()
    db = opened.db
    cleanup = opened.cleanup
  })
  after(async () => cleanup?.())

  async function findings(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const streams = capturedStreams()
    const { stdout, stderr } = streams
    const code = await main(['node', 'hostkeys', 'findings', '--db', db, ...args], { stdout, stderr, stdin: new PassThrough(), env: {} })
    return { code, ...streams.written() }
  }

  it(`says so in text, per filter, and JSON stays an empty list (${backend.name})`, async () => {
    assert.deepEqual(await findings([]), { code: 0, stdout: '', stderr: 'hostkeys: no findings\n' })
    assert.deepEqual(await findings(['--open', '--since', '2026-01-01']), { code: 0, stdout: '', stderr: 'hostkeys: no open findings since 2026-01-01\n' })
    const json = await findings(['--open', '--format', 'json'])
    assert.deepEqual([json.code, JSON.parse(json.stdout), json.stderr], [0, { findings: [] }, ''])
  })
})

describe('--version', () => {
  const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

  it("prints package.json's version, alone (answered before the CLI loads) or with other arguments (by the CLI)", async () => {
    for (const args of [['--version'], ['-V'], ['--version', '--db', '/nonexistent']]) {
      const result = await runCli(args)
      assert.deepEqual([result.code, result.stdout, result.stderr], [0, `${packageVersion}\n`, ''], args.join(' '))
    }
  })
})
