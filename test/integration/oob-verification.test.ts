import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { hashHostName } from '../../src/fingerprint/known-hosts-hash.js'
import type { CliResult } from '../support/cli.js'
import { runInProcess, type InProcessOptions } from '../support/cli-in-process.js'
import { ensureHostKeysAsync, keyFile, skipUnlessSshd, startSshd, type SshdKeyType, type SshdServer } from '../support/sshd.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* Out-of-band verification (issue 13) end to end: the CLI run in this process (main(): the same wiring,
 * renderers and exit codes), real sshd on 127.84.0.0/16 (each scenario a /24 of its own:
 * 127.84.<backend*100 + n>.0/24), one open store per backend: the embedded store and PostgreSQL.
 * What the owner sends is what OpenSSH's own tools print (`ssh-keygen -l`, .pub files, known_hosts
 * lines); what the host reports is its key directory. Every scan passes --no-dns. */

interface Finding {
  kind: string
  severity: string
  host: string
  keyType: string | null
  fingerprint: string | null
  previous: string | null
  message: string
}
interface ScanDocument {
  hosts: { host: string; status: string; keys: { type: string; sha256: string }[] }[]
  findings: Finding[]
}

// Generous: the suite must pass on a loaded 2-core machine.
const TIMEOUT = ['-T', '8']
const work = mkdtempSync(join(tmpdir(), 'hostkeys-oob-e2e-'))
const backends = testBackends()

function json(result: CliResult): ScanDocument {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as ScanDocument
}

const mismatches = (doc: ScanDocument) => doc.findings.filter((f) => f.kind === 'oob_mismatch')

