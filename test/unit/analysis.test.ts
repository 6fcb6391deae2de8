import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { analyzeScan } from '../support/judge-scan.js'
import { reconcileFindings, findingIdentity, type ReconcileScope } from '../../src/analysis/finding-lifecycle.js'
import { mergeObservations } from '../../src/analysis/scanned-host.js'
import { shareGroups } from '../../src/analysis/share-groups.js'
import type { Finding } from '../../src/domain/finding.js'
import { KEY_FAMILIES, type HostKey, type KeyFamily } from '../../src/domain/host-key.js'
import type { HostHistory, Sighting, SightingTrust } from '../../src/domain/sighting.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import type { LiveFinding } from '../../src/domain/finding-plan.js'

const ed = (seed: string) => syntheticKey('ed25519', seed)
const p256 = (seed: string) => syntheticKey('ecdsa256', seed)
const p384 = (seed: string) => syntheticKey('ecdsa384', seed)
const rsa = (seed: string, bits = 3072) => syntheticKey('rsa', seed, bits)
const dsa = (seed: string) => syntheticKey('dsa', seed)

function sighting(key: HostKey, trust: SightingTrust = 'trusted', current = true, source: 'scan' | 'import' = 'scan'): Sighting {
  return {
    sha256: key.sha256,
    type: key.type,
    family: key.family,
    bits: key.bits,
    trust,
    current,
    source,
    firstSeen: new Date(0),
    lastSeen: source === 'import' ? null : new Date(0),
  }
}

interface Case {
  name: string
  history?: Record<string, { sightings: Sighting[]; everReached?: boolean }>
  scan: { host: string; keys: HostKey[]; status?: 'ok' | 'timeout' | 'dns-error'; address?: string }[]
  asked?: KeyFamily[]
  others?: Record<string, string[]>
  groups?: string[][]
  expect: string[]
}

const A = ed('a')
const B = ed('b')
const MITM = ed('mitm')

