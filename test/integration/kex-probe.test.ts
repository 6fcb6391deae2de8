import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { KEX_METHODS } from '../../src/ssh/kex-methods.js'
import { probeHostKey } from '../../src/ssh/probe-host-key.js'
import { groupsForFamilies } from '../../src/ssh/probe-groups.js'
import { skipUnlessSshd, SSH_KEYGEN_PATH, startSshd, type SshdServer } from '../support/sshd.js'

/* Our key-exchange probe against real OpenSSH, one sshd per key exchange method it speaks, each
 * configured to offer only that method (KexAlgorithms is global in sshd_config). 127.71.0.0/16. */

function keygenSha256(pubFile: string): string {
  return execFileSync(SSH_KEYGEN_PATH, ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).trim().split(' ')[1]!
}

describe('key-exchange probe against real sshd, every method', { skip: skipUnlessSshd() }, () => {
  const servers = new Map<string, SshdServer>()
  let keyDir: string
  before(async () => {
    const first = await startSshd({ addresses: ['127.71.0.1'], keyTypes: ['ed25519', 'rsa'] })
    keyDir = first.keyDir
    servers.set('default', first)
    await Promise.all(
      KEX_METHODS.map(async (method, i) => {
        // The SHA-1 group exchange and group1 are compiled in but off by default: listing them turns them on.
        const server = await startSshd({ addresses: [`127.71.1.${i + 1}`], keyDir, keyTypes: ['ed25519', 'rsa'], extraConfig: [`KexAlgorithms ${method.name}`] })
        servers.set(method.name, server)
      }),
    )
  })
  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()))
  })

  for (const method of KEX_METHODS) {
    it(`${method.name}: fetches the Ed25519 and the RSA key`, async () => {
      const server = servers.get(method.name)!
      for (const family of ['ed25519', 'rsa'] as const) {
        const result = await probeHostKey({ address: server.addresses[0]!, port: server.port, groups: groupsForFamilies([family]), timeoutMs: 5000 })
        assert.equal(result.kind, 'key', result.kind === 'failed' ? result.detail : result.kind)
        if (result.kind !== 'key') return
        assert.equal(result.kex, method.name)
        const pub = server.publicKeyFiles[family === 'ed25519' ? 'ed25519' : 'rsa']!
        assert.equal(result.key.sha256, keygenSha256(pub))
      }
    })
  }

  it('a default OpenSSH server is asked for curve25519, not its post-quantum hybrid', async () => {
    const server = servers.get('default')!
    const result = await probeHostKey({ address: server.addresses[0]!, port: server.port, groups: groupsForFamilies(null), timeoutMs: 5000 })
    assert.equal(result.kind, 'key')
    if (result.kind !== 'key') return
    assert.equal(result.kex, 'curve25519-sha256')
    assert.equal(result.key.type, 'ssh-ed25519')
    assert.ok(result.hello.kind === 'kexinit' && result.hello.offered.kex.some((k) => k.startsWith('sntrup761x25519')), 'server offers sntrup761')
  })

  it('a server whose only kex the probe does not speak ends as a protocol error that names its methods', async () => {
    const server = await startSshd({ addresses: ['127.71.2.1'], keyDir, keyTypes: ['ed25519'], extraConfig: ['KexAlgorithms sntrup761x25519-sha512@openssh.com'] })
    try {
      const result = await probeHostKey({ address: server.addresses[0]!, port: server.port, groups: groupsForFamilies(null), timeoutMs: 5000 })
      assert.equal(result.kind, 'failed')
      if (result.kind !== 'failed') return
      assert.equal(result.status, 'protocol-error')
      assert.match(result.detail, /no key exchange method in common; the server offers sntrup761x25519-sha512@openssh.com/)
    } finally {
      await server.stop()
    }
  })
})
