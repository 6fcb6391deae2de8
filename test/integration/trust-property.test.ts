import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { exportKnownHosts } from '../../src/app/export-known-hosts.js'
import { acceptHost, revokeKeys } from '../../src/app/history-actions.js'
import { importKnownHostsFile } from '../../src/app/import-known-hosts.js'
import { recordScan } from '../../src/app/record-scan.js'
import { trustedSshfpRecords } from '../../src/app/sshfp-records.js'
import { UserError } from '../../src/domain/errors.js'
import { familyOfType, publicKeyLine, type HostKey } from '../../src/domain/host-key.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import type { ScanMeta, Store } from '../../src/store/store.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { keysSharingAPrime } from '../support/rsa-from-primes.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { testBackends } from '../support/test-store.js'

/* A property of the whole history, over random sequences of what happens to a fleet: scans (real
 * keys, families withheld, interceptors' keys of either family), known_hosts imports (plain and
 * @revoked), accepts and revocations. A small model says which keys a person trusted (first use of
 * a host with nothing trusted or pending, an import, an accept) and which were revoked; after every
 * step `known-hosts` must export exactly the trusted keys that are not revoked, plus an @revoked line
 * per revoked key, and `sshfp` must publish records for exactly those keys; every scan must raise a
 * critical finding exactly when the model says one is due (a --fail-on critical cron job's exit 1).
 * Joins and renames are covered by test/integration/trust-ledger.test.ts against real sshd. */

const HOSTS = ['web1.example.com', 'web2.example.com', 'web3.example.com'] as const
type Host = (typeof HOSTS)[number]

/** Each host's own keys and an interceptor's, of two families. */
const KEYS: Record<Host, { ed: HostKey; rsa: HostKey; edMitm: HostKey; rsaMitm: HostKey }> = Object.fromEntries(
  HOSTS.map((h) => [h, { ed: syntheticKey('ed25519', `${h}-ed`), rsa: syntheticKey('rsa', `${h}-rsa`, 2048), edMitm: syntheticKey('ed25519', `${h}-mitm-ed`), rsaMitm: syntheticKey('rsa', `${h}-mitm-rsa`, 2048) }]),
) as never

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface HostModel {
  trusted: Set<string>
  pending: Set<string>
  sighted: Set<string>
  current: Set<string>
}

class Model {
  readonly hosts = new Map<Host, HostModel>()
  readonly revoked = new Set<string>()
  readonly blobs = new Map<string, HostKey>()

  host(h: Host): HostModel {
    let m = this.hosts.get(h)
    if (!m) this.hosts.set(h, (m = { trusted: new Set(), pending: new Set(), sighted: new Set(), current: new Set() }))
    return m
  }

  /** Whether a scan serving `served` must raise a critical finding, then what it records. */
  scan(h: Host, served: readonly HostKey[]): boolean {
    const m = this.host(h)
    for (const k of served) this.blobs.set(k.sha256, k)
    let critical = served.some((k) => this.revoked.has(k.sha256))
    if (m.trusted.size === 0 && m.pending.size === 0) {
      for (const k of served) m.trusted.add(k.sha256)
    } else {
      const familyOf = (sha: string) => familyOfType(this.blobs.get(sha)!.type)
      const trustedFamilies = new Set([...m.trusted].map(familyOf))
      const withheld = [...trustedFamilies].some((f) => !served.some((k) => k.family === f))
      for (const k of served) {
        if (m.trusted.has(k.sha256)) continue
        m.pending.add(k.sha256)
        if (trustedFamilies.has(k.family) || withheld) critical = true
      }
    }
    for (const k of served) m.sighted.add(k.sha256)
    m.current = new Set(served.map((k) => k.sha256))
    return critical
  }

  import(h: Host, key: HostKey): void {
    const m = this.host(h)
    this.blobs.set(key.sha256, key)
    if (!m.sighted.has(key.sha256)) {
      m.sighted.add(key.sha256)
      m.trusted.add(key.sha256)
    }
  }