const cases: Case[] = [
  { name: 'a host seen for the first time is new_host, nothing else', scan: [{ host: 'web1', keys: [A, rsa('w')] }], expect: ['new_host web1'] },
  { name: 'an unchanged host raises nothing', history: { web1: { sightings: [sighting(A)] } }, scan: [{ host: 'web1', keys: [A] }], expect: [] },
  {
    name: 'a different key of a trusted family is key_changed (critical) with the previous fingerprint',
    history: { web1: { sightings: [sighting(A)] } },
    scan: [{ host: 'web1', keys: [B] }],
    expect: [`key_changed web1 ${B.sha256} prev ${A.sha256}`],
  },
  {
    name: 'a new family on a known host is key_added',
    history: { web1: { sightings: [sighting(A)], everReached: true } },
    scan: [{ host: 'web1', keys: [A, p256('x')] }],
    expect: [`key_added web1 ${p256('x').sha256}`],
  },
  {
    name: 'a family missing from a reachable host is key_removed',
    history: { web1: { sightings: [sighting(A), sighting(rsa('r'))] } },
    scan: [{ host: 'web1', keys: [A] }],
    expect: [`key_removed web1 ${rsa('r').sha256}`],
  },
  {
    name: 'a family the scan did not ask for is never removed',
    history: { web1: { sightings: [sighting(A), sighting(rsa('r'))] } },
    scan: [{ host: 'web1', keys: [A] }],
    asked: ['ed25519'],
    expect: [],
  },
  {
    name: 'an unreachable known host is host_unreachable, never a removal',
    history: { web1: { sightings: [sighting(A)] } },
    scan: [{ host: 'web1', keys: [], status: 'timeout' }],
    expect: ['host_unreachable web1'],
  },
  { name: 'an unknown host that does not answer is never_reached', scan: [{ host: 'new', keys: [], status: 'timeout' }], expect: ['never_reached new'] },
  { name: 'a name that does not resolve is host_unresolvable', scan: [{ host: 'web3.example.invalid', keys: [], status: 'dns-error' }], expect: ['host_unresolvable web3.example.invalid'] },
  {
    name: 'ECDSA curves are one family: nistp256 replaced by nistp384 is key_changed, not removed+added',
    history: { web1: { sightings: [sighting(p256('e'))], everReached: true } },
    scan: [{ host: 'web1', keys: [p384('e')] }],
    expect: [`key_changed web1 ${p384('e').sha256} prev ${p256('e').sha256}`],
  },
  {
    name: 'a key_changed repeats until accepted: the untrusted key stays a change',
    history: { web1: { sightings: [sighting(A, 'trusted', false), sighting(B, 'pending')] } },
    scan: [{ host: 'web1', keys: [B] }],
    expect: [`key_changed web1 ${B.sha256} prev ${A.sha256}`],
  },
  {
    name: 'after accept (old key superseded) the new key is quiet',
    history: { web1: { sightings: [sighting(A, 'retired', false), sighting(B, 'trusted')] } },
    scan: [{ host: 'web1', keys: [B] }],
    expect: [],
  },
  {
    name: 'an imported baseline is compared, and a family it lacks is pending (key_added), never trusted silently',
    history: { web1: { sightings: [sighting(A, 'trusted', false, 'import')], everReached: false } },
    scan: [{ host: 'web1', keys: [B, rsa('r')] }],
    expect: [`key_changed web1 ${B.sha256} prev ${A.sha256}`, `key_added web1 ${rsa('r').sha256}`],
  },
  {
    name: 'a family swap (the trusted family withheld, a new family served) is key_changed',
    history: { web1: { sightings: [sighting(A, 'trusted', false, 'import')], everReached: false } },
    scan: [{ host: 'web1', keys: [rsa('r')] }],
    expect: [`key_changed web1 ${rsa('r').sha256} prev ${A.sha256}`],
  },
  {
    // Everyday: a scan narrowed with -t rsa never asked for Ed25519, so it cannot say the host withholds it.
    name: 'a new family seen by a scan that did not ask for the trusted family is key_added, not a swap',
    history: { web1: { sightings: [sighting(A, 'trusted')] } },
    scan: [{ host: 'web1', keys: [rsa('r')] }],
    asked: ['rsa'],
    expect: [`key_added web1 ${rsa('r').sha256}`],
  },
  {
    name: 'a pending key stays pending: raised again at the next scan',
    history: { web1: { sightings: [sighting(A, 'trusted'), sighting(rsa('r'), 'pending')] } },
    scan: [{ host: 'web1', keys: [A, rsa('r')] }],
    expect: [`key_added web1 ${rsa('r').sha256}`],
  },
  { name: 'RSA under 2048 bits is weak_key', scan: [{ host: 'old', keys: [rsa('o', 1024)] }], expect: [`weak_key old ${rsa('o', 1024).sha256}`, 'new_host old'] },
  { name: 'any DSA key is weak_key', scan: [{ host: 'old', keys: [dsa('d')] }], expect: [`weak_key old ${dsa('d').sha256}`, 'new_host old'] },
  { name: 'RSA 2048 is not weak', scan: [{ host: 'ok', keys: [rsa('k', 2048)] }], expect: ['new_host ok'] },
  {
    name: 'clones in one scan are one duplicate_key naming both',
    scan: [
      { host: 'b', keys: [A] },
      { host: 'a', keys: [A] },
    ],
    expect: [`duplicate_key a [a,b] ${A.sha256}`, 'new_host a', 'new_host b'],
  },
  {
    name: 'a duplicate across the inventory, not only this run',
    history: { web1: { sightings: [sighting(A)] } },
    scan: [{ host: 'web1', keys: [A] }],
    others: { [A.sha256]: ['db9'] },
    expect: [`duplicate_key db9 [db9,web1] ${A.sha256}`],
  },
  {
    name: 'allow-shared suppresses duplicate_key among its hosts',
    scan: [
      { host: 'a', keys: [A] },
      { host: 'b', keys: [A] },
    ],
    groups: [['a', 'b']],
    expect: ['new_host a', 'new_host b'],
  },
  {
    name: 'allow-shared is pairwise: a third host still makes a duplicate',
    scan: [
      { host: 'a', keys: [A] },
      { host: 'b', keys: [A] },
      { host: 'c', keys: [A] },
    ],
    groups: [['a', 'b'], ['b', 'c']],
    expect: [`duplicate_key a [a,b,c] ${A.sha256}`, 'new_host a', 'new_host b', 'new_host c'],
  },
  {
    name: 'a host answering on two addresses of its own is one host, not a duplicate',
    scan: [
      { host: 'web1', keys: [A], address: '192.0.2.1' },
      { host: 'web1', keys: [A], address: '2001:db8::1' },
    ],
    expect: ['new_host web1'],
  },
  {
    name: 'several hosts changing to one new key is interception, besides each key_changed',
    history: { a: { sightings: [sighting(A)] }, b: { sightings: [sighting(B)] } },
    scan: [
      { host: 'a', keys: [MITM] },
      { host: 'b', keys: [MITM] },
    ],
    expect: [
      `interception a [a,b] ${MITM.sha256}`,
      `key_changed a ${MITM.sha256} prev ${A.sha256}`,
      `key_changed b ${MITM.sha256} prev ${B.sha256}`,
      `duplicate_key a [a,b] ${MITM.sha256}`,
    ],
  },
  {
    name: 'one host changing alone is no interception',
    history: { a: { sightings: [sighting(A)] } },
    scan: [{ host: 'a', keys: [MITM] }],
    expect: [`key_changed a ${MITM.sha256} prev ${A.sha256}`],
  },
]

