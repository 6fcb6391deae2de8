import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OfferedAlgorithms } from '../../src/domain/observation.js'
import { configDigest, describeConfigChange, describeConfigChangeBesidesKeys, type ServerConfig } from '../../src/domain/server-config.js'

/* Server configurations: equal digests exactly when banner and every list (in order) are equal, and
 * the words config_changed uses for what changed. */

const both = (names: string[]) => ({ clientToServer: names, serverToClient: names })

function offered(overrides: Partial<OfferedAlgorithms> = {}): OfferedAlgorithms {
  return {
    kex: ['curve25519-sha256', 'ecdh-sha2-nistp256', 'kex-strict-s-v00@openssh.com'],
    serverHostKey: ['rsa-sha2-512', 'ssh-ed25519'],
    ciphers: both(['chacha20-poly1305@openssh.com', 'aes128-ctr']),
    macs: both(['hmac-sha2-256-etm@openssh.com']),
    compression: both(['none', 'zlib@openssh.com']),
    ...overrides,
  }
}

const config = (banner: string | null, o: OfferedAlgorithms = offered()): ServerConfig => ({ banner, offered: o })

describe('configDigest', () => {
  it('is equal for equal configurations and differs for any change, order included', () => {
    const base = configDigest(config('SSH-2.0-OpenSSH_9.2p1'))
    assert.deepEqual(configDigest(config('SSH-2.0-OpenSSH_9.2p1')), base)
    const variants: ServerConfig[] = [
      config('SSH-2.0-OpenSSH_9.6p1'),
      config(null),
      config('SSH-2.0-OpenSSH_9.2p1', offered({ kex: ['ecdh-sha2-nistp256', 'curve25519-sha256', 'kex-strict-s-v00@openssh.com'] })),
      config('SSH-2.0-OpenSSH_9.2p1', offered({ ciphers: { clientToServer: ['aes128-ctr'], serverToClient: ['chacha20-poly1305@openssh.com', 'aes128-ctr'] } })),
      config('SSH-2.0-OpenSSH_9.2p1', offered({ compression: both(['none']) })),
      // Names moved from one list to the next must not collide.
      config('SSH-2.0-OpenSSH_9.2p1', offered({ macs: both([]), compression: both(['hmac-sha2-256-etm@openssh.com', 'none', 'zlib@openssh.com']) })),
    ]
    const digests = new Set(variants.map((v) => configDigest(v).toString('hex')))
    assert.equal(digests.size, variants.length)
    assert.ok(!digests.has(base.toString('hex')))
  })
})

describe('describeConfigChange', () => {
  const cases: { name: string; after: ServerConfig; expected: string[] }[] = [
    { name: 'nothing', after: config('SSH-2.0-OpenSSH_9.2p1'), expected: [] },
    { name: 'an upgrade of the banner', after: config('SSH-2.0-OpenSSH_9.6p1'), expected: ['banner "SSH-2.0-OpenSSH_9.2p1" -> "SSH-2.0-OpenSSH_9.6p1"'] },
    {
      name: 'a cipher removed, both ways at once: said once',
      after: config('SSH-2.0-OpenSSH_9.2p1', offered({ ciphers: both(['aes128-ctr']) })),
      expected: ['ciphers: -chacha20-poly1305@openssh.com'],
    },
    {
      name: 'kex added and removed',
      after: config('SSH-2.0-OpenSSH_9.2p1', offered({ kex: ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'kex-strict-s-v00@openssh.com'] })),
      expected: ['kex: +sntrup761x25519-sha512@openssh.com -ecdh-sha2-nistp256'],
    },
    {
      name: 'a new preference order',
      after: config('SSH-2.0-OpenSSH_9.2p1', offered({ serverHostKey: ['ssh-ed25519', 'rsa-sha2-512'] })),
      expected: ['host key: same names, new order'],
    },
    {
      name: 'one direction only',
      after: config('SSH-2.0-OpenSSH_9.2p1', offered({ macs: { clientToServer: ['hmac-sha2-256-etm@openssh.com'], serverToClient: ['hmac-sha2-512-etm@openssh.com'] } })),
      expected: ['MACs server-to-client: +hmac-sha2-512-etm@openssh.com -hmac-sha2-256-etm@openssh.com'],
    },
  ]
  for (const { name, after, expected } of cases) {
    it(name, () => assert.deepEqual(describeConfigChange(config('SSH-2.0-OpenSSH_9.2p1'), after), expected))
  }
})

describe('describeConfigChangeBesidesKeys', () => {
  const withHostKeys = (list: string[]) => config('SSH-2.0-OpenSSH_9.2p1', offered({ serverHostKey: list }))
  it('a key or certificate loaded or dropped is not a configuration change', () => {
    const before = withHostKeys(['rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'])
    assert.deepEqual(describeConfigChangeBesidesKeys(before, withHostKeys(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519'])), [])
    assert.deepEqual(describeConfigChangeBesidesKeys(before, withHostKeys(['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'])), [])
  })
  it('a signature algorithm dropped for a key still served is one', () => {
    const before = withHostKeys(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519'])
    assert.deepEqual(describeConfigChangeBesidesKeys(before, withHostKeys(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519'])), ['host key: -ssh-rsa'])
  })
})