  /** Whether accept must refuse (a revoked key served); else what it trusts and retires. */
  accept(h: Host): 'refused' | 'unknown' | 'accepted' {
    const m = this.hosts.get(h)
    if (!m || m.current.size === 0) return 'unknown'
    if ([...m.current].some((k) => this.revoked.has(k))) return 'refused'
    for (const k of m.current) {
      m.trusted.add(k)
      m.pending.delete(k)
    }
    for (const k of [...m.trusted]) if (!m.current.has(k)) m.trusted.delete(k)
    return 'accepted'
  }

  /** The plain known_hosts lines `known-hosts` must write, as `host key`. */
  vouched(): Set<string> {
    const out = new Set<string>()
    for (const [h, m] of this.hosts) for (const k of m.trusted) if (!this.revoked.has(k)) out.add(`${h} ${publicKeyLine(this.blobs.get(k)!)}`)
    return out
  }
}

const work = mkdtempSync(join(tmpdir(), 'hostkeys-trust-property-'))
after(() => rmSync(work, { recursive: true, force: true }))

async function checkOutputs(store: Store, model: Model, context: string): Promise<void> {
  const lines = await exportKnownHosts(store, { hash: false })
  // A line names the host and the addresses it was seen at: compare by its first name.
  const plain = new Set(lines.filter((l) => !l.startsWith('@')).map((l) => l.replace(/^([^ ,]+)(,[^ ]*)? /, '$1 ')))
  assert.deepEqual([...plain].sort(), [...model.vouched()].sort(), `${context}: known-hosts vouches for exactly the trusted, unrevoked keys`)
  const revokedLines = new Set(lines.filter((l) => l.startsWith('@revoked ')))
  for (const sha of model.revoked) assert.ok(revokedLines.has(`@revoked * ${publicKeyLine(model.blobs.get(sha)!)}`), `${context}: ${sha} is exported @revoked`)
  const sshfp = await trustedSshfpRecords(store, { hosts: [], digests: [2] })
  const published = new Set(sshfp.hosts.flatMap((h) => h.records.map((r) => `${h.host} ${r.algorithm} ${r.fingerprint.toLowerCase()}`)))
  const wanted = new Set(
    [...model.vouched()].flatMap((line) => {
      const [host, type, base64] = line.split(' ')
      const key = [...model.blobs.values()].find((k) => publicKeyLine(k) === `${type} ${base64}`)!
      return expectedRecords([key], [2]).map((r) => `${host} ${r.algorithm} ${r.fingerprint.toLowerCase()}`)
    }),
  )
  assert.deepEqual([...published].sort(), [...wanted].sort(), `${context}: sshfp publishes exactly the trusted, unrevoked keys`)
}