function describeFinding(f: Finding): string {
  const hosts = f.hosts.length > 1 ? ` [${f.hosts.join(',')}]` : ''
  return `${f.kind} ${f.host}${hosts}${f.fingerprint ? ` ${f.fingerprint}` : ''}${f.previous ? ` prev ${f.previous}` : ''}`
}

describe('analyzeScan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const history = new Map<string, HostHistory>(
        Object.entries(c.history ?? {}).map(([host, h]) => [host, { host, everReached: h.everReached ?? true, failedScans: 0, sightings: h.sightings }]),
      )
      const scanned = mergeObservations(
        c.scan.map((s) => observationOf(s.host, s.keys, { status: s.status ?? 'ok', ...(s.address ? { address: s.address } : {}) })),
      )
      const { findings } = analyzeScan({
        history,
        scanned,
        askedFamilies: new Set(c.asked ?? KEY_FAMILIES),
        otherHolders: new Map(Object.entries(c.others ?? {})) as never,
        shareGroups: shareGroups(c.groups ?? []),
      })
      assert.deepEqual(findings.map(describeFinding), c.expect)
      for (const f of findings) {
        assert.match(f.message, /\.$/, 'a finding is a sentence')
        assert.ok(f.hosts.includes(f.host))
      }
    })
  }

  it('severities are the issue\'s', () => {
    const history = new Map<string, HostHistory>([['a', { host: 'a', everReached: true, failedScans: 0, sightings: [sighting(A)] }]])
    const { findings } = analyzeScan({
      history,
      scanned: mergeObservations([observationOf('a', [MITM, dsa('x')]), observationOf('b', [MITM])]),
      askedFamilies: new Set(KEY_FAMILIES),
      otherHolders: new Map(),
      shareGroups: shareGroups([]),
    })
    const severity = Object.fromEntries(findings.map((f) => [f.kind, f.severity]))
    assert.deepEqual(severity, { key_changed: 'critical', key_added: 'warning', duplicate_key: 'warning', weak_key: 'warning', new_host: 'info' })
  })
})

