import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { oobMismatchFindings, statementNames } from '../../src/analysis/oob-mismatch.js'
import { reconcileFindings } from '../../src/analysis/finding-lifecycle.js'
import type { LiveFinding } from '../../src/domain/finding-plan.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { KeyStatement, StatedKey, StatementSource } from '../../src/domain/key-statement.js'
import type { ScannedHost } from '../../src/domain/scanned-host.js'
import { statedKeyOf } from '../../src/domain/fingerprint/stated-key-line.js'
import { syntheticKey } from '../support/synthetic-keys.js'

const ed = (seed: string) => syntheticKey('ed25519', seed)
const p256 = (seed: string) => syntheticKey('ecdsa256', seed)
const p384 = (seed: string) => syntheticKey('ecdsa384', seed)
const rsa = (seed: string) => syntheticKey('rsa', seed, 2048)

/** What each form of statement keeps of a key: all of it (.pub), SHA256 alone or MD5 alone (ssh-keygen -l). */
const full = (key: HostKey): StatedKey => statedKeyOf(key, null)
const sha = (key: HostKey): StatedKey => ({ ...full(key), md5: null, blob: null })
const md5 = (key: HostKey): StatedKey => ({ ...full(key), sha256: null, blob: null })

const AT = new Date('2026-11-02T10:00:00Z')
/** A statement as the commands record it: a self-report is complete, an owner's list only with --complete. */
function statement(source: StatementSource, keys: StatedKey[], statedAt = AT, complete = source === 'self-report'): KeyStatement {
  const statedBy = source === 'expect' ? 'expect by alice from keys.txt' : 'self-report by root on web1 from /etc/ssh'
  return { host: 'web1', source, statedAt, statedBy, keys, complete }
}

function scanned(keys: HostKey[], extra: Partial<ScannedHost> = {}): ScannedHost {
  return {
    host: 'web1',
    reached: true,
    status: 'ok',
    failedFamilies: new Set(),
    error: null,
    address: '192.0.2.1',
    port: 22,
    banner: 'SSH-2.0-OpenSSH_9.2p1',
    offered: null,
    aliases: [],
    addresses: [],
    keys,
    ...extra,
  }
}

interface Case {
  name: string
  served: HostKey[]
  statements: KeyStatement[]
  /** `keyType fingerprint-seed` of each oob_mismatch, in served order. */
  expect: HostKey[]
}

const cases: Case[] = [
  { name: 'no statement: nothing', served: [ed('a')], statements: [], expect: [] },
  { name: 'every served key stated by its full key', served: [ed('a'), rsa('a')], statements: [statement('expect', [full(ed('a')), full(rsa('a'))])], expect: [] },
  { name: 'stated by SHA256 alone (ssh-keygen -l)', served: [ed('a')], statements: [statement('expect', [sha(ed('a'))])], expect: [] },
  { name: 'an MD5-only statement matches by MD5', served: [rsa('a')], statements: [statement('expect', [md5(rsa('a'))])], expect: [] },
  { name: 'an MD5-only statement of another key is a mismatch', served: [rsa('a')], statements: [statement('expect', [md5(rsa('b'))])], expect: [rsa('a')] },
  { name: 'another Ed25519 key stated: mismatch', served: [ed('a'), rsa('a')], statements: [statement('expect', [sha(ed('b')), sha(rsa('a'))])], expect: [ed('a')] },
  { name: 'a family the statement does not list is not judged', served: [ed('a'), rsa('a')], statements: [statement('expect', [sha(ed('a'))])], expect: [] },
  { name: 'the family swap: a self-report of Ed25519 alone, RSA alone served: mismatch', served: [rsa('interceptor')], statements: [statement('self-report', [full(ed('a'))])], expect: [rsa('interceptor')] },
  { name: 'a self-report lacks a family the host also serves: mismatch for that key alone', served: [ed('a'), rsa('a')], statements: [statement('self-report', [full(ed('a'))])], expect: [rsa('a')] },
  { name: 'expect --complete: a served family it does not list is a mismatch', served: [ed('a'), p256('a')], statements: [statement('expect', [sha(ed('a'))], AT, true)], expect: [p256('a')] },
  { name: 'a self-report lacks the family while the owner lists it and agrees: still a mismatch', served: [rsa('a')], statements: [statement('expect', [sha(rsa('a'))]), statement('self-report', [full(ed('a'))])], expect: [rsa('a')] },
  { name: 'a family stated but not served is nothing', served: [ed('a')], statements: [statement('expect', [sha(ed('a')), sha(rsa('a'))])], expect: [] },
  { name: 'ECDSA is one family: two curves stated, each served one matches', served: [p256('a'), p384('a')], statements: [statement('self-report', [full(p256('a')), full(p384('a'))])], expect: [] },
  { name: 'ECDSA: a served curve the statement lacks, while it lists another, is a mismatch', served: [p384('a')], statements: [statement('self-report', [full(p256('a'))])], expect: [p384('a')] },
  { name: 'self-report of another key: mismatch', served: [ed('new')], statements: [statement('self-report', [full(ed('old'))])], expect: [ed('new')] },
  { name: 'both sources disagree: one finding for the key', served: [ed('x')], statements: [statement('expect', [sha(ed('a'))]), statement('self-report', [full(ed('a'))])], expect: [ed('x')] },
  {
    name: 'of two statements of one source only the newest counts',
    served: [ed('new')],
    statements: [statement('expect', [sha(ed('old'))], new Date('2026-01-01T00:00:00Z')), statement('expect', [sha(ed('new'))], new Date('2026-06-01T00:00:00Z'))],
    expect: [],
  },
]

