import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { vantageMismatchFindings, type VantageView } from '../../src/analysis/vantage-mismatch.js'
import { syntheticKey } from '../support/synthetic-keys.js'

const ed = (seed: string) => syntheticKey('ed25519', seed)
const p256 = (seed: string) => syntheticKey('ecdsa256', seed)
const rsa = (seed: string) => syntheticKey('rsa', seed)
/** A vantage that reached the host and collected every family (none failed), unless told otherwise. */
const view = (vantage: string, keys: ReturnType<typeof ed>[], how: { reached?: boolean; failed?: VantageView['failedFamilies'] } = {}): VantageView => ({
  vantage,
  keys,
  reached: how.reached ?? true,
  failedFamilies: how.failed ?? [],
})
const REACHED = { reached: true, failedFamilies: [] } as const

describe('vantageMismatchFindings', () => {
  const cases: { name: string; views: VantageView[]; expect: [type: string, theirs: string, ours: string | null][] }[] = [
    { name: 'one vantage: nothing to compare', views: [view('a', [ed('real')])], expect: [] },
    { name: 'no views at all', views: [], expect: [] },
    { name: 'same keys from both', views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real'), p256('real')])], expect: [] },
    {
      name: 'the other vantage sees another ed25519 key',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('proxy'), p256('real')])],
      expect: [['ssh-ed25519', ed('proxy').sha256, ed('real').sha256]],
    },
    {
      name: 'a family whose probe failed at one vantage says nothing',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real')], { failed: ['ecdsa'] })],
      expect: [],
    },
    { name: 'an unreachable vantage (no keys) says nothing', views: [view('a', [ed('real')]), view('b', [], { reached: false })], expect: [] },
    {
      name: 'the other vantage was served a family the judged one collected and was not served',
      views: [view('a', [ed('real')]), view('b', [ed('real'), p256('extra')])],
      expect: [['ecdsa-sha2-nistp256', p256('extra').sha256, null]],
    },
    {
      name: 'the judged vantage was served a family the other collected and was not served',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real')])],
      expect: [['ecdsa-sha2-nistp256', p256('real').sha256, null]],
    },
    {
      name: 'a family swap (Ed25519 on one path, only an RSA key on the other) is each family the other did not see',
      views: [view('a', [rsa('proxy')]), view('b', [ed('real')])],
      expect: [
        ['ssh-rsa', rsa('proxy').sha256, null],
        ['ssh-ed25519', ed('real').sha256, null],
      ],
    },
    {
      name: 'the same key withheld from two vantages is one finding',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real')]), view('c', [ed('real')])],
      expect: [['ecdsa-sha2-nistp256', p256('real').sha256, null]],
    },
    {
      name: 'a vantage that reached the host but was served no key at all collected every family',
      views: [view('a', [ed('real')]), view('b', [])],
      expect: [['ssh-ed25519', ed('real').sha256, null]],
    },
    {
      name: 'a family swap seen by a vantage that did not reach the host says nothing',
      views: [view('a', [rsa('proxy')]), view('b', [], { reached: false })],
      expect: [],
    },
    {
      name: 'every disagreeing vantage and type is one finding',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('proxy'), p256('proxy')]), view('c', [ed('other')], { failed: ['ecdsa'] })],
      expect: [
        ['ssh-ed25519', ed('proxy').sha256, ed('real').sha256],
        ['ssh-ed25519', ed('other').sha256, ed('real').sha256],
        ['ecdsa-sha2-nistp256', p256('proxy').sha256, p256('real').sha256],
      ],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const findings = vantageMismatchFindings('web1', c.views)
      assert.deepEqual(
        findings.map((f) => [f.keyType, f.fingerprint, f.previous]),
        c.expect,
      )
      for (const f of findings) {
        assert.equal(f.kind, 'vantage_mismatch')
        assert.equal(f.severity, 'critical')
        assert.deepEqual(f.hosts, ['web1'])
      }
    })
  }

  it('says which vantage was served which family', () => {
    const [finding] = vantageMismatchFindings('web1', [view('inside', [rsa('proxy')]), view('outside', [ed('real')])])
    assert.ok(finding)
    for (const part of [`web1 served ssh-rsa ${rsa('proxy').sha256} to vantage inside but no rsa key to vantage outside`, 'which reached it in the same run and was served ssh-ed25519', 'interceptor']) {
      assert.ok(finding.message.includes(part), `${part}: ${finding.message}`)
    }
  })

  it('names both vantages and both keys in its message', () => {
    const [finding] = vantageMismatchFindings('web1', [view('inside', [ed('proxy')]), view('outside', [ed('real')])])
    assert.ok(finding)
    for (const part of ['web1', 'vantage inside', 'vantage outside', ed('proxy').sha256, ed('real').sha256]) assert.ok(finding.message.includes(part), part)
  })

  // What else than interception makes two vantages disagree, and what the message must then say.
  const at = (iso: string) => new Date(iso)
  it('names both addresses when the name reached different ones (split-horizon DNS, two servers under one name)', () => {
    const [finding] = vantageMismatchFindings('git.example', [
      { vantage: 'inside', keys: [ed('internal')], address: '10.0.0.5', seenAt: at('2026-12-01T02:00:00Z'), ...REACHED },
      { vantage: 'outside', keys: [ed('public')], address: '192.0.2.7', seenAt: at('2026-12-01T02:00:10Z'), ...REACHED },
    ])
    assert.ok(finding)
    assert.equal(finding.severity, 'critical')
    for (const part of ['vantage inside at 10.0.0.5', 'vantage outside at 192.0.2.7', 'different addresses', 'split-horizon DNS', 'scan them by address']) {
      assert.ok(finding.message.includes(part), `${part}: ${finding.message}`)
    }
    assert.doesNotMatch(finding.message, /load balancer/)
  })

  it('on one address, names interception and a load balancer whose servers do not share keys', () => {
    const [finding] = vantageMismatchFindings('web1', [
      { vantage: 'a', keys: [ed('real')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:00Z'), ...REACHED },
      { vantage: 'b', keys: [ed('proxy')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:30Z'), ...REACHED },
    ])
    assert.ok(finding)
    assert.match(finding.message, /intercepting firewall or proxy/)
    assert.match(finding.message, /load balancer/)
    assert.doesNotMatch(finding.message, /different addresses|regenerated/)
    assert.ok(finding.message.includes('(2026-12-01T02:00:00Z)') && finding.message.includes('(2026-12-01T02:00:30Z)'), finding.message)
  })

  it('says how far apart the probes were when a rebuild between them could explain it', () => {
    const [finding] = vantageMismatchFindings('web1', [
      { vantage: 'a', keys: [ed('old')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:00Z'), ...REACHED },
      { vantage: 'b', keys: [ed('new')], address: '198.51.100.4', seenAt: at('2026-12-01T02:45:00Z'), ...REACHED },
    ])
    assert.ok(finding)
    assert.match(finding.message, /45 minutes apart: if the host's keys were regenerated in between, the next run agrees/)
  })
})
