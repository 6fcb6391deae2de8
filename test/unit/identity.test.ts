import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compareHost } from '../../src/analysis/compare-host.js'
import { findDuplicateKeys } from '../../src/analysis/duplicate-keys.js'
import { KEY_FAMILIES } from '../../src/domain/host-key.js'
import { mergeSameServer, namesAndAddresses } from '../../src/analysis/same-server.js'
import { mergeObservations } from '../../src/analysis/scanned-host.js'
import { shareGroups } from '../../src/analysis/share-groups.js'
import { closestHosts, parseHostArgument } from '../../src/app/host-argument.js'
import { UserError } from '../../src/domain/errors.js'
import { OPENSSH_92_DEFAULT } from '../support/kexinit-fixtures.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'

const key = syntheticKey('ed25519', 'gold')

describe('parseHostArgument', () => {
  const cases: [string, { name: string; port: number | null }][] = [
    ['web1', { name: 'web1', port: null }],
    ['WEB1.Example.COM', { name: 'web1.example.com', port: null }],
    ['web1:2222', { name: 'web1', port: 2222 }],
    ['[web1]:2222', { name: 'web1', port: 2222 }],
    ['10.0.0.5', { name: '10.0.0.5', port: null }],
    ['10.0.0.5:22', { name: '10.0.0.5', port: 22 }],
    ['2001:db8::1', { name: '2001:db8::1', port: null }],
    ['[2001:db8::1]:2222', { name: '2001:db8::1', port: 2222 }],
    ['[2001:db8::1]', { name: '2001:db8::1', port: null }],
  ]
  for (const [text, expected] of cases) it(text, () => assert.deepEqual(parseHostArgument(text), expected))
  it('a port out of range is a UserError saying the range', () => {
    assert.throws(() => parseHostArgument('web1:70000'), (e: unknown) => e instanceof UserError && /1-65535/.test(e.message))
  })
})

describe('closestHosts', () => {
  it('names the hosts nearest to a typo first, whatever their port', () => {
    assert.deepEqual(closestHosts('web2.exmaple.test', ['db1.example.test', '[web2.example.test]:2222', 'web20.example.test'], 2), [
      '[web2.example.test]:2222',
      'web20.example.test',
    ])
  })
})

describe('duplicate_key only between servers', () => {
  const holders = (...list: [string, string | null][]) => [{ fingerprint: key.sha256, keyType: key.type, holders: list.map(([host, endpoint]) => ({ host, endpoint })) }]
  it('two names on one address and port are one server', () => {
    assert.deepEqual(findDuplicateKeys(holders(['[10.0.0.5]:2222', '10.0.0.5 2222'], ['[web1]:2222', '10.0.0.5 2222']), shareGroups([])), [])
  })
  it('the same address on two ports is two servers', () => {
    assert.equal(findDuplicateKeys(holders(['[a]:2222', '10.0.0.5 2222'], ['[b]:2223', '10.0.0.5 2223']), shareGroups([])).length, 1)
  })
  it('three names, two of them one server: still a duplicate naming all three', () => {
    const [finding] = findDuplicateKeys(holders(['a', '10.0.0.1 22'], ['b', '10.0.0.1 22'], ['c', '10.0.0.2 22']), shareGroups([]))
    assert.deepEqual(finding?.hosts, ['a', 'b', 'c'])
  })
})

describe('mergeSameServer', () => {
  it('a name and an address of one server: the name is the identity, the address an address', () => {
    const [byAddress, byName] = mergeObservations([
      observationOf('[10.0.0.5]:2222', [key], { address: '10.0.0.5', port: 2222 }),
      observationOf('[web1]:2222', [key], { address: '10.0.0.5', port: 2222 }),
    ])
    const merged = mergeSameServer([byAddress!, byName!])
    assert.equal(merged.host, '[web1]:2222')
    assert.deepEqual(namesAndAddresses(merged), { names: [], addresses: ['10.0.0.5'] })
    assert.equal(merged.keys.length, 1)
  })
  it('a stored name wins over the scanned one', () => {
    const [host] = mergeObservations([observationOf('web1', [key])])
    assert.equal(mergeSameServer([host!], 'www').host, 'www')
    assert.ok(mergeSameServer([host!], 'www').aliases.includes('web1'))
  })
})

describe('host_unreachable escalation (--unreachable-after)', () => {
  const history = (failedScans: number) => ({ host: 'web1', everReached: true, failedScans, sightings: [] })
  const [down] = mergeObservations([observationOf('web1', [], { status: 'timeout' })])
  it('is info on the first failed scans, a warning from the Nth in a row', () => {
    assert.equal(compareHost(history(0), down!, new Set(KEY_FAMILIES), { unreachableAfter: 3 }).findings[0]?.severity, 'info')
    assert.equal(compareHost(history(1), down!, new Set(KEY_FAMILIES), { unreachableAfter: 3 }).findings[0]?.severity, 'info')
    const third = compareHost(history(2), down!, new Set(KEY_FAMILIES), { unreachableAfter: 3 }).findings[0]
    assert.deepEqual([third?.kind, third?.severity], ['host_unreachable', 'warning'])
    assert.match(third!.message, /3 scans in a row/)
  })
  it('a host that was never reached is never_reached, whatever the count', () => {
    const finding = compareHost({ ...history(5), everReached: false }, down!, new Set(KEY_FAMILIES)).findings[0]
    assert.deepEqual([finding?.kind, finding?.severity], ['never_reached', 'warning'])
  })
  it('a host whose KEXINIT was read and that gave no key is keys_withheld, a warning from the first scan, new or known', () => {
    const greeted = { ...observationOf('web1', [], { status: 'timeout' }), banner: 'SSH-2.0-OpenSSH_9.2p1', offered: OPENSSH_92_DEFAULT }
    // Of two addresses, one silent and one that greeted, the one that greeted tells.
    const [withheld] = mergeObservations([observationOf('web1', [], { status: 'timeout', address: '192.0.2.7' }), greeted])
    for (const known of [null, history(0), { ...history(5), everReached: false }]) {
      const findings = compareHost(known, withheld!, new Set(KEY_FAMILIES), { unreachableAfter: 3 }).findings
      assert.deepEqual(findings.map((f) => [f.kind, f.severity]), [['keys_withheld', 'warning']])
      assert.match(findings[0]!.message, /^web1 answered SSH \(its banner "SSH-2\.0-OpenSSH_9\.2p1" and a key exchange offer naming \d+ host key algorithm/)
      assert.doesNotMatch(findings[0]!.message, /sshd runs there/)
    }
  })
})
