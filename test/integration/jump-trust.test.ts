import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { historyTrust } from '../../src/app/scan-jumps.js'
import { recordScan } from '../../src/app/record-scan.js'
import type { JumpHop } from '../../src/domain/jump.js'
import type { Observation } from '../../src/domain/observation.js'
import type { ScanMeta } from '../../src/store/store.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* Which jump host keys a scan may log in with, as the history says (app/scan-jumps.ts historyTrust),
 * on both real backends; and a target behind a failed jump host (status jump-failed) recorded like any
 * host that did not answer. */

const ed = (seed: string) => syntheticKey('ed25519', seed)
const rsa = (seed: string) => syntheticKey('rsa', seed, 2048)

let clock = Date.parse('2026-03-01T00:00:00Z')
function meta(): ScanMeta {
  clock += 86_400_000
  return { startedAt: new Date(clock - 60_000), finishedAt: new Date(clock), vantage: 'test', request: { keyFamilies: null } }
}

const hop = (name: string, port = 22): JumpHop => ({ name, address: name, port, user: 'ops', identityFiles: [], source: '--jump' })

function trusted(map: ReadonlyMap<string, ReadonlySet<string>>): Record<string, string[]> {
  return Object.fromEntries([...map].map(([type, set]) => [type, [...set].sort()]))
}

for (const backend of testBackends()) {
  describe(`jump host trust on ${backend.name}`, () => {
    let opened: OpenedStore
    before(async () => {
      opened = await backend.open()
    })
    after(async () => {
      await opened?.cleanup()
    })

    it('trusts nothing for a jump host the history does not know', async () => {
      assert.deepEqual(trusted(await historyTrust(opened.store).trustedKeys(hop('bastion'))), {})
      assert.deepEqual(trusted(await historyTrust(null).trustedKeys(hop('bastion'))), {}, 'no history (--no-store)')
    })

    it('trusts the keys first seen, and not a changed key, by identity and port', async () => {
      const first = ed('bastion-1')
      const key = rsa('bastion-rsa')
      await recordScan(opened.store, meta(), [observationOf('bastion', [first, key])])
      const trust = historyTrust(opened.store)
      assert.deepEqual(trusted(await trust.trustedKeys(hop('bastion'))), { 'ssh-ed25519': [first.sha256], 'ssh-rsa': [key.sha256] })
      assert.deepEqual(trusted(await trust.trustedKeys(hop('bastion', 2222))), {}, '[bastion]:2222 is another host')

      const rebuilt = ed('bastion-2')
      const recorded = await recordScan(opened.store, meta(), [observationOf('bastion', [rebuilt, key])])
      assert.ok(recorded.findings.some((f) => f.kind === 'key_changed' && f.host === 'bastion'))
      assert.deepEqual(trusted(await trust.trustedKeys(hop('bastion'))), { 'ssh-ed25519': [first.sha256], 'ssh-rsa': [key.sha256] }, 'the new key waits for accept')
    })

    it('records a target behind a failed jump host as not reached, its keys kept', async () => {
      const key = ed('inner-1')
      await recordScan(opened.store, meta(), [observationOf('inner', [key])])
      const failed: Observation = { ...observationOf('inner', [], { status: 'jump-failed' }), error: 'jump host ops@bastion:22: host key changed' }
      const recorded = await recordScan(opened.store, meta(), [failed])
      const finding = recorded.findings.find((f) => f.host === 'inner')
      assert.equal(finding?.kind, 'host_unreachable')
      assert.match(finding!.message, /jump-failed: jump host ops@bastion:22: host key changed/)
      const records = await opened.store.lookupHost('inner')
      assert.deepEqual(records.map((r) => [r.sha256, r.trust, r.current]), [[key.sha256, 'trusted', true]])
      const timeline = await opened.store.hostTimeline('inner')
      assert.equal(timeline?.lastStatus, 'jump-failed')
    })
  })
}
