import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { importKnownHostsFile } from '../../src/app/import-known-hosts.js'
import { exportKnownHosts } from '../../src/app/export-known-hosts.js'
import { lookup } from '../../src/app/lookup.js'
import { recordScan } from '../../src/app/record-scan.js'
import { OperationalError } from '../../src/domain/errors.js'
import type { Finding } from '../../src/domain/finding.js'
import { publicKeyLine, type HostKey } from '../../src/domain/host-key.js'
import type { Observation } from '../../src/domain/observation.js'
import { hashHostName } from '../../src/domain/fingerprint/known-hosts-hash.js'
import { parseLookupQuery } from '../../src/domain/fingerprint/query.js'
import { openStore } from '../../src/store/open-store.js'
import type { ScanMeta, Store } from '../../src/store/store.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'
import { readMigrations } from '../../src/store/migrate.js'

const ed = (seed: string) => syntheticKey('ed25519', seed)
const rsa = (seed: string) => syntheticKey('rsa', seed, 2048)

let clock = Date.parse('2026-01-01T00:00:00Z')
function meta(keyFamilies: ScanMeta['request']['keyFamilies'] = null): ScanMeta {
  clock += 86_400_000
  return { startedAt: new Date(clock - 60_000), finishedAt: new Date(clock), vantage: 'test', request: { keyFamilies } }
}

