import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { decodeStagedShard, encodeStagedShard, StagedShardError } from '../../src/analysis/staged-observations.js'
import type { Observation } from '../../src/domain/observation.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'

const AT = new Date('2026-11-02T10:00:00Z')
const offered = {
  kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512'],
  ciphers: { clientToServer: ['aes128-ctr'], serverToClient: ['aes128-ctr'] },
  macs: { clientToServer: ['hmac-sha2-256'], serverToClient: ['hmac-sha2-256'] },
  compression: { clientToServer: ['none'], serverToClient: ['none'] },
}

function shard(): Observation[] {
  const web = { ...observationOf('web1', [syntheticKey('ed25519', 'w'), syntheticKey('ecdsa256', 'w'), syntheticKey('rsa', 'w', 2048)], { at: AT, aliases: ['www'] }), offered }
  const partial: Observation = { ...observationOf('[db1]:2222', [syntheticKey('ed25519', 'd')], { at: AT, address: '192.0.2.9', port: 2222 }), status: 'partial', error: 'rsa: timeout', failedFamilies: ['rsa'], offered }
  const down = observationOf('10.0.0.7', [], { status: 'timeout', at: AT })
  return [web, partial, down]
}

describe('staged shards', () => {
  it('decode gives back the observations encode was given, in order', () => {
    const observations = shard()
    const decoded = decodeStagedShard(encodeStagedShard(observations), 'test')
    assert.deepEqual(decoded, observations)
  })

  it('an empty shard round-trips', () => {
    assert.deepEqual(decodeStagedShard(encodeStagedShard([]), 'test'), [])
  })

  it('keeps a configuration once per shard, whatever the number of hosts', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ ...observationOf(`h${i}`, [syntheticKey('ed25519', `k${i}`)], { at: AT }), offered }))
    const bytes = encodeStagedShard(many)
    // ~51-byte ed25519 blob, names and status per host: far below a configuration per host.
    assert.ok(bytes.length < 200 * 150, `${bytes.length} bytes for 200 hosts`)
  })

  const bad: [string, Buffer, RegExp][] = [
    ['not gzip', Buffer.from('hello'), /not gzip'd JSON/],
    ['another format', gzipSync(JSON.stringify({ format: 99, rows: [] })), /unknown format 99/],
    ['a status out of range', gzipSync(JSON.stringify({ format: 1, banners: [null], offered: [null], rows: [['h', null, 0, 22, [], 's', 42, null, [], 0, 0, [], 1, 0, 1]] })), /status 42/],
    ['a key that does not parse', gzipSync(JSON.stringify({ format: 1, banners: [null], offered: [null], rows: [['h', null, 0, 22, [], 's', 0, null, [], 0, 0, ['AAAA'], 1, 0, 1]] })), /does not parse/],
  ]
  for (const [name, bytes, message] of bad) {
    it(`refuses ${name}, saying where`, () => {
      assert.throws(() => decodeStagedShard(bytes, 'run 3 shard 7'), (e: Error) => e instanceof StagedShardError && /^run 3 shard 7/.test(e.message) && message.test(e.message))
    })
  }
})
