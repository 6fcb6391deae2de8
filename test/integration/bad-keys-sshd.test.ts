import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { checkHostKey } from '../../src/analysis/bad-keys.js'
import { sharedFactors } from '../../src/analysis/batch-gcd.js'
import type { HostKey } from '../../src/domain/host-key.js'
import { SshReader } from '../../src/domain/ssh-wire.js'
import { scanHost } from '../../src/ssh/scan-host.js'
import { closePrimes, keysSharingAPrime, rocaKey, rsaFromPrimes, rsaKeyDir, type RsaFromPrimes } from '../support/rsa-from-primes.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { runInProcess } from '../support/cli-in-process.js'
import type { Store } from '../../src/store/store.js'
import { writeBlocklistFile } from '../support/blocklist-file.js'
import { testBackends } from '../support/test-store.js'

/* RSA host keys built from chosen primes, served by real OpenSSH sshd on 127.80.0.0/16 (this
 * file's block), collected by the scanner as any host key is, then judged: close primes and the
 * ROCA form are flagged by checkHostKey, two hosts sharing a prime by batch GCD, and an ordinary
 * ssh-keygen key by neither. */

const work = mkdtempSync(path.join(tmpdir(), 'hostkeys-bad-keys-sshd-'))

/** A key directory whose RSA host key is `key` (the harness reuses keys it finds there). */
const keyDirWith = (name: string, key: RsaFromPrimes): string => rsaKeyDir(work, name, key)
async function collectRsaKey(server: SshdServer): Promise<HostKey> {
  const address = server.addresses[0]!
  const observation = await scanHost({ host: address, address, port: server.port, aliases: [], source: 'test' }, { families: ['rsa'], timeoutMs: 10_000 })
  assert.equal(observation.status, 'ok', observation.error ?? '')
  const key = observation.keys.find((k) => k.type === 'ssh-rsa')
  assert.ok(key, `an RSA key from ${address}`)
  return key
}

function modulusOf(key: HostKey): bigint {
  // ssh-rsa blob: string type, mpint e, mpint n.
  const reader = new SshReader(key.blob, 'ssh-rsa key blob')
  reader.string('key type')
  reader.string('e')
  return reader.mpint('n')
}