function kinds(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.kind} ${f.host}`).sort()
}

async function scan(store: Store, observations: Observation[], families: ScanMeta['request']['keyFamilies'] = null) {
  return (await recordScan(store, meta(families), observations)).findings
}

function fleet(hosts: Record<string, HostKey[]>): Observation[] {
  return Object.entries(hosts).map(([host, keys]) => observationOf(host, keys))
}

for (const backend of testBackends()) {
  describe(`store on ${backend.name}`, () => {
    let opened: OpenedStore
    let store: Store
    before(async () => {
      opened = await backend.open()
      store = opened.store
    })
    after(async () => opened.cleanup())

    it('migrations are applied once and recorded', async () => {
      const again = await openStoreAgain(opened, store)
      store = again
      assert.deepEqual(store.migrations.applied, [])
      // Every migration the package ships (migrations/*.sql), each once.
      assert.deepEqual(store.migrations.alreadyApplied, readMigrations().map((m) => m.name))
    })

    it('records a first scan: new hosts, trusted keys, duplicates and weak keys', async () => {
      const findings = await scan(store, fleet({ web1: [ed('web1'), rsa('web1')], web2: [ed('web2')], clone1: [ed('gold')], clone2: [ed('gold')], old: [syntheticKey('dsa', 'old')] }))
      assert.deepEqual(kinds(findings), [
        'duplicate_key clone1',
        'new_host clone1',
        'new_host clone2',
        'new_host old',
        'new_host web1',
        'new_host web2',
        'weak_key old',
      ])
      const dup = findings.find((f) => f.kind === 'duplicate_key')!
      assert.deepEqual(dup.hosts, ['clone1', 'clone2'])
    })

    it('a second identical scan adds no sighting rows and repeats only standing conditions', async () => {
      const before = await store.stats()
      const findings = await scan(store, fleet({ web1: [ed('web1'), rsa('web1')], web2: [ed('web2')], clone1: [ed('gold')], clone2: [ed('gold')], old: [syntheticKey('dsa', 'old')] }))
      const after = await store.stats()
      assert.equal(after.sightings, before.sightings)
      assert.equal(after.keys, before.keys)
      assert.equal(after.hosts, before.hosts)
      assert.equal(after.scans, before.scans + 1)
      assert.equal(after.findings, before.findings, 'standing findings are updated, not added')
      assert.deepEqual(kinds(findings), ['duplicate_key clone1', 'weak_key old'])
    })

    it('a duplicate with a host outside this scan counts (whole inventory)', async () => {
      const findings = await scan(store, fleet({ newclone: [ed('web2')] }))
      const dup = findings.find((f) => f.kind === 'duplicate_key')
      assert.deepEqual(dup?.hosts, ['newclone', 'web2'])
    })

    it('allow-shared suppresses duplicate_key and resolves the open one', async () => {
      await store.allowShared(['clone1', 'clone2'], { actor: 'tester', at: new Date(clock) })
      const findings = await scan(store, fleet({ clone1: [ed('gold')], clone2: [ed('gold')] }))
      assert.deepEqual(kinds(findings), [])
      const open = await store.listFindings({ openOnly: true })
      assert.ok(!open.some((f) => f.kind === 'duplicate_key' && f.hosts.includes('clone1')))
    })

    it('key_changed, key_added, key_removed; unreachable is never a removal', async () => {
      const findings = await scan(store, [
        observationOf('web1', [ed('web1-rebuilt'), syntheticKey('ecdsa256', 'web1')]),
        observationOf('web2', [], { status: 'timeout' }),
      ])
      // The rebuilt Ed25519 key is a change; the ECDSA key, of a family web1 never had, comes while web1
      // withholds its trusted RSA key: a family swap, key_changed too, not a key_added warning.
      assert.deepEqual(kinds(findings), ['host_unreachable web2', 'key_changed web1', 'key_changed web1', 'key_removed web1'])
      const swap = findings.find((f) => f.kind === 'key_changed' && f.keyType === 'ecdsa-sha2-nistp256')!
      assert.match(swap.message, /withholds its trusted rsa key/)
      const changed = findings.find((f) => f.kind === 'key_changed' && f.keyType === 'ssh-ed25519')!
      assert.equal(changed.severity, 'critical')
      assert.equal(changed.fingerprint, ed('web1-rebuilt').sha256)
      assert.equal(changed.previous, ed('web1').sha256)
      const web2 = await store.lookupHost('web2')
      assert.ok(web2.every((k) => k.current), 'an unreachable host keeps its keys current')
    })

    it('key_changed repeats until accepted; accept clears it and records who and why', async () => {
      const again = await scan(store, fleet({ web1: [ed('web1-rebuilt'), syntheticKey('ecdsa256', 'web1')] }))
      assert.deepEqual(kinds(again), ['key_changed web1', 'key_changed web1'])
      const acceptance = await store.acceptHost('web1', { actor: 'alice', reason: 'rebuilt on new hardware', at: new Date(clock) })
      assert.ok(acceptance && acceptance.findingsAccepted >= 1)
      const quiet = await scan(store, fleet({ web1: [ed('web1-rebuilt'), syntheticKey('ecdsa256', 'web1')] }))
      assert.deepEqual(kinds(quiet), [])
      const timeline = await store.hostTimeline('web1')
      assert.equal(timeline?.acceptances[0]?.acceptedBy, 'alice')
      assert.equal(timeline?.acceptances[0]?.reason, 'rebuilt on new hardware')
      const accepted = (await store.listFindings({ host: 'web1' })).find((f) => f.kind === 'key_changed')
      assert.equal(accepted?.status, 'accepted')
      assert.equal(accepted?.acceptedBy, 'alice')
    })

    it('interception: several hosts changing to one new key is one critical finding naming them all', async () => {
      await scan(store, fleet({ db1: [ed('db1')], db2: [ed('db2')], db3: [ed('db3')] }))
      const findings = await scan(store, fleet({ db1: [ed('mitm')], db2: [ed('mitm')], db3: [ed('mitm')] }))
      const interception = findings.filter((f) => f.kind === 'interception')
      assert.equal(interception.length, 1)
      assert.equal(interception[0]!.severity, 'critical')
      assert.deepEqual(interception[0]!.hosts, ['db1', 'db2', 'db3'])
      assert.equal(interception[0]!.fingerprint, ed('mitm').sha256)
      assert.equal(findings.filter((f) => f.kind === 'key_changed').length, 3)
    })

    it('a scan that fails half way leaves the history unchanged', async () => {
      const before = await store.stats()
      const lookupBefore = await store.lookupHost('web2')
      const bogus = { kind: 'weak_key', severity: 'apocalyptic', host: 'web2', hosts: ['web2'], keyType: null, fingerprint: null, previous: null, message: 'x.' } as unknown as Finding
      await assert.rejects(
        recordScan(store, meta(), fleet({ web2: [ed('web2-new')], brandnew: [ed('brandnew')] }), { additionalFindings: [bogus] }),
        OperationalError,
      )
      assert.deepEqual(await store.stats(), before)
      assert.deepEqual(await store.lookupHost('web2'), lookupBefore)
      assert.deepEqual(await store.lookupHost('brandnew'), [])
    })

    it('lookup by every query form', async () => {
      const key = ed('web2')
      const forms = [
        key.sha256,
        key.md5,
        key.md5.slice(4),
        key.md5.slice(4).replace(/:/g, ''),
        key.sha256Hex,
        `${publicKeyLine(key)} comment`,
        `web2 ${publicKeyLine(key)}`,
        `${hashHostName('web2')} ${publicKeyLine(key)}`,
      ]
      for (const form of forms) {
        const matches = await lookup(store, parseLookupQuery(form))
        assert.deepEqual(matches.map((m) => m.host).sort(), ['newclone', 'web2'], form)
      }
      const byHost = await lookup(store, parseLookupQuery('web2'))
      assert.deepEqual(byHost.map((m) => m.sha256), [key.sha256])
      const byAddress = await lookup(store, parseLookupQuery('192.0.2.1'))
      assert.ok(byAddress.length > 0, 'a host is found by its address')
      assert.deepEqual(await lookup(store, parseLookupQuery(ed('nobody').sha256)), [])
    })

    it('prune drops old scans and their failures, never sightings or findings', async () => {
      const before = await store.stats()
      const report = await store.prune(new Date(clock + 1))
      const after = await store.stats()
      assert.equal(report.scans, before.scans)
      assert.equal(after.scans, 0)
      assert.equal(after.scanFailures, 0)
      assert.equal(after.sightings, before.sightings)
      assert.equal(after.findings, before.findings)
      assert.ok((await store.lookupHost('web1')).length > 0)
    })

    it('import known_hosts seeds the baseline; hashed entries match when their host is scanned', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hostkeys-kh-'))
      const file = join(dir, 'known_hosts')
      writeFileSync(
        file,
        [
          '# baseline',
          `legacy1,10.0.0.1 ${publicKeyLine(ed('legacy1'))}`,
          `[legacy2]:2222 ${publicKeyLine(ed('legacy2'))}`,
          `${hashHostName('secret1')} ${publicKeyLine(ed('secret1'))}`,
          `@cert-authority *.example ${publicKeyLine(ed('ca'))}`,
          '',
        ].join('\n'),
      )
      try {
        const report = await importKnownHostsFile(store, file)
        assert.equal(report.hosts, 2)
        assert.equal(report.hashed, 1)
        assert.equal(report.skipped.length, 0)
        assert.equal(report.authorities, 1, 'the @cert-authority line is kept for certificate checks')
        // The baseline is compared: same key quiet, other key a change; no new_host for a known host.
        const findings = await scan(store, [
          observationOf('legacy1', [ed('legacy1')]),
          observationOf('[legacy2]:2222', [ed('intruder')], { port: 2222 }),
          observationOf('secret1', [ed('secret1-other')]),
        ])
        assert.deepEqual(kinds(findings), ['key_changed [legacy2]:2222', 'key_changed secret1'])
        const lines = await exportKnownHosts(store, { hash: false })
        assert.ok(lines.includes(`legacy1,10.0.0.1,192.0.2.1 ${publicKeyLine(ed('legacy1'))}`) || lines.some((l) => l.startsWith('legacy1,') && l.endsWith(publicKeyLine(ed('legacy1')))))
        assert.ok(lines.some((l) => l.startsWith('[legacy2]:2222') && l.endsWith(publicKeyLine(ed('legacy2')))), 'the trusted key, not the intruder')
        assert.ok(!lines.some((l) => l.endsWith(publicKeyLine(ed('intruder')))))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

for (const backend of testBackends()) {
  describe(`store on ${backend.name}: the holders of a shared key`, () => {
    let opened: OpenedStore
    before(async () => {
      opened = await backend.open()
    })
    after(async () => opened.cleanup())

    // A nightly scan looks for shared keys in one pass over the history, a scan of a few hosts by
    // looking up the holders of its own keys (scan-findings.ts): both must name every holder.
    const holders = (findings: readonly Finding[]) => findings.filter((f) => f.kind === 'duplicate_key').map((f) => f.hosts.join(' '))
    const fleetOf = (extra: Record<string, HostKey[]>) => {
      const hosts: Record<string, HostKey[]> = { 'gold-a': [ed('gold')], 'gold-b': [ed('gold')] }
      for (let i = 0; i < 1200; i++) hosts[`h${i}`] = [ed(`h${i}`)]
      return fleet({ ...hosts, ...extra })
    }

    it('a scan of one clone into a history of 1,200 hosts names the holders it did not scan', async () => {
      // 1,200 new hosts: the scan refreshes the planner's statistics, so the history's size is known.
      assert.deepEqual(holders(await scan(opened.store, fleetOf({}))), ['gold-a gold-b'])
      assert.deepEqual(holders(await scan(opened.store, fleet({ 'gold-c': [ed('gold')] }))), ['gold-a gold-b gold-c'])
    })

    it('the nightly scan of the whole fleet names the same holders', async () => {
      assert.deepEqual(holders(await scan(opened.store, fleetOf({ 'gold-c': [ed('gold')] }))), ['gold-a gold-b gold-c'])
      // A key no longer served by a third holder: two remain.
      assert.deepEqual(holders(await scan(opened.store, fleetOf({ 'gold-c': [ed('gold-c')] }))), ['gold-a gold-b'])
    })
  })
}

/** Closes and reopens a store on the same database (the second open finds nothing to migrate). */
async function openStoreAgain(opened: OpenedStore, store: Store): Promise<Store> {
  await store.close()
  const reopened = await openStore({ db: opened.db })
  ;(opened as { store: Store }).store = reopened
  return reopened
}