/** `ssh-keygen -l -E HASH -f` over the server's .pub files of these types: what an owner pastes. */
function keygenList(server: SshdServer, types: readonly SshdKeyType[], hash: 'sha256' | 'md5' = 'sha256'): string {
  return types.map((t) => execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', server.publicKeyFiles[t]!], { encoding: 'utf8' })).join('')
}

function fingerprint(file: string, hash: 'sha256' | 'md5' = 'sha256'): string {
  return execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', file], { encoding: 'utf8' }).split(' ')[1]!
}

describe('out-of-band verification (CLI, real sshd)', { skip: skipUnlessSshd() }, () => {
  const servers = new Set<SshdServer>()
  after(async () => {
    await Promise.all([...servers].map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })
  async function sshd(address: string, keyTypes: SshdKeyType[], options: { keyDir?: string; port?: number } = {}): Promise<SshdServer> {
    const server = await startSshd({ addresses: [address], keyTypes, ...options })
    servers.add(server)
    return server
  }
  async function stop(server: SshdServer): Promise<void> {
    await server.stop()
    servers.delete(server)
  }

  /** Another key of a type, made by ssh-keygen: what a stale list or an interceptor would show. */
  async function otherKey(name: string, type: SshdKeyType): Promise<string> {
    const dir = join(work, `other-${name}`)
    await ensureHostKeysAsync(dir, [type])
    return join(dir, `ssh_host_${type.replace('-', '')}_key.pub`)
  }

  for (const [index, backend] of backends.entries()) {
    const net = (n: number) => `127.84.${index * 100 + n}`

    describe(backend.name, { concurrency: 3 }, () => {
      let opened: OpenedStore
      before(async () => {
        opened = await backend.open()
      })
      after(async () => {
        await opened?.cleanup()
      })
      const cli = (args: readonly string[], options: InProcessOptions = {}) => runInProcess(args, { ...options, history: opened.store })
      const scan = (target: string) => cli(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', target])
      const file = (name: string, text: string) => {
        const path = join(work, `${backend.name}-${name}`)
        writeFileSync(path, text)
        return path
      }

      it("expect with the owner's ssh-keygen -l output of the real keys: no oob_mismatch; another key's fingerprint: oob_mismatch, critical, exit 1", async () => {
        const address = `${net(1)}.1`
        const server = await sshd(address, ['ed25519', 'ecdsa-256', 'rsa'])
        const host = `[${address}]:${server.port}`
        const target = `${address}:${server.port}`

        // Before the first scan: the history has no such host yet; the statement waits for it.
        const expected = await cli(['expect', host, file('right.txt', keygenList(server, ['ed25519', 'ecdsa-256', 'rsa']))])
        assert.equal(expected.code, 0, expected.stderr)
        assert.match(expected.stdout, /recorded the owner's statement/)
        assert.match(expected.stdout, /is not in the history yet/)
        const first = json(await scan(target))
        assert.deepEqual(first.findings.map((f) => f.kind), ['new_host'])

        // The owner's list now names another Ed25519 key (a stale list, or the path is intercepted).
        const other = await otherKey(`${backend.name}-1`, 'ed25519')
        const wrongList = keygenList(server, ['ecdsa-256', 'rsa']) + execFileSync('ssh-keygen', ['-l', '-f', other], { encoding: 'utf8' })
        const wrong = await cli(['expect', host, '-', '--format', 'json'], { stdin: wrongList })
        assert.equal(wrong.code, 0, wrong.stderr)
        const recorded = JSON.parse(wrong.stdout) as { known: boolean; replaced: unknown; lastScan: { agrees: boolean; differing: { sha256: string }[] } }
        assert.equal(recorded.known, true)
        assert.notEqual(recorded.replaced, null, 'it replaces the earlier statement')
        assert.deepEqual(recorded.lastScan.differing.map((d) => d.sha256), [fingerprint(server.publicKeyFiles['ed25519']!)])

        const result = await scan(target)
        assert.equal(result.code, 1, result.stderr)
        const found = mismatches(json(result))
        assert.equal(found.length, 1, JSON.stringify(json(result).findings))
        const served = fingerprint(server.publicKeyFiles['ed25519']!)
        const stated = fingerprint(other)
        assert.deepEqual(
          { ...found[0]!, message: undefined },
          { kind: 'oob_mismatch', severity: 'critical', lifecycle: 'condition', closedBy: 'waiver', host, hosts: [host], keyType: 'ssh-ed25519', fingerprint: served, previous: stated, message: undefined },
        )
        assert.ok(found[0]!.message.includes(served) && found[0]!.message.includes(stated), found[0]!.message)
        assert.match(found[0]!.message, /its owner's statement \(expect by .+ from stdin, \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/)
        assert.match(found[0]!.message, /intercepted or the owner's list is stale/)

        // Reported again while it holds; a new statement that matches ends it at the next scan.
        assert.equal(mismatches(json(await scan(target))).length, 1)
        assert.equal((await cli(['expect', host, file('right-again.txt', keygenList(server, ['ed25519']))])).code, 0)
        const agreed = await scan(target)
        assert.equal(agreed.code, 0, agreed.stderr)
        assert.deepEqual(mismatches(json(agreed)), [])
        const open = JSON.parse((await cli(['findings', '--open', '--format', 'json'])).stdout) as { findings: Finding[] }
        assert.deepEqual(open.findings.filter((f) => f.kind === 'oob_mismatch' && f.host === host), [])
      })

      it('self-report of the key directory: no mismatch; the host rebuilt without a new report: oob_mismatch; reported again: gone', async () => {
        const address = `${net(2)}.1`
        const keyDir = join(work, `${backend.name}-host2-keys`)
        let server = await sshd(address, ['ed25519', 'rsa'], { keyDir })
        const host = `[${address}]:${server.port}`
        const target = `${address}:${server.port}`
        const report = (dir: string) => cli(['self-report', '--keys-dir', dir, '--host', host, '--format', 'json'])

        const reported = await report(keyDir)
        assert.equal(reported.code, 0, reported.stderr)
        const statement = JSON.parse(reported.stdout) as { source: string; host: string; keys: { type: string; sha256: string; publicKey: string }[] }
        assert.equal(statement.source, 'self-report')
        assert.equal(statement.host, host)
        assert.deepEqual(statement.keys.map((k) => k.sha256).sort(), [server.publicKeyFiles['ed25519']!, server.publicKeyFiles['rsa']!].map((f) => fingerprint(f)).sort())
        const first = await scan(target)
        assert.equal(first.code, 0, first.stderr)
        assert.deepEqual(mismatches(json(first)), [])

        // Rebuilt: new keys on the same address and port; the report on record is the old one.
        await stop(server)
        const rebuiltDir = join(work, `${backend.name}-host2-rebuilt`)
        server = await sshd(address, ['ed25519', 'rsa'], { keyDir: rebuiltDir, port: server.port })
        const rebuilt = await scan(target)
        assert.equal(rebuilt.code, 1, rebuilt.stderr)
        const found = mismatches(json(rebuilt))
        assert.deepEqual(found.map((f) => f.keyType).sort(), ['ssh-ed25519', 'ssh-rsa'])
        assert.ok(found.every((f) => f.severity === 'critical'))
        const ed = found.find((f) => f.keyType === 'ssh-ed25519')!
        assert.ok(ed.message.includes(fingerprint(join(rebuiltDir, 'ssh_host_ed25519_key.pub'))), ed.message)
        assert.ok(ed.message.includes(fingerprint(join(keyDir, 'ssh_host_ed25519_key.pub'))), ed.message)
        assert.match(ed.message, /the host's own report \(self-report by .* from .*host2-keys, /)
        assert.match(ed.message, /suspect the network path first/)

        // accept trusts the new keys but does not silence the host's own report, which still disagrees.
        const accepted = await cli(['accept', host, '--reason', 'rebuilt'])
        assert.equal(accepted.code, 0, accepted.stderr)
        const stillReported = await scan(target)
        assert.equal(stillReported.code, 1)
        assert.deepEqual(json(stillReported).findings.map((f) => f.kind).sort(), ['oob_mismatch', 'oob_mismatch'])

        // The host reports its new keys: the next scan agrees.
        assert.equal((await report(rebuiltDir)).code, 0)
        const after = await scan(target)
        assert.equal(after.code, 0, after.stderr)
        assert.deepEqual(json(after).findings, [])
      })

      it("the family swap: the host's own report (Ed25519 alone) contradicts an interceptor serving only RSA; so does an owner's --complete list, not a plain one", async () => {
        const address = `${net(6)}.1`
        const realDir = join(work, `${backend.name}-host6-real`)
        const real = await sshd(address, ['ed25519'], { keyDir: realDir })
        const host = `[${address}]:${real.port}`
        const target = `${address}:${real.port}`
        const reported = await cli(['self-report', '--keys-dir', realDir, '--host', host, '--format', 'json'])
        assert.equal(reported.code, 0, reported.stderr)
        assert.equal((JSON.parse(reported.stdout) as { complete: boolean }).complete, true)
        const first = await scan(target)
        assert.equal(first.code, 0, first.stderr)
        assert.deepEqual(mismatches(json(first)), [])

        // The interceptor answers at the host's address and port with its own RSA key and no Ed25519.
        await stop(real)
        const interceptor = await sshd(address, ['rsa'], { keyDir: join(work, `${backend.name}-host6-interceptor`), port: real.port })
        const swapped = await scan(target)
        assert.equal(swapped.code, 1, swapped.stderr)
        const found = mismatches(json(swapped))
        const rsa = fingerprint(interceptor.publicKeyFiles['rsa']!)
        assert.deepEqual(found.map((f) => [f.severity, f.keyType, f.fingerprint, f.previous]), [['critical', 'ssh-rsa', rsa, null]])
        assert.ok(found[0]!.message.includes(`serves the ssh-rsa key ${rsa}`), found[0]!.message)
        assert.match(found[0]!.message, /the host's own report \(self-report by .+\), which lists every key the host has, has no rsa key \(only ssh-ed25519\)/)
        assert.match(found[0]!.message, /suspect the network path first/)
        assert.ok(found[0]!.message.includes(`\`hostkeys self-report --host '${host}'\``), found[0]!.message)
        const history = await cli(['history', host])
        assert.ok(history.stdout.includes("stated in the host's own report (self-report by ") && history.stdout.includes('of every key the host has'), history.stdout)

        // The owner's list of the same host, on another database: plain covers only Ed25519; --complete covers RSA too.
        const owner = await backend.open()
        try {
          const onOwner = (args: readonly string[]) => runInProcess(args, { history: owner.store })
          const scanOwner = () => onOwner(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', target])
          const list = file('host6-owner.txt', execFileSync('ssh-keygen', ['-l', '-f', `${keyFile(realDir, 'ed25519')}.pub`], { encoding: 'utf8' }))
          assert.equal((await onOwner(['expect', host, list])).code, 0)
          const plain = await scanOwner()
          assert.equal(plain.code, 0, plain.stderr)
          assert.deepEqual(mismatches(json(plain)), [])
          const complete = await onOwner(['expect', '--complete', host, list])
          assert.equal(complete.code, 0, complete.stderr)
          assert.match(complete.stdout, /recorded the owner's statement \(.+\), of every key the host has:/)
          assert.match(complete.stdout, /it differs from what .+ served at its last scan \(ssh-rsa /)
          const contradicted = await scanOwner()
          assert.equal(contradicted.code, 1, contradicted.stderr)
          assert.deepEqual(mismatches(json(contradicted)).map((f) => [f.severity, f.fingerprint]), [['critical', rsa]])
          assert.match(mismatches(json(contradicted))[0]!.message, /its owner's statement \(expect by .+\), which lists every key the host has, has no rsa key/)
        } finally {
          await owner.cleanup()
        }
      })

      it('a statement recorded by address binds to the host the inventory later names, scanned at that address', async () => {
        const address = `${net(5)}.1`
        const server = await sshd(address, ['ed25519'])
        // The owner sent fingerprints for the address; the inventory names the host.
        const other = await otherKey(`${backend.name}-5`, 'ed25519')
        const stale = execFileSync('ssh-keygen', ['-l', '-f', other], { encoding: 'utf8' })
        assert.equal((await cli(['expect', `[${address}]:${server.port}`, '-'], { stdin: stale })).code, 0)
        const inventory = file('named.txt', `${address}:${server.port} web5.oob.test\n`)
        const named = await cli(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', '-f', inventory])
        assert.equal(named.code, 1, named.stderr)
        assert.deepEqual(mismatches(json(named)).map((f) => f.host), [`[web5.oob.test]:${server.port}`])
        // The owner's new list, sent for the name, replaces the stale one: it is the same host.
        assert.equal((await cli(['expect', 'web5.oob.test', file('named-right.txt', keygenList(server, ['ed25519']))])).code, 0)
        const agreed = await cli(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', '-f', inventory])
        assert.equal(agreed.code, 0, agreed.stderr)
      })

      it('an MD5-only statement (ssh-keygen -l -E md5) matches by MD5; an MD5 of another key does not', async () => {
        const address = `${net(3)}.1`
        const server = await sshd(address, ['rsa'])
        const host = `[${address}]:${server.port}`
        const target = `${address}:${server.port}`
        assert.equal((await cli(['expect', host, file('md5.txt', keygenList(server, ['rsa'], 'md5'))])).code, 0)
        const matched = await scan(target)
        assert.equal(matched.code, 0, matched.stderr)
        assert.deepEqual(mismatches(json(matched)), [])

        const other = await otherKey(`${backend.name}-3`, 'rsa')
        const otherMd5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', other], { encoding: 'utf8' })
        assert.equal((await cli(['expect', host, '-'], { stdin: otherMd5 })).code, 0)
        const result = await scan(target)
        assert.equal(result.code, 1)
        const [found] = mismatches(json(result))
        assert.ok(found, JSON.stringify(json(result).findings))
        assert.ok(found.message.includes(fingerprint(other, 'md5')), found.message)
        assert.ok(found.message.includes(fingerprint(server.publicKeyFiles['rsa']!, 'md5')), found.message)
        const history = await cli(['history', host])
        assert.equal(history.code, 0, history.stderr)
        assert.ok(history.stdout.includes(`stated in the owner's statement (expect by `) && history.stdout.includes(`ssh-rsa ${fingerprint(other, 'md5')}`), history.stdout)
      })

      it('known_hosts lines: plain and hashed for the host are taken; a line for another host and a malformed line are exit 2 with FILE:LINE, nothing written', async () => {
        const address = `${net(4)}.1`
        const server = await sshd(address, ['ed25519'])
        const host = `[${address}]:${server.port}`
        const target = `${address}:${server.port}`
        const wrongKey = await otherKey(`${backend.name}-4`, 'ed25519')
        const keyText = (pub: string) => execFileSync('cat', [pub], { encoding: 'utf8' }).trim().split(' ').slice(0, 2).join(' ')

        // Nothing of a bad input is recorded: its first line (a wrong key) would raise oob_mismatch.
        const malformed = file('bad.txt', `${host} ${keyText(wrongKey)}\n256 SHA256:short ${host} (ED25519)\n`)
        const bad = await cli(['expect', host, malformed])
        assert.equal(bad.code, 2)
        assert.match(bad.stderr, new RegExp(`^hostkeys: ${malformed.replace(/[.[\]/]/g, '\\$&')}:2: .*is not a fingerprint.*; expected 'BITS SHA256`))
        const elsewhere = await cli(['expect', host, '-'], { stdin: `web9.example.com ${keyText(wrongKey)}\n` })
        assert.equal(elsewhere.code, 2)
        assert.match(elsewhere.stderr, /stdin:1: this known_hosts line names web9\.example\.com, not /)
        const hashedElsewhere = await cli(['expect', host, '-'], { stdin: `${hashHostName('web9.example.com')} ${keyText(wrongKey)}\n` })
        assert.equal(hashedElsewhere.code, 2)
        assert.match(hashedElsewhere.stderr, /stdin:1: this hashed known_hosts line names another host/)
        const revoked = await cli(['expect', host, '-'], { stdin: `@revoked ${host} ${keyText(wrongKey)}\n` })
        assert.equal(revoked.code, 2)
        assert.match(revoked.stderr, /stdin:1: an @revoked line/)

        const clean = await scan(target)
        assert.equal(clean.code, 0, clean.stderr)
        assert.deepEqual(mismatches(json(clean)), [])

        // A hashed line whose hash is the host's own name, as ssh-keygen -H writes it.
        const hashed = await cli(['expect', host, '-'], { stdin: `${hashHostName(host)} ${keyText(server.publicKeyFiles['ed25519']!)}\n` })
        assert.equal(hashed.code, 0, hashed.stderr)
        assert.match(hashed.stdout, /it agrees with the 1 key\(s\)/)
        assert.deepEqual(mismatches(json(await scan(target))), [])
        const plainWrong = await cli(['expect', host, '-'], { stdin: `${host} ${keyText(wrongKey)}\n` })
        assert.equal(plainWrong.code, 0, plainWrong.stderr)
        assert.match(plainWrong.stdout, /it differs from what/)
        assert.equal(mismatches(json(await scan(target))).length, 1)

        // README's way out once the path is trusted: what the host serves now, as the owner's list.
        const served = await cli(['scan', '--no-store', '--no-dns', ...TIMEOUT, '--format', 'known_hosts', target])
        assert.equal(served.code, 0, served.stderr)
        const replaced = await cli(['expect', host, '-'], { stdin: served.stdout })
        assert.equal(replaced.code, 0, replaced.stderr)
        const resolved = await scan(target)
        assert.equal(resolved.code, 0, resolved.stderr)
        assert.deepEqual(mismatches(json(resolved)), [])
      })
    })
  }
})
