import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'
import type { Store } from '../../src/store/store.js'

/* A server's configuration (banner and KEXINIT) in the history: config_changed when it changes while
 * the keys stay, nothing when the keys change with it (that is key_changed's story), the interception
 * finding strengthened when several hosts change keys and configuration to the same new values, and
 * `hostkeys audit` over what the scans kept. Real sshd on 127.74.0.0/16, restarted with other
 * sshd_config lines on the same port and host keys: an upgrade, as a scanner sees one. The CLI runs in
 * this process (main(): the same wiring, renderers and exit codes), on an open store per test. */

interface Finding {
  kind: string
  severity: string
  host: string
  hosts: string[]
  message: string
}

const TIMEOUT = ['-T', '8']
const NARROW_CIPHERS = 'Ciphers aes256-gcm@openssh.com,aes128-ctr'

function findings(result: CliResult): Finding[] {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return (JSON.parse(result.stdout) as { findings: Finding[] }).findings
}

const kinds = (list: readonly Finding[]) => list.map((f) => `${f.severity} ${f.kind}`).sort()

describe('server configuration history', { skip: skipUnlessSshd() }, () => {
  const work = mkdtempSync(join(tmpdir(), 'hk-config-'))
  const servers: SshdServer[] = []
  const backends = testBackends()
  const cli = (store: Store | null, ...args: string[]) => runInProcess(args, store ? { history: store } : {})
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })

  async function sshd(options: Parameters<typeof startSshd>[0]): Promise<SshdServer> {
    const server = await startSshd(options)
    servers.push(server)
    return server
  }

  backends.forEach((backend, b) => {
    it(`${backend.name}: an upgrade that keeps the keys is config_changed, once; audit shows the configuration`, async () => {
      const { store, cleanup } = await backend.open()
      try {
        const address = `127.74.${b}.1`
        const keyDir = join(work, `keys-${b}`)
        const first = await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'] })
        const target = `${address}:${first.port}`
        const scan = () => cli(store, 'scan', '--no-dns', ...TIMEOUT, '--format', 'json', target)
        assert.deepEqual(kinds(findings(await scan())), ['info new_host'])
        assert.deepEqual(kinds(findings(await scan())), [])

        await first.stop()
        const narrow = await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'], port: first.port, extraConfig: [NARROW_CIPHERS] })
        const upgraded = await scan()
        assert.equal(upgraded.code, 0, 'config_changed is information: below the default --fail-on')
        const changed = findings(upgraded)
        assert.deepEqual(kinds(changed), ['info config_changed'])
        assert.match(changed[0]!.message, /keeping its keys/)
        assert.match(changed[0]!.message, /ciphers: -chacha20-poly1305@openssh\.com/)
        assert.doesNotMatch(changed[0]!.message, /\+aes256-gcm/, 'aes256-gcm was offered before too')
        // Recorded, not repeated: the next scan sees the same configuration.
        assert.deepEqual(kinds(findings(await scan())), [])
        // Two backends behind one address, or a rollback: going back to a configuration the host had
        // is not news, however often it alternates.
        await narrow.stop()
        const back = await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'], port: first.port })
        assert.deepEqual(kinds(findings(await scan())), [], 'back to the first configuration')
        await back.stop()
        await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'], port: first.port, extraConfig: [NARROW_CIPHERS] })
        assert.deepEqual(kinds(findings(await scan())), [], 'and to the second again')

        const audit = await cli(store, 'audit', '--format', 'json')
        assert.equal(audit.code, 0, audit.stderr)
        const text = await cli(store, 'audit')
        assert.equal(text.code, 0, text.stderr)
        assert.match(text.stdout, /aes256-gcm@openssh\.com/)
        assert.doesNotMatch(text.stdout, /chacha20-poly1305/, 'the fleet view is of what hosts offer now')
      } finally {
        await cleanup()
      }
    })
  })

  it('a rebuilt host (new keys and configuration) is key_changed, not config_changed', async () => {
    const { store, cleanup } = await backends[0]!.open()
    try {
      const address = '127.74.10.1'
      const before = await sshd({ addresses: [address], keyDir: join(work, 'rebuild-a'), keyTypes: ['ed25519'] })
      const target = `${address}:${before.port}`
      const scan = () => cli(store, 'scan', '--no-dns', ...TIMEOUT, '--format', 'json', target)
      findings(await scan())
      await before.stop()
      await sshd({ addresses: [address], keyDir: join(work, 'rebuild-b'), keyTypes: ['ed25519'], port: before.port, extraConfig: [NARROW_CIPHERS] })
      assert.deepEqual(kinds(findings(await scan())), ['critical key_changed'])
    } finally {
      await cleanup()
    }
  })

  it('hosts that change keys and configuration to the same new values: the interception finding says so', async () => {
    const { store, cleanup } = await backends[0]!.open()
    try {
      const one = await sshd({ addresses: ['127.74.20.1'], keyDir: join(work, 'own-1'), keyTypes: ['ed25519'] })
      const two = await sshd({ addresses: ['127.74.20.2'], keyDir: join(work, 'own-2'), keyTypes: ['ed25519'], port: one.port })
      const targets = [`127.74.20.1:${one.port}`, `127.74.20.2:${one.port}`]
      const scan = () => cli(store, 'scan', '--no-dns', ...TIMEOUT, '--format', 'json', ...targets)
      findings(await scan())
      await Promise.all([one.stop(), two.stop()])
      // One program answers on both addresses, with its own key and its own configuration.
      await sshd({ addresses: ['127.74.20.1', '127.74.20.2'], keyDir: join(work, 'proxy'), keyTypes: ['ed25519'], port: one.port, extraConfig: [NARROW_CIPHERS] })
      const intercepted = findings(await scan())
      const interception = intercepted.find((f) => f.kind === 'interception')
      assert.ok(interception, JSON.stringify(kinds(intercepted)))
      assert.match(interception.message, /also all changed their SSH configuration to the same new one/)
      assert.ok(!intercepted.some((f) => f.kind === 'config_changed'), 'keys changed too: not an upgrade')
    } finally {
      await cleanup()
    }
  })

  it('scan --policy: policy_violation while the host deviates, kept open by scans without a policy, gone once it complies', async () => {
    const { store, cleanup } = await backends[0]!.open()
    try {
      const address = '127.74.30.1'
      const keyDir = join(work, 'policy')
      const defaults = await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'] })
      const target = `${address}:${defaults.port}`
      const policyFile = join(work, 'strict.policy')
      writeFileSync(policyFile, '# only what a hardened 9.x offers\nciphers allow aes256-gcm@openssh.com aes128-ctr\n')
      const scan = (...extra: string[]) => cli(store, 'scan', '--no-dns', ...TIMEOUT, '--format', 'json', ...extra, target)

      const first = await scan('--policy', policyFile)
      assert.equal(first.code, 1, 'a policy_violation is a warning: at the default --fail-on')
      const violation = findings(first).find((f) => f.kind === 'policy_violation')
      assert.ok(violation, JSON.stringify(kinds(findings(first))))
      assert.match(violation.message, /chacha20-poly1305@openssh\.com/)

      // Without --policy nothing judged the policy: the finding stays open.
      findings(await scan())
      const open = await cli(store, 'findings', '--open', '--format', 'json')
      assert.ok((JSON.parse(open.stdout) as { findings: { kind: string }[] }).findings.some((f) => f.kind === 'policy_violation'), open.stdout)

      await defaults.stop()
      await sshd({ addresses: [address], keyDir, keyTypes: ['ed25519'], port: defaults.port, extraConfig: [NARROW_CIPHERS] })
      const complying = await scan('--policy', policyFile)
      assert.ok(!findings(complying).some((f) => f.kind === 'policy_violation'))
      const after = await cli(store, 'findings', '--open', '--format', 'json')
      assert.ok(!(JSON.parse(after.stdout) as { findings: { kind: string }[] }).findings.some((f) => f.kind === 'policy_violation'), after.stdout)

      const audit = await cli(store, 'audit', '--policy', policyFile)
      assert.equal(audit.code, 0, audit.stderr)
      assert.match(audit.stdout, /every host complies/)
    } finally {
      await cleanup()
    }
  })

  it('a malformed policy stops the scan before any connection, naming FILE:LINE', async () => {
    const policyFile = join(work, 'typo.policy')
    writeFileSync(policyFile, 'ciphers allow aes128-ctr\nKexAlgorithms curve25519-sha256\n')
    // The target's port has nothing listening: had the scan started, it would say refused.
    const result = await cli(null, 'scan', '--no-store', '--no-dns', '--policy', policyFile, '127.74.31.1:9')
    assert.equal(result.code, 2)
    assert.match(result.stderr, new RegExp(`${policyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:`))
    assert.equal(result.stdout, '')
  })
})
