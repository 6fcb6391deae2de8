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
})
