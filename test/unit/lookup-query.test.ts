import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UserError } from '../../src/domain/errors.js'
import { publicKeyLine } from '../../src/domain/host-key.js'
import { hashHostName } from '../../src/domain/fingerprint/known-hosts-hash.js'
import { parseLookupQuery } from '../../src/domain/fingerprint/query.js'
import { syntheticKey } from '../support/synthetic-keys.js'

const key = syntheticKey('ed25519', 'q')
const sha = Buffer.from(key.sha256Hex, 'hex')
const md5 = Buffer.from(key.md5.slice(4).replace(/:/g, ''), 'hex')

describe('parseLookupQuery', () => {
  const accepted: [string, string, { kind: string; digest?: string; value?: Buffer; name?: string }][] = [
    ['SHA256 fingerprint', key.sha256, { kind: 'key', digest: 'sha256', value: sha }],
    ['SHA256 fingerprint with padding', `${key.sha256}=`, { kind: 'key', digest: 'sha256', value: sha }],
    ['MD5 fingerprint', key.md5, { kind: 'key', digest: 'md5', value: md5 }],
    ['bare MD5 hex with colons', key.md5.slice(4), { kind: 'key', digest: 'md5', value: md5 }],
    ['bare MD5 hex without colons', key.md5.slice(4).replace(/:/g, ''), { kind: 'key', digest: 'md5', value: md5 }],
    ['bare SHA-256 hex (Censys, zgrab2)', key.sha256Hex, { kind: 'key', digest: 'sha256', value: sha }],
    ['bare SHA-256 hex, upper case', key.sha256Hex.toUpperCase(), { kind: 'key', digest: 'sha256', value: sha }],
    ['public key line with comment', `${publicKeyLine(key)} root@web1`, { kind: 'key', digest: 'sha256', value: sha }],
    ['known_hosts line', `web1,192.0.2.1 ${publicKeyLine(key)}`, { kind: 'key', digest: 'sha256', value: sha }],
    ['hashed known_hosts line', `${hashHostName('web1')} ${publicKeyLine(key)}`, { kind: 'key', digest: 'sha256', value: sha }],
    ['host name', 'web1.example.com', { kind: 'host', name: 'web1.example.com' }],
    ['IPv4 address', '192.0.2.10', { kind: 'host', name: '192.0.2.10' }],
    ['IPv6 address', '2001:db8::1', { kind: 'host', name: '2001:db8::1' }],
    ['identity on another port', '[web1]:2222', { kind: 'host', name: '[web1]:2222' }],
  ]
  for (const [name, query, expected] of accepted) {
    it(`accepts a ${name}`, () => {
      const parsed = parseLookupQuery(query) as Record<string, unknown>
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(parsed[k], v, k)
    })
  }

  const rejected: [string, string, RegExp][] = [
    ['a truncated SHA256 fingerprint', 'SHA256:abc', /not a SHA256 fingerprint/],
    ['a SHA256 fingerprint with bad characters', `SHA256:${'!'.repeat(43)}`, /not a SHA256 fingerprint/],
    ['a short MD5 fingerprint', 'MD5:aa:bb', /not an MD5 fingerprint/],
    ['an empty query', '  ', /is empty/],
    ['a public key line with a broken key', 'ssh-ed25519 AAAA', /not a usable key line/],
    ['words that are none of the forms', 'hello there world', /none of the accepted forms/],
    ['a known_hosts-like line with an unknown key type', 'web1 ssh-foo AAAA', /none of the accepted forms/],
    ['a known_hosts line with a broken key', 'web1 ssh-ed25519 AAAA', /not a usable key line/],
  ]
  for (const [name, query, message] of rejected) {
    it(`rejects ${name}, saying which forms are accepted`, () => {
      assert.throws(() => parseLookupQuery(query), (e: unknown) => {
        assert.ok(e instanceof UserError)
        assert.match(e.message, message)
        assert.match(e.message, /SHA256:<base64>.*known_hosts line.*host name or address/)
        return true
      })
    })
  }
})