describe('reconcileFindings', () => {
  const changed: Finding = { kind: 'key_changed', severity: 'critical', host: 'a', hosts: ['a'], keyType: 'ssh-ed25519', fingerprint: B.sha256, previous: A.sha256, message: 'x.' }
  const live = (over: Partial<LiveFinding>): LiveFinding => ({
    id: 1,
    identity: findingIdentity(changed),
    kind: 'key_changed',
    status: 'open',
    host: 'a',
    hosts: ['a'],
    keyType: 'ssh-ed25519',
    ...over,
  })
  const scope = { reachedHosts: new Set(['a']), askedFamilies: new Set(KEY_FAMILIES) }
  const table: { name: string; live: LiveFinding[]; raised: Finding[]; scope?: ReconcileScope; expect: { report: number; insert: number; touch: number; resolve: number[] } }[] = [
    { name: 'new condition is inserted and reported', live: [], raised: [changed], expect: { report: 1, insert: 1, touch: 0, resolve: [] } },
    { name: 'open condition seen again is touched and reported', live: [live({})], raised: [changed], expect: { report: 1, insert: 0, touch: 1, resolve: [] } },
    { name: 'accepted condition seen again is touched, not reported', live: [live({ status: 'accepted' })], raised: [changed], expect: { report: 0, insert: 0, touch: 1, resolve: [] } },
    { name: 'condition gone on a reached host is resolved', live: [live({})], raised: [], expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    { name: 'condition on a host not reached stays', live: [live({})], raised: [], scope: { reachedHosts: new Set(), askedFamilies: new Set(KEY_FAMILIES) }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'condition of a family not asked stays', live: [live({})], raised: [], scope: { reachedHosts: new Set(['a']), askedFamilies: new Set(['rsa'] as const) }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'an event (key_removed) is never resolved by a scan', live: [live({ kind: 'key_removed', identity: 'key_removed|a|x' })], raised: [], expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'key_added is a condition: gone once the key is no longer served', live: [live({ kind: 'key_added', identity: 'key_added|a|x' })], raised: [], expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    { name: 'a waived condition raised under its waiver is touched, not reported', live: [live({ status: 'waived' })], raised: [changed], scope: { reachedHosts: new Set(['a']), askedFamilies: new Set(KEY_FAMILIES), waivers: new Set([`${changed.kind}|${changed.host}`]) }, expect: { report: 0, insert: 0, touch: 1, resolve: [] } },
    { name: 'a waived condition whose waiver expired is reported again', live: [live({ status: 'waived' })], raised: [changed], expect: { report: 1, insert: 0, touch: 1, resolve: [] } },
    { name: 'a waived condition that is gone is resolved', live: [live({ status: 'waived' })], raised: [], expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    // SSHFP and dns_error findings are conditions of DNS: a scan that checked DNS sees them gone
    // (records fixed, resolver back); a --no-dns scan cannot tell.
    ...(['sshfp_mismatch', 'sshfp_missing', 'sshfp_stale', 'sshfp_insecure', 'dns_error'] as const).flatMap((kind) => [
      { name: `${kind} gone in a scan that checked DNS is resolved`, live: [live({ kind, identity: `${kind}|a|x`, keyType: null })], raised: [], scope: { ...scope, dnsChecked: true }, expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
      { name: `${kind} stays open through a --no-dns scan`, live: [live({ kind, identity: `${kind}|a|x`, keyType: null })], raised: [], scope: { ...scope, dnsChecked: false }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    ]),
    { name: 'sshfp_mismatch of a family not asked stays', live: [live({ kind: 'sshfp_mismatch', identity: 'sshfp_mismatch|a|x' })], raised: [], scope: { reachedHosts: new Set(['a']), askedFamilies: new Set(['rsa'] as const), dnsChecked: true }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'the per-host sshfp_missing stays through a scan narrowed with -t', live: [live({ kind: 'sshfp_missing', identity: 'sshfp_missing|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(['a']), askedFamilies: new Set(['ed25519'] as const), dnsChecked: true }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'the per-host sshfp_missing stays when a probe of the host failed', live: [live({ kind: 'sshfp_missing', identity: 'sshfp_missing|a|', keyType: null })], raised: [], scope: { ...scope, dnsChecked: true, failedFamilies: new Map([['a', new Set(['rsa'] as const)]]) }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'partial_scan is resolved by a complete scan of the host, not by another partial one', live: [live({ kind: 'partial_scan', identity: 'partial_scan|a|', keyType: null }), live({ id: 2, kind: 'partial_scan', identity: 'partial_scan|b|', host: 'b', hosts: ['b'], keyType: null })], raised: [], scope: { reachedHosts: new Set(['a', 'b']), askedFamilies: new Set(KEY_FAMILIES), failedFamilies: new Map([['b', new Set(['rsa'] as const)]]) }, expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    // A name that resolves again (the DNS outage is over) ends host_unresolvable even if the host then times out.
    { name: 'host_unresolvable is resolved once the name resolves, reached or not', live: [live({ kind: 'host_unresolvable', identity: 'host_unresolvable|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(), resolvedHosts: new Set(['a']), askedFamilies: new Set(KEY_FAMILIES) }, expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    { name: 'never_reached stays until a scan reaches the host', live: [live({ kind: 'never_reached', identity: 'never_reached|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(), resolvedHosts: new Set(['a']), askedFamilies: new Set(KEY_FAMILIES) }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'keys_withheld stays through a scan that does not reach the host', live: [live({ kind: 'keys_withheld', identity: 'keys_withheld|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(), resolvedHosts: new Set(['a']), askedFamilies: new Set(KEY_FAMILIES) }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
    { name: 'keys_withheld is resolved by a scan that reaches the host', live: [live({ kind: 'keys_withheld', identity: 'keys_withheld|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(['a']), askedFamilies: new Set(['rsa'] as const) }, expect: { report: 0, insert: 0, touch: 0, resolve: [1] } },
    { name: 'dns_error on a host not reached stays', live: [live({ kind: 'dns_error', identity: 'dns_error|a|', keyType: null })], raised: [], scope: { reachedHosts: new Set(), askedFamilies: new Set(KEY_FAMILIES), dnsChecked: true }, expect: { report: 0, insert: 0, touch: 0, resolve: [] } },
  ]
  for (const t of table) {
    it(t.name, () => {
      const plan = reconcileFindings(t.live, t.raised, t.scope ?? scope)
      assert.deepEqual(
        { report: plan.report.length, insert: plan.insert.length, touch: plan.touch.length, resolve: [...plan.resolve] },
        t.expect,
      )
    })
  }
})
