import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { HOSTKEYS_BIN } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* `hostkeys scan` end to end against real sshd on 127.4.0.0/16: the CLI run in this process (main():
 * the same wiring, renderers and exit codes), and the real executable on a terminal for progress. */

function sshKeygenFingerprint(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!
}

describe('hostkeys scan (CLI, real sshd)', { skip: skipUnlessSshd() }, () => {
  let web: SshdServer
  let clones: SshdServer
  let silent: Server
  let silentPort: number
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-cli-'))

  before(async () => {
    web = await startSshd({ addresses: ['127.4.1.1', '::1'], keyTypes: ['ed25519', 'ecdsa-384', 'rsa'] })
    clones = await startSshd({ addresses: ['127.4.2.1', '127.4.2.2'], keyTypes: ['ed25519'] })
    // A peer that accepts and never says a word.
    silent = createServer((socket) => socket.on('error', () => {}))
    await new Promise<void>((resolve) => silent.listen(0, '127.4.3.1', resolve))
    silentPort = (silent.address() as { port: number }).port
  })
  after(async () => {
    await web?.stop()
    await clones?.stop()
    silent?.close()
  })

  it('prints every key with the fingerprints ssh-keygen computes, as JSON', async () => {
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '--format', 'json', `[127.4.1.1]:${web.port}`, `[::1]:${web.port}`])
    const document = JSON.parse(result.stdout)
    // One sshd answers on both addresses: without history, the scan still sees them share keys.
    assert.equal(result.code, 1, 'duplicate_key is a warning, at the default --fail-on')
    assert.deepEqual(
      document.findings.map((f: { kind: string; hosts: string[] }) => [f.kind, f.hosts.length]),
      [['duplicate_key', 2], ['duplicate_key', 2], ['duplicate_key', 2]],
    )
    assert.equal(document.hosts.length, 2)
    const expected = new Map([
      ['ssh-ed25519', sshKeygenFingerprint(web.publicKeyFiles.ed25519!)],
      ['ecdsa-sha2-nistp384', sshKeygenFingerprint(web.publicKeyFiles['ecdsa-384']!)],
      ['ssh-rsa', sshKeygenFingerprint(web.publicKeyFiles.rsa!)],
    ])
    for (const host of document.hosts) {
      assert.equal(host.status, 'ok')
      assert.match(host.banner, /^SSH-2\.0-OpenSSH_/)
      assert.deepEqual(new Map(host.keys.map((k: { type: string; sha256: string }) => [k.type, k.sha256])), expected)
      assert.equal(host.connections, 3, 'one connection per key family the host offers')
    }
    assert.deepEqual(document.hosts.map((h: { address: string }) => h.address).sort(), ['127.4.1.1', '::1'])
  })

  it('reads an ssh-keyscan -f inventory from stdin and takes the NAME as identity', async () => {
    const inventory = `# clones\n127.4.2.1 clone-a.example\n127.4.2.2,10.255.255.1 clone-b.example\n`
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '-p', String(clones.port), '--format', 'json', '-f', '-'], {
      stdin: inventory,
    })
    assert.equal(result.code, 1, result.stderr)
    const document = JSON.parse(result.stdout)
    assert.equal(document.findings.length, 1)
    assert.equal(document.findings[0].kind, 'duplicate_key')
    assert.deepEqual([...document.findings[0].hosts].sort(), [`[clone-a.example]:${clones.port}`, `[clone-b.example]:${clones.port}`])
    const hosts = document.hosts as { host: string; address: string; aliases: string[]; keys: { sha256: string }[] }[]
    const byName = new Map(hosts.map((h) => [h.host, h]))
    assert.deepEqual([...byName.keys()].sort(), [`[clone-a.example]:${clones.port}`, `[clone-b.example]:${clones.port}`])
    assert.equal(byName.get(`[clone-b.example]:${clones.port}`)!.address, '127.4.2.2')
    assert.deepEqual(byName.get(`[clone-b.example]:${clones.port}`)!.aliases, ['127.4.2.2', '10.255.255.1'])
    assert.equal(hosts[0]!.keys[0]!.sha256, hosts[1]!.keys[0]!.sha256, 'clones serve the same key')
  })

  it('writes known_hosts lines that ssh-keygen -F finds, hashed with --hash', async () => {
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '--format', 'known_hosts', '--hash', '-t', 'ed25519', `127.4.1.1:${web.port}`])
    assert.equal(result.code, 0, result.stderr)
    const file = join(dir, 'known_hosts')
    writeFileSync(file, result.stdout)
    const found = execFileSync('ssh-keygen', ['-F', `[127.4.1.1]:${web.port}`, '-f', file], { encoding: 'utf8' })
    assert.match(found, new RegExp(readFileSync(web.publicKeyFiles.ed25519!, 'utf8').split(' ')[1]!.replace(/[+/]/g, '\\$&')))
    assert.equal(result.stdout.trim().split('\n').length, 1, 'one name (the address is the identity), one family')
  })

  it('gives every failed host a status, and a silent one costs one timeout', async () => {
    const result = await runInProcess([
      'scan', '--no-store', '--no-dns', '-T', '1', '--format', 'json',
      `127.4.1.1:${web.port}`, `127.4.9.9:${web.port}`, `127.4.3.1:${silentPort}`, 'nonexistent-host.invalid',
    ])
    assert.equal(result.code, 0, result.stderr)
    const statuses = Object.fromEntries(
      JSON.parse(result.stdout).hosts.map((h: { host: string; status: string; error: string | null }) => [h.host, h.status]),
    )
    assert.deepEqual(statuses, {
      [`[127.4.1.1]:${web.port}`]: 'ok',
      [`[127.4.9.9]:${web.port}`]: 'refused',
      [`[127.4.3.1]:${silentPort}`]: 'timeout',
      'nonexistent-host.invalid': 'dns-error',
    })
    assert.ok(result.ms < 5000, `the scan took ${result.ms} ms with a 1 s timeout`)
  })

  it('prints a readable table with each failure and a summary', async () => {
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '-T', '1', `127.4.1.1:${web.port}`, `127.4.9.9:${web.port}`])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^HOST +ADDRESS +TYPE +BITS +FINGERPRINT/)
    assert.match(result.stdout, /127\.4\.1\.1:\d+ +ecdsa-sha2-nistp384 +384 +SHA256:/)
    assert.match(result.stdout, /127\.4\.9\.9:\d+ +- +- +refused/)
    assert.match(result.stdout, /2 host\(s\) scanned in [\d.]+ s: 1 reached, 1 failed, 3 key\(s\), 0 finding\(s\)/)
    assert.equal(result.stderr, '', 'no progress display when stderr is not a terminal')
  })

  it('shows progress on a terminal, never with --quiet or when stderr is not a terminal', async () => {
    // script(1) gives the command a pseudo-terminal; stdout goes to /dev/null, so what comes back is stderr.
    const onTerminal = (args: string) =>
      execFileSync('script', ['-qec', `${HOSTKEYS_BIN} ${args} >/dev/null`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, HOSTKEYS_DB: '' } })
    const targets = `127.4.1.1:${web.port} 127.4.9.9:${web.port}`
    assert.match(onTerminal(`scan --no-store --no-dns -T 1 ${targets}`), /scanning: 2\/2 hosts \(100%\), 3 keys, 1 failed/)
    assert.doesNotMatch(onTerminal(`scan --no-store --no-dns -T 1 --quiet ${targets}`), /scanning/)
  })

  it('stops with exit 2 and file:line on a malformed inventory, before any connection', async () => {
    const file = join(dir, 'bad.txt')
    writeFileSync(file, `127.4.1.1\n# fine so far\n127.4.1.1:notaport\n`)
    const before = web.logFiles.map((f) => readFileSync(f, 'utf8').split('Connection from').length).reduce((a, b) => a + b)
    const result = await runInProcess(['scan', '--no-store', '-p', String(web.port), '-f', file])
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, new RegExp(`${file}:3: 'notaport' in '127.4.1.1:notaport' is not a port`))
    const afterCount = web.logFiles.map((f) => readFileSync(f, 'utf8').split('Connection from').length).reduce((a, b) => a + b)
    assert.equal(afterCount, before, 'no connection was made')
  })

  it('refuses bad flags with exit 2 and says what was expected', async () => {
    const cases: [string[], RegExp][] = [
      [['scan', '-t', 'ed448', 'h'], /unknown key type 'ed448' \(expected a list of ed25519, ecdsa, rsa, dsa, ed25519-sk, ecdsa-sk\)/],
      [['scan', '-p', '70000', 'h'], /'70000' is not a port/],
      [['scan', '--format', 'xml', 'h'], /'xml' is not one of text, json, known_hosts/],
      [['scan', '--fail-on', 'loud', 'h'], /'loud' is not one of info, warning, critical, never/],
      [['scan', '-f', join(dir, 'missing.txt')], /cannot read inventory file .*missing\.txt/],
      [['scan'], /needs at least one target/],
    ]
    for (const [args, message] of cases) {
      const result = await runInProcess(args)
      assert.equal(result.code, 2, args.join(' '))
      assert.match(result.stderr, message)
    }
  })
})