describe('known-bad RSA host keys served by real sshd', { skip: skipUnlessSshd() }, () => {
  const built = {
    close: rsaFromPrimes(...closePrimes(1024)),
    roca: rocaKey(2048),
    shared: keysSharingAPrime(2048),
  }
  const servers: Record<string, SshdServer> = {}

  before(async () => {
    const specs: [string, string, string | null][] = [
      ['close', '127.80.0.1', keyDirWith('close', built.close)],
      ['roca', '127.80.0.2', keyDirWith('roca', built.roca)],
      ['sharedA', '127.80.0.3', keyDirWith('sharedA', built.shared[0])],
      ['sharedB', '127.80.0.4', keyDirWith('sharedB', built.shared[1])],
      ['normal', '127.80.0.5', null],
    ]
    for (const [name, address, keyDir] of specs) {
      servers[name] = await startSshd({ addresses: [address], keyTypes: ['rsa'], ...(keyDir ? { keyDir } : {}) })
    }
  })
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })

  it('a key from close primes is served and flagged by the Fermat check', async () => {
    const key = await collectRsaKey(servers['close']!)
    assert.deepEqual(key.blob, built.close.blob, 'sshd serves the key built from the primes')
    assert.equal(key.bits, 2048)
    assert.equal(checkHostKey(key)?.check, 'fermat')
  })

  it('a key from primes of the ROCA form is served and flagged by the ROCA check', async () => {
    const key = await collectRsaKey(servers['roca']!)
    assert.deepEqual(key.blob, built.roca.blob)
    assert.equal(checkHostKey(key)?.check, 'roca')
  })

  it('two hosts whose keys share a prime pass every single-key check and are caught by batch GCD', async () => {
    const a = await collectRsaKey(servers['sharedA']!)
    const b = await collectRsaKey(servers['sharedB']!)
    assert.equal(checkHostKey(a), null)
    assert.equal(checkHostKey(b), null)
    const result = sharedFactors([modulusOf(a)], [modulusOf(b)])
    assert.equal(result.hits.length, 1)
    assert.deepEqual(result.hits[0]!.sharesWith, [{ set: 'known', index: 0 }])
    assert.equal(result.hits[0]!.split, true)
  })

  it('an ordinary ssh-keygen RSA key is not flagged', async () => {
    const key = await collectRsaKey(servers['normal']!)
    assert.equal(checkHostKey(key), null)
    const a = await collectRsaKey(servers['sharedA']!)
    assert.deepEqual(sharedFactors([modulusOf(a)], [modulusOf(key)]).hits, [])
  })

  /* The same servers through the CLI, as a user runs it (in this process: main(), the same wiring,
   * renderers and exit codes): findings in the history on both stores, an open one per test. */
  const backends = testBackends()
  const target = (name: string) => `${servers[name]!.addresses[0]}:${servers[name]!.port}`
  const scanJson = async (store: Store | null, ...args: string[]) => {
    const result = await runInProcess(['scan', ...(store ? [] : ['--no-store']), '--no-dns', '-T', '8', '-t', 'rsa', '--format', 'json', ...args], store ? { history: store } : {})
    assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
    return { code: result.code, findings: (JSON.parse(result.stdout) as { findings: CliFinding[] }).findings }
  }
  const compromised = (findings: readonly CliFinding[]) =>
    findings.filter((f) => f.kind === 'compromised_key').map((f) => `${f.severity} ${f.host} ${/\(([a-z-]+)\)/.exec(f.message)?.[1]}`).sort()
  const id = (name: string) => `[${servers[name]!.addresses[0]}]:${servers[name]!.port}`

  for (const backend of backends) {
    it(`${backend.name}: scan raises compromised_key for close primes and ROCA, names the check, and keeps it at the next scan`, async () => {
      const { store, cleanup } = await backend.open()
      try {
        const first = await scanJson(store, target('close'), target('roca'), target('normal'))
        assert.equal(first.code, 1)
        assert.deepEqual(compromised(first.findings), [`critical ${id('close')} fermat`, `critical ${id('roca')} roca`])
        const again = await scanJson(store, target('close'), target('roca'), target('normal'))
        assert.deepEqual(compromised(again.findings), [`critical ${id('close')} fermat`, `critical ${id('roca')} roca`], 'the stored verdict, not a fresh check, raises it again')
      } finally {
        await cleanup()
      }
    })

    it(`${backend.name}: a bad key the history held before any check (an imported baseline) is judged at its first scan`, async () => {
      const { store, cleanup } = await backend.open()
      try {
        // The import stores the key unchecked; the scan's verdict goes onto that stored row.
        const close = await collectRsaKey(servers['close']!)
        const knownHosts = path.join(work, `known_hosts-${backend.name}`)
        writeFileSync(knownHosts, `${id('close')} ssh-rsa ${close.blob.toString('base64')}\n`)
        const imported = await runInProcess(['import', 'known_hosts', knownHosts], { history: store })
        assert.equal(imported.code, 0, imported.stderr)
        const first = await scanJson(store, target('close'), target('normal'))
        assert.deepEqual(compromised(first.findings), [`critical ${id('close')} fermat`])
        assert.ok(!first.findings.some((f) => f.kind === 'key_changed' && f.host === id('close')), 'the baseline key is the served one')
        const stored = await store.recording((session) => session.keyVerdicts([close.sha256]))
        assert.equal(stored.get(close.sha256)?.compromised, 'fermat', 'the verdict is kept on the row the import stored')
        assert.ok((stored.get(close.sha256)?.checksVersion ?? 0) > 0)
        const again = await scanJson(store, target('close'), target('normal'))
        assert.deepEqual(compromised(again.findings), [`critical ${id('close')} fermat`])
      } finally {
        await cleanup()
      }
    })

    it(`${backend.name}: a prime shared with a key seen in an earlier scan flags both hosts`, async () => {
      const { store, cleanup } = await backend.open()
      try {
        const alone = await scanJson(store, target('sharedA'))
        assert.deepEqual(compromised(alone.findings), [], 'one key alone shares nothing')
        const later = await scanJson(store, target('sharedB'))
        assert.deepEqual(compromised(later.findings), [`critical ${id('sharedA')} shared-prime`, `critical ${id('sharedB')} shared-prime`])
        const b = later.findings.find((f) => f.kind === 'compromised_key' && f.host === id('sharedB'))!
        const aFingerprint = `SHA256:${createHash('sha256').update(built.shared[0].blob).digest('base64').replace(/=+$/, '')}`
        assert.ok(b.message.includes(aFingerprint), `B's finding names A's key: ${b.message}`)
      } finally {
        await cleanup()
      }
    })
  }

  it('--blocklist: a listed key is compromised_key naming the list; the verdict outlives the flag', async () => {
    const { store, cleanup } = await backends[0]!.open()
    try {
      const normal = await collectRsaKey(servers['normal']!)
      const list = path.join(work, 'blocklist.dat')
      writeBlocklistFile(list, [{ key: normal, listId: 1 }], 5000)
      const listed = await scanJson(store, '--blocklist', list, target('normal'))
      assert.deepEqual(compromised(listed.findings), [`critical ${id('normal')} blocklist`])
      assert.match(listed.findings.find((f) => f.kind === 'compromised_key')!.message, /Debian OpenSSL 2008/)
      const without = await scanJson(store, target('normal'))
      assert.deepEqual(compromised(without.findings), [`critical ${id('normal')} blocklist`])
    } finally {
      await cleanup()
    }
  })

  it('--no-store judges the scan alone: Fermat, and shared primes among its own keys', async () => {
    const result = await scanJson(null, target('close'), target('sharedA'), target('sharedB'), target('normal'))
    assert.deepEqual(compromised(result.findings), [`critical ${id('close')} fermat`, `critical ${id('sharedA')} shared-prime`, `critical ${id('sharedB')} shared-prime`])
  })

  it('a blocklist that is not one stops the scan before it starts', async () => {
    const list = path.join(work, 'not-a-blocklist.dat')
    writeFileSync(list, 'hello, world\n')
    const result = await runInProcess(['scan', '--no-store', '--no-dns', '--blocklist', list, target('normal')])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /not-a-blocklist\.dat/)
    assert.equal(result.stdout, '')
  })
})

interface CliFinding {
  kind: string
  severity: string
  host: string
  message: string
}
