import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { vantageMismatchFindings, type VantageView } from '../../src/analysis/vantage-mismatch.js'
import { syntheticKey } from '../support/synthetic-keys.js'

const ed = (seed: string) => syntheticKey('ed25519', seed)
const p256 = (seed: string) => syntheticKey('ecdsa256', seed)
const view = (vantage: string, keys: ReturnType<typeof ed>[]): VantageView => ({ vantage, keys })

describe('vantageMismatchFindings', () => {
  const cases: { name: string; views: VantageView[]; expect: [type: string, theirs: string, ours: string][] }[] = [
    { name: 'one vantage: nothing to compare', views: [view('a', [ed('real')])], expect: [] },
    { name: 'no views at all', views: [], expect: [] },
    { name: 'same keys from both', views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real'), p256('real')])], expect: [] },
    {
      name: 'the other vantage sees another ed25519 key',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('proxy'), p256('real')])],
      expect: [['ssh-ed25519', ed('proxy').sha256, ed('real').sha256]],
    },
    {
      name: 'a type only one vantage collected (a failed probe) says nothing',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('real')])],
      expect: [],
    },
    { name: 'an unreachable vantage (no keys) says nothing', views: [view('a', [ed('real')]), view('b', [])], expect: [] },
    {
      name: 'every disagreeing vantage and type is one finding',
      views: [view('a', [ed('real'), p256('real')]), view('b', [ed('proxy'), p256('proxy')]), view('c', [ed('other')])],
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

  it('names both vantages and both keys in its message', () => {
    const [finding] = vantageMismatchFindings('web1', [view('inside', [ed('proxy')]), view('outside', [ed('real')])])
    assert.ok(finding)
    for (const part of ['web1', 'vantage inside', 'vantage outside', ed('proxy').sha256, ed('real').sha256]) assert.ok(finding.message.includes(part), part)
  })

  // What else than interception makes two vantages disagree, and what the message must then say.
  const at = (iso: string) => new Date(iso)
  it('names both addresses when the name reached different ones (split-horizon DNS, two servers under one name)', () => {
    const [finding] = vantageMismatchFindings('git.example', [
      { vantage: 'inside', keys: [ed('internal')], address: '10.0.0.5', seenAt: at('2026-12-01T02:00:00Z') },
      { vantage: 'outside', keys: [ed('public')], address: '192.0.2.7', seenAt: at('2026-12-01T02:00:10Z') },
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
      { vantage: 'a', keys: [ed('real')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:00Z') },
      { vantage: 'b', keys: [ed('proxy')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:30Z') },
    ])
    assert.ok(finding)
    assert.match(finding.message, /intercepting firewall or proxy/)
    assert.match(finding.message, /load balancer/)
    assert.doesNotMatch(finding.message, /different addresses|regenerated/)
    assert.ok(finding.message.includes('(2026-12-01T02:00:00Z)') && finding.message.includes('(2026-12-01T02:00:30Z)'), finding.message)
  })

  it('says how far apart the probes were when a rebuild between them could explain it', () => {
    const [finding] = vantageMismatchFindings('web1', [
      { vantage: 'a', keys: [ed('old')], address: '198.51.100.4', seenAt: at('2026-12-01T02:00:00Z') },
      { vantage: 'b', keys: [ed('new')], address: '198.51.100.4', seenAt: at('2026-12-01T02:45:00Z') },
    ])
    assert.ok(finding)
    assert.match(finding.message, /45 minutes apart: if the host's keys were regenerated in between, the next run agrees/)
  })
})