describe('oobMismatchFindings', () => {
  for (const c of cases) {
    it(c.name, () => {
      const findings = oobMismatchFindings(scanned(c.served), c.statements)
      assert.deepEqual(findings.map((f) => `${f.kind} ${f.severity} ${f.keyType} ${f.fingerprint}`), c.expect.map((k) => `oob_mismatch critical ${k.type} ${k.sha256}`))
      for (const f of findings) assert.deepEqual([f.host, f.hosts], ['web1', ['web1']])
    })
  }

  it("the message names both views: the statement's source, time and fingerprint, and the served key", () => {
    const [finding] = oobMismatchFindings(scanned([ed('served')]), [statement('expect', [sha(ed('stated'))])])
    assert.ok(finding)
    assert.ok(finding.message.includes(ed('served').sha256), finding.message)
    assert.ok(finding.message.includes(ed('stated').sha256), finding.message)
    assert.ok(finding.message.includes("its owner's statement (expect by alice from keys.txt, 2026-11-02 10:00 UTC)"), finding.message)
    assert.match(finding.message, /path between this scanner and the host is intercepted or the owner's list is stale/)
    assert.match(finding.message, /`hostkeys expect web1 FILE`/)
    assert.equal(finding.previous, ed('stated').sha256)
  })

  it('a self-report that disagrees points at the network path first', () => {
    const [finding] = oobMismatchFindings(scanned([ed('served')]), [statement('self-report', [full(ed('own'))])])
    assert.match(finding!.message, /the host's own report \(self-report by root on web1 from \/etc\/ssh, 2026-11-02 10:00 UTC\) says its ed25519 key is SHA256:/)
    assert.match(finding!.message, /suspect the network path first/)
  })

  it('a complete statement that lacks the served family says so, names the served key and the command to run, shell-quoted', () => {
    const host = scanned([rsa('interceptor')], { host: '[web1]:2222', port: 2222 })
    const [finding] = oobMismatchFindings(host, [{ ...statement('self-report', [full(ed('own'))]), host: '[web1]:2222' }])
    assert.ok(finding)
    assert.equal(finding.fingerprint, rsa('interceptor').sha256)
    assert.equal(finding.previous, null)
    assert.ok(finding.message.startsWith(`[web1]:2222 serves the ssh-rsa key ${rsa('interceptor').sha256} `), finding.message)
    assert.match(finding.message, /the host's own report \(self-report by root on web1 from \/etc\/ssh, 2026-11-02 10:00 UTC\), which lists every key the host has, has no rsa key \(only ssh-ed25519\)/)
    assert.match(finding.message, /The host itself reports no rsa key, so suspect the network path first/)
    assert.ok(finding.message.includes("run `hostkeys self-report --host '[web1]:2222'` on it again"), finding.message)
  })

  it('an owner\'s statement suggests the expect command with the host shell-quoted', () => {
    const [finding] = oobMismatchFindings(scanned([ed('x')], { host: '[web1]:2222', port: 2222 }), [statement('expect', [sha(ed('a'))])])
    assert.ok(finding!.message.includes("`hostkeys expect '[web1]:2222' FILE`"), finding!.message)
  })

  it("an owner's list that disagrees while the host's own report agrees is most likely stale", () => {
    const [finding] = oobMismatchFindings(scanned([ed('a')]), [statement('expect', [sha(ed('b'))]), statement('self-report', [full(ed('a'))])])
    assert.match(finding!.message, /owner's list is most likely stale/)
  })

  it('an MD5-only statement is shown as MD5, and the served MD5 is named too', () => {
    const [finding] = oobMismatchFindings(scanned([rsa('a')]), [statement('expect', [md5(rsa('b'))])])
    assert.ok(finding!.message.includes(rsa('b').md5))
    assert.ok(finding!.message.includes(rsa('a').md5))
    assert.equal(finding!.previous, null)
  })

  it('is a condition: open while raised, resolved by a scan that reached the host, asked for the family and no longer raises it', () => {
    const [finding] = oobMismatchFindings(scanned([ed('x')]), [statement('expect', [sha(ed('a'))])])
    const live: LiveFinding[] = [{ ...finding!, id: 7, identity: `oob_mismatch|web1|${ed('x').sha256}`, status: 'open' }]
    const scope = { reachedHosts: new Set(['web1']), askedFamilies: new Set(['ed25519', 'ecdsa', 'rsa', 'dsa', 'ed25519-sk', 'ecdsa-sk'] as const) }
    assert.deepEqual(reconcileFindings(live, [finding!], scope).resolve, [])
    assert.deepEqual(reconcileFindings(live, [], scope).resolve, [7])
    assert.deepEqual(reconcileFindings(live, [], { ...scope, askedFamilies: new Set(['rsa'] as const) }).resolve, [], 'not resolved by a scan that did not ask for ed25519')
    assert.deepEqual(reconcileFindings(live, [], { ...scope, reachedHosts: new Set() }).resolve, [], 'not resolved by a scan that did not reach it')
  })
})

describe('statementNames', () => {
  it('the identity, and every other name and address on its port', () => {
    assert.deepEqual(statementNames(scanned([], { aliases: ['www'], addresses: ['192.0.2.1'] })), ['web1', 'www', '192.0.2.1'])
    assert.deepEqual(statementNames(scanned([], { host: '[web1]:2222', port: 2222, aliases: ['www'] })), ['[web1]:2222', '[www]:2222'])
  })
})
