import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { recordScan } from '../../src/app/record-scan.js'
import type { Finding } from '../../src/domain/finding.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { ScanMeta, Store } from '../../src/store/store.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* Store.recordedScanReport, which a distributed run's judge reads when it takes over a run whose scan a
 * lost judge recorded (src/app/judge-run.ts): what it reads back of a scan is what recordScan returned
 * for it, new_host counted apart, on both stores; and once a later scan has raised some of its findings
 * as its own, the rows no longer add up to the scan's count, which is how the judge knows it cannot
 * rebuild the report. */

const ed = (seed: string) => syntheticKey('ed25519', seed)

let clock = Date.parse('2026-03-01T00:00:00Z')
function meta(): ScanMeta {
  clock += 86_400_000
  return { startedAt: new Date(clock - 60_000), finishedAt: new Date(clock), vantage: 'test', request: { keyFamilies: null } }
}

const fleet = (hosts: Record<string, HostKey[]>) => Object.entries(hosts).map(([host, keys]) => observationOf(host, keys))
const sorted = (findings: readonly Finding[]) => findings.map((f) => JSON.stringify(f)).sort()

for (const backend of testBackends()) {
  describe(`recordedScanReport on ${backend.name}`, () => {
    let opened: OpenedStore
    let store: Store
    before(async () => {
      opened = await backend.open()
      store = opened.store
    })
    after(async () => opened.cleanup())

    /** Records a scan; asserts the history gives back the report recordScan returned. */
    async function scanAndReadBack(hosts: Record<string, HostKey[]>): Promise<number> {
      const result = await recordScan(store, meta(), fleet(hosts))
      const read = await store.recordedScanReport(result.scanId)
      assert.ok(read)
      assert.deepEqual(sorted(read.findings), sorted(result.findings.filter((f) => f.kind !== 'new_host')))
      assert.equal(read.newHosts, result.newHosts)
      assert.equal(read.counted, read.findings.length + read.newHosts)
      return result.scanId
    }

    it('reads back what each scan reported: inserted, raised again, not what was accepted; new_host counted', async () => {
      // A first night: new hosts, two of them clones (duplicate_key).
      await scanAndReadBack({ web1: [ed('web1')], web2: [ed('web2')], clone1: [ed('clone')], clone2: [ed('clone')] })
      // web1 rebuilt (key_changed), the clones again (their duplicate_key raised again), a new host.
      await scanAndReadBack({ web1: [ed('web1-new')], web2: [ed('web2')], clone1: [ed('clone')], clone2: [ed('clone')], web3: [ed('web3')] })
      // Accepted findings raised again (the clones' duplicate_key) are not reported.
      assert.ok(await store.acceptHost('web1', { actor: 'test', reason: null, at: new Date(clock) }))
      assert.ok(await store.acceptHost('clone1', { actor: 'test', reason: null, at: new Date(clock) }))
      await scanAndReadBack({ web1: [ed('web1-new')], web2: [ed('web2')], clone1: [ed('clone')], clone2: [ed('clone')], web3: [ed('web3')] })
    })

    it('a scan whose findings a later scan raised again no longer adds up to its count', async () => {
      const first = await scanAndReadBack({ dup1: [ed('dup')], dup2: [ed('dup')] })
      const before = await store.recordedScanReport(first)
      assert.ok(before && before.findings.some((f) => f.kind === 'duplicate_key'))
      await scanAndReadBack({ dup1: [ed('dup')], dup2: [ed('dup')] })
      const afterwards = await store.recordedScanReport(first)
      assert.ok(afterwards)
      assert.ok(afterwards.findings.length + afterwards.newHosts < afterwards.counted, JSON.stringify(afterwards))
      assert.equal(await store.recordedScanReport(first + 1000), null)
    })
  })
}
