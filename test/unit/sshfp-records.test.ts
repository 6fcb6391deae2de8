import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { planSshfpDiff, trustedSshfpRecords } from '../../src/app/sshfp-records.js'
import { UserError } from '../../src/domain/errors.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { SshfpAnswer, SshfpResolver } from '../../src/dns/sshfp-answer.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import { fixtureKey } from '../support/sshfp-key-fixtures.js'
import type { TrustedKey } from '../../src/domain/history.js'

/* The `hostkeys sshfp` use case over an in-memory list of trusted keys (the store's own tests cover
 * trustedKeys() on real databases), and the --diff plan over a stub resolver. */

const ed = fixtureKey('ed25519')
const edNew = fixtureKey('ed25519-rebuilt')
const rsa = fixtureKey('rsa')

function trusted(host: string, key: HostKey): TrustedKey {
  return { host, aliases: [], port: 22, type: key.type, blob: key.blob }
}

const history = [
  trusted('web1.example.com', ed),
  trusted('web1.example.com', rsa),
  trusted('[web1.example.com]:2222', ed), // same key on a second port: merged, not repeated
  trusted('[web2.example.com]:2222', ed),
  trusted('[web2.example.com]:2223', edNew), // two Ed25519 keys at one name: a conflict
  trusted('192.0.2.10', rsa), // an IP literal: never an SSHFP owner
  trusted('[2001:db8::1]:2222', rsa),
]
const store = { trustedKeys: async () => history }
const both = [1, 2] as const

function summary(result: Awaited<ReturnType<typeof trustedSshfpRecords>>): [string, number][] {
  return result.hosts.map((h) => [h.host, h.records.length])
}

describe('trustedSshfpRecords', () => {
  it('gives every DNS-named host its records, merged per bare name, IP literals left out', async () => {
    const result = await trustedSshfpRecords(store, { hosts: [], digests: [...both] })
    assert.deepEqual(summary(result), [
      ['web1.example.com', 4],
      ['web2.example.com', 4],
    ])
    assert.deepEqual(result.hosts[0]!.records, expectedRecords([ed, rsa]))
    assert.deepEqual(result.conflicts, [{ name: 'web2.example.com', identities: ['[web2.example.com]:2222', '[web2.example.com]:2223'] }])
  })

  it('takes a bare name for all its identities and [name]:port for that one', async () => {
    const cases: [string[], [string, number][]][] = [
      [['web2.example.com'], [['web2.example.com', 4]]],
      [['[web2.example.com]:2223'], [['web2.example.com', 2]]],
      [['WEB1.example.com.'], [['web1.example.com', 4]]],
      [['[web1.example.com]:2222', 'web2.example.com'], [['web1.example.com', 2], ['web2.example.com', 4]]],
    ]
    for (const [hosts, expected] of cases) {
      assert.deepEqual(summary(await trustedSshfpRecords(store, { hosts, digests: [...both] })), expected, hosts.join(' '))
    }
    const one = await trustedSshfpRecords(store, { hosts: ['[web2.example.com]:2223'], digests: [2] })
    assert.deepEqual(one.hosts[0]!.records, expectedRecords([edNew], [2]))
    assert.deepEqual(one.conflicts, [])
  })

  it('refuses unknown, IP-literal, invalid and out-of-zone names with a UserError', async () => {
    const cases: [string[], string | null, RegExp][] = [
      [['web9.example.com'], null, /no trusted keys for web9\.example\.com/],
      [['[web1.example.com]:2200'], null, /no trusted keys for \[web1\.example\.com\]:2200/],
      [['192.0.2.10'], null, /IP address/],
      [['[2001:db8::1]:2222'], null, /IP address/],
      [['web1.example.com ; rm'], null, /a space/],
      [['web1.example.com'], 'example.org', /outside the zone example\.org\./],
      [[], 'bad zone', /a space/],
    ]
    for (const [hosts, origin, message] of cases) {
      await assert.rejects(trustedSshfpRecords(store, { hosts, digests: [...both], origin }), (e: Error) => {
        assert.ok(e instanceof UserError, e.message)
        assert.match(e.message, message)
        return true
      })
    }
  })

  it('refuses the whole listing when the history holds a name that cannot go into zone text', async () => {
    const bad = { trustedKeys: async () => [...history, trusted('we"b3.example.com', ed)] }
    await assert.rejects(trustedSshfpRecords(bad, { hosts: [], digests: [...both] }), /cannot be DNS names \("we\\"b3\.example\.com"\)/)
    // Named hosts are still served.
    assert.deepEqual(summary(await trustedSshfpRecords(bad, { hosts: ['web1.example.com'], digests: [2] })), [['web1.example.com', 2]])
  })

  it('is empty for a history without DNS-named hosts', async () => {
    const result = await trustedSshfpRecords({ trustedKeys: async () => [trusted('192.0.2.10', rsa)] }, { hosts: [], digests: [...both] })
    assert.deepEqual(result.hosts, [])
  })
})

describe('planSshfpDiff', () => {
  const answers: Record<string, SshfpAnswer> = {
    'a.example.com': { kind: 'records', name: 'a.example.com', records: expectedRecords([ed]), authenticated: false, rcode: 'NOERROR', ignored: 0, server: 'x' },
    'b.example.com': { kind: 'records', name: 'b.example.com', records: expectedRecords([edNew]), authenticated: false, rcode: 'NOERROR', ignored: 0, server: 'x' },
    'c.example.com': { kind: 'records', name: 'c.example.com', records: [], authenticated: false, rcode: 'NXDOMAIN', ignored: 0, server: 'x' },
    'd.example.com': { kind: 'error', name: 'd.example.com', status: 'timeout', detail: 'no answer' },
  }
  const resolver: SshfpResolver = { lookupSshfp: async (name) => answers[name]! }

  it('counts hosts whose records differ or whose lookup failed, and keeps failures apart from "no records"', async () => {
    const hosts = ['a', 'b', 'c', 'd'].map((h) => ({ host: `${h}.example.com`, records: expectedRecords([ed]) }))
    const plan = await planSshfpDiff(hosts, resolver)
    assert.equal(plan.hostsToChange, 3)
    assert.deepEqual(plan.failures, [{ name: 'd.example.com', detail: 'timeout: no answer' }])
    assert.deepEqual(
      plan.states.map((s) => s.served?.length ?? null),
      [2, 2, 0, null],
    )
  })
})