for (const backend of testBackends()) {
  describe(`trust ledger property on ${backend.name}`, () => {
    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}: known-hosts and sshfp vouch only for trusted keys; scans are critical exactly when due`, async () => {
        const opened = await backend.open()
        const store = opened.store
        const model = new Model()
        const next = random(seed)
        const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!
        let clock = Date.parse('2026-01-01T00:00:00Z')
        const log: string[] = []
        try {
          for (let step = 0; step < 24; step++) {
            const h = pick(HOSTS)
            const keys = KEYS[h]
            const action = next()
            if (action < 0.55) {
              // A scan of one host: each family served by the host, by an interceptor, or withheld.
              let served = [pick([keys.ed, keys.edMitm, null]), pick([keys.rsa, keys.rsaMitm, null])].filter((k): k is HostKey => k !== null)
              if (served.length === 0) served = [keys.ed]
              log.push(`scan ${h} ${served.map((k) => k.sha256.slice(7, 13)).join(',')}`)
              clock += 86_400_000
              const meta: ScanMeta = { startedAt: new Date(clock - 60_000), finishedAt: new Date(clock), vantage: 'test', request: { keyFamilies: null } }
              const result = await recordScan(store, meta, [observationOf(h, served, { address: `127.0.0.${HOSTS.indexOf(h) + 1}` })])
              const due = model.scan(h, served)
              const raised = result.findings.some((f) => f.severity === 'critical')
              assert.equal(raised, due, `${log.join('; ')}: critical ${due ? 'due' : 'not due'}, got ${result.findings.map((f) => `${f.kind}/${f.severity}`).join(', ')}`)
            } else if (action < 0.7) {
              const key = pick([keys.ed, keys.rsa, keys.edMitm])
              const file = join(work, `import-${backend.name}-${seed}-${step}`)
              writeFileSync(file, `${h} ${publicKeyLine(key)}\n`)
              log.push(`import ${h} ${key.sha256.slice(7, 13)}`)
              await importKnownHostsFile(store, file, new Date(clock))
              model.import(h, key)
            } else if (action < 0.9) {
              log.push(`accept ${h}`)
              const expected = model.accept(h)
              try {
                await acceptHost(store, h, { actor: 'test', reason: null, at: new Date(clock) })
                assert.equal(expected, 'accepted', `${log.join('; ')}: accept went through`)
              } catch (e) {
                if (!(e instanceof UserError)) throw e
                assert.notEqual(expected, 'accepted', `${log.join('; ')}: accept refused: ${(e as Error).message}`)
              }
            } else {
              const key = pick([keys.edMitm, keys.rsaMitm, keys.rsa])
              log.push(`revoke ${key.sha256.slice(7, 13)}`)
              await revokeKeys(store, [{ kind: 'blob', key }], { actor: 'test', reason: 'property', at: new Date(clock) })
              model.revoked.add(key.sha256)
              model.blobs.set(key.sha256, key)
            }
            await checkOutputs(store, model, log.join('; '))
          }
        } finally {
          await opened.cleanup()
        }
      })
    }
  })
}

for (const backend of testBackends()) {
  describe(`compromised keys on ${backend.name}`, () => {
    it('two hosts whose RSA keys share a prime: neither key is vouched for, both are exported @revoked, accept refuses them', async () => {
      const opened = await backend.open()
      const store = opened.store
      try {
        const [a, b] = keysSharingAPrime(1024).map((k) => describeKey(k.blob))
        const ed = syntheticKey('ed25519', 'shared-prime-host')
        const at = new Date('2026-03-01T00:00:00Z')
        const meta: ScanMeta = { startedAt: at, finishedAt: at, vantage: 'test', request: { keyFamilies: null } }
        const result = await recordScan(store, meta, [
          observationOf('sp1.example.com', [ed, a!], { address: '127.0.1.1' }),
          observationOf('sp2.example.com', [b!], { address: '127.0.1.2' }),
        ])
        assert.deepEqual(result.findings.filter((f) => f.kind === 'compromised_key').map((f) => f.host).sort(), ['sp1.example.com', 'sp2.example.com'])
        const lines = await exportKnownHosts(store, { hash: false })
        for (const key of [a!, b!]) {
          assert.ok(lines.includes(`@revoked * ${publicKeyLine(key)}`), `${key.sha256} exported @revoked`)
          assert.ok(!lines.some((l) => !l.startsWith('@') && l.endsWith(publicKeyLine(key))), `${key.sha256} never vouched for`)
        }
        assert.ok(lines.some((l) => l.startsWith('sp1.example.com') && l.endsWith(publicKeyLine(ed))), 'the sound key of the same host is')
        const sshfp = await trustedSshfpRecords(store, { hosts: [], digests: [2] })
        assert.deepEqual(sshfp.hosts.map((h) => [h.host, h.records.length]), [['sp1.example.com', 1]], 'SSHFP only for the sound Ed25519 key')
        await assert.rejects(acceptHost(store, 'sp2.example.com', { actor: 'test', reason: null, at }), /compromised: no accept can trust it/)
      } finally {
        await opened.cleanup()
      }
    })
  })
}
