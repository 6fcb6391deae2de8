import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Finding } from '../../src/domain/finding.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { SshfpAnswer, SshfpResolver } from '../../src/dns/sshfp-answer.js'
import { sshfpCheckFor } from '../../src/app/sshfp-check.js'
import { compareSshfp } from '../../src/dns/sshfp.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import type { Observation } from '../../src/domain/observation.js'
import type { Target } from '../../src/domain/target.js'
import type { SshfpRecord } from '../../src/domain/fingerprint/sshfp-record.js'
import { fixtureKey } from '../support/sshfp-key-fixtures.js'

const HOST = 'web1.example.com'
const ed = fixtureKey('ed25519')
const edOld = fixtureKey('ed25519-rebuilt')
const rsa = fixtureKey('rsa')
const p256 = fixtureKey('ecdsa256')
const p256Old = fixtureKey('ecdsa256-rebuilt')
const p384 = fixtureKey('ecdsa384')

function records(keys: HostKey[], digests: (1 | 2)[] = [1, 2]): SshfpRecord[] {
  return expectedRecords(keys, digests)
}
function secure(recs: SshfpRecord[]): SshfpAnswer {
  return { kind: 'records', name: HOST, records: recs, authenticated: true, rcode: 'NOERROR', ignored: 0, server: '127.3.0.1:53' }
}
function insecure(recs: SshfpRecord[]): SshfpAnswer {
  return { ...secure(recs), authenticated: false } as SshfpAnswer
}

const LISTED_KEY = /\b(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa|ssh-dss) (SHA256:[A-Za-z0-9+/]{43})/g

/** The key types and fingerprints a per-host sshfp_missing lists, in the order it lists them. */
function listedKeys(finding: Finding): string[] {
  return [...finding.message.matchAll(LISTED_KEY)].map((m) => `${m[1]} ${m[2]}`)
}

/** kind:keyType, sorted: enough to say which findings, without pinning messages. sshfp_missing is one per
 * host (keyType null): kind:the key types its message lists. */
function summary(findings: Finding[]): string[] {
  return findings
    .map((f) => `${f.kind}:${f.kind === 'sshfp_missing' ? listedKeys(f).map((k) => k.split(' ')[0]).join(',') : (f.keyType ?? '-')}`)
    .sort()
}

interface Case {
  name: string
  served: HostKey[]
  answer: SshfpAnswer
  expect: string[]
}

const cases: Case[] = [
  { name: 'all keys published, validated: nothing', served: [ed, rsa, p256], answer: secure(records([ed, rsa, p256])), expect: [] },
  { name: 'SHA-256 records only are enough', served: [ed, rsa], answer: secure(records([ed, rsa], [2])), expect: [] },
  { name: 'SHA-1 records only are enough', served: [ed], answer: secure(records([ed], [1])), expect: [] },
  {
    name: 'hex case does not matter (dns-packet decodes uppercase)',
    served: [ed],
    answer: secure(records([ed]).map((r) => ({ ...r, fingerprint: r.fingerprint.toUpperCase() }))),
    expect: [],
  },
  {
    name: 'no records at all: one sshfp_missing listing each served key, nothing insecure',
    served: [ed, rsa],
    answer: insecure([]),
    expect: ['sshfp_missing:ssh-ed25519,ssh-rsa'],
  },
  {
    name: 'NXDOMAIN is no records',
    served: [ed],
    answer: { kind: 'records', name: HOST, records: [], authenticated: true, rcode: 'NXDOMAIN', ignored: 0, server: '127.3.0.1:53' },
    expect: ['sshfp_missing:ssh-ed25519'],
  },
  { name: 'records for ed25519 only: rsa missing', served: [ed, rsa], answer: secure(records([ed])), expect: ['sshfp_missing:ssh-rsa'] },
  {
    name: 'rebuilt host: old ed25519 records -> mismatch, not also stale',
    served: [ed],
    answer: secure(records([edOld])),
    expect: ['sshfp_mismatch:ssh-ed25519'],
  },
  {
    name: 'old ed25519 SHA-256 beside the new key SHA-1: key matches, old record stale',
    served: [ed],
    answer: secure([...records([ed], [1]), ...records([edOld], [2])]),
    expect: ['sshfp_stale:ssh-ed25519'],
  },
  {
    name: 'records for a key type the host no longer serves: stale, grouped per algorithm',
    served: [ed],
    answer: secure(records([ed, rsa])),
    expect: ['sshfp_stale:ssh-rsa'],
  },
  {
    name: 'records present but not validated: insecure',
    served: [ed],
    answer: insecure(records([ed])),
    expect: ['sshfp_insecure:-'],
  },
  {
    name: 'mismatch over an insecure answer reports both',
    served: [ed],
    answer: insecure(records([edOld])),
    expect: ['sshfp_insecure:-', 'sshfp_mismatch:ssh-ed25519'],
  },
  {
    name: 'ECDSA: records for nistp256 only while the host serves 256 and 384: 384 missing, not mismatch',
    served: [p256, p384],
    answer: secure(records([p256])),
    expect: ['sshfp_missing:ecdsa-sha2-nistp384'],
  },
  {
    name: 'ECDSA: records for both curves: both match',
    served: [p256, p384],
    answer: secure(records([p256, p384])),
    expect: [],
  },
  {
    name: 'ECDSA: only old algorithm-3 records: every served ECDSA key mismatches',
    served: [p256, p384],
    answer: secure(records([p256Old])),
    expect: ['sshfp_mismatch:ecdsa-sha2-nistp256', 'sshfp_mismatch:ecdsa-sha2-nistp384'],
  },
  {
    name: 'ECDSA: an old nistp256 record beside the current one: stale, curve unknown',
    served: [p256],
    answer: secure(records([p256, p256Old])),
    expect: ['sshfp_stale:-'],
  },
  {
    name: 'a record whose digest is right but algorithm wrong matches nothing',
    served: [ed],
    answer: secure(records([ed]).map((r) => ({ ...r, algorithm: 1 as const }))),
    expect: ['sshfp_missing:ssh-ed25519', 'sshfp_stale:ssh-rsa'],
  },
  {
    name: 'lookup failed: dns_error only, never missing',
    served: [ed, rsa],
    answer: { kind: 'error', name: HOST, status: 'timeout', detail: '127.3.0.1:53 sent no matching UDP answer within 2000 ms' },
    expect: ['dns_error:-'],
  },
  { name: 'unreachable host (no keys): not compared', served: [], answer: secure(records([edOld])), expect: [] },
]

describe('compareSshfp', () => {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(summary(compareSshfp(HOST, c.served, c.answer)), [...c.expect].sort()))
  }

  it('severities follow the issue table', () => {
    const severity = (answer: SshfpAnswer, served: HostKey[]) =>
      Object.fromEntries(compareSshfp(HOST, served, answer).map((f) => [f.kind, f.severity]))
    assert.deepEqual(severity(insecure([...records([edOld]), ...records([rsa])]), [ed, p256]), {
      sshfp_mismatch: 'critical',
      sshfp_missing: 'info',
      sshfp_stale: 'warning',
      sshfp_insecure: 'info',
    })
    assert.deepEqual(severity({ kind: 'error', name: HOST, status: 'servfail', detail: 'x' }, [ed]), { dns_error: 'warning' })
  })

  it('fills host, hosts, fingerprints: mismatch carries the served key and the published one as previous', () => {
    const [mismatch] = compareSshfp(HOST, [ed], secure(records([edOld])))
    assert.equal(mismatch!.host, HOST)
    assert.deepEqual(mismatch!.hosts, [HOST])
    assert.equal(mismatch!.keyType, 'ssh-ed25519')
    assert.equal(mismatch!.fingerprint, ed.sha256)
    assert.equal(mismatch!.previous, edOld.sha256) // SHA-256 SSHFP digest and SHA256: fingerprint are the same hash
    assert.match(mismatch!.message, /changed host key/)
    assert.match(mismatch!.message, /hostkeys sshfp --format nsupdate --diff web1\.example\.com/)
  })

  it('stale names the record and, from a SHA-256 record, the old key fingerprint', () => {
    const [stale] = compareSshfp(HOST, [ed], secure([...records([ed]), ...records([edOld], [2])]))
    assert.equal(stale!.fingerprint, edOld.sha256)
    assert.ok(stale!.message.includes(edOld.sha256Hex))
    assert.match(stale!.message, /treat this extra record as a mismatch/)
  })

  it('the ECDSA missing message explains why adding the record does not help', () => {
    const [missing] = compareSshfp(HOST, [p256, p384], secure(records([p256])))
    assert.match(missing!.message, /algorithm 3 \(RFC 6594\)/)
    assert.match(missing!.message, /serve a single ECDSA key/)
    assert.doesNotMatch(missing!.message, /publish SSHFP records/)
  })

  it('a host serving ed25519, ecdsa and rsa keys with no records: one sshfp_missing naming all three', () => {
    const found = compareSshfp(HOST, [rsa, p256, ed], secure([]))
    assert.equal(found.length, 1, JSON.stringify(found))
    const [missing] = found
    assert.equal(missing!.kind, 'sshfp_missing')
    assert.equal(missing!.severity, 'info')
    assert.deepEqual(missing!.hosts, [HOST])
    // About the host, not a key: the identity kind|host| stays put as the set of missing keys changes.
    assert.equal(missing!.keyType, null)
    assert.equal(missing!.fingerprint, null)
    assert.equal(missing!.previous, null)
    // Listed in KEY_TYPES order whatever order the probes answered in, so the message is stable.
    assert.deepEqual(listedKeys(missing!), [`ssh-ed25519 ${ed.sha256}`, `ecdsa-sha2-nistp256 ${p256.sha256}`, `ssh-rsa ${rsa.sha256}`])
    assert.match(missing!.message, /^web1\.example\.com serves 3 host keys DNS has no SSHFP records for: /)
    assert.match(missing!.message, /Ed25519 \(algorithm 4\), ECDSA \(algorithm 3\) and RSA \(algorithm 1\)/)
    assert.match(missing!.message, /hostkeys sshfp --format nsupdate --diff web1\.example\.com/)
    assert.match(missing!.message, /ssh-keygen -r web1\.example\.com/)
  })

  it('as records are published, the one sshfp_missing lists fewer keys and then goes', () => {
    const missing = (answer: SshfpAnswer) => compareSshfp(HOST, [ed, p256, rsa], answer).filter((f) => f.kind === 'sshfp_missing')
    assert.deepEqual(missing(secure([])).map(listedKeys), [[`ssh-ed25519 ${ed.sha256}`, `ecdsa-sha2-nistp256 ${p256.sha256}`, `ssh-rsa ${rsa.sha256}`]])
    const partly = missing(secure(records([ed, rsa])))
    assert.deepEqual(partly.map(listedKeys), [[`ecdsa-sha2-nistp256 ${p256.sha256}`]])
    assert.match(partly[0]!.message, /serves a host key DNS has no SSHFP record for: .* publish SSHFP records for ECDSA \(algorithm 3\) at/)
    assert.deepEqual(missing(secure(records([ed, p256, rsa]))), [])
  })

  it('the advice names the bare DNS name, since SSHFP has no port', () => {
    const [missing] = compareSshfp(`[${HOST}]:2222`, [ed], secure([]))
    assert.equal(missing!.host, `[${HOST}]:2222`)
    assert.match(missing!.message, /^\[web1\.example\.com\]:2222 serves a host key /)
    assert.match(missing!.message, /--diff web1\.example\.com prints/)
    assert.match(missing!.message, /ssh-keygen -r web1\.example\.com,/)
  })

  it('a key without records and a second ECDSA curve share the one finding, each with its advice', () => {
    const found = compareSshfp(HOST, [ed, p256, p384], secure(records([p256])))
    assert.deepEqual(summary(found), ['sshfp_missing:ssh-ed25519,ecdsa-sha2-nistp384'])
    const message = found[0]!.message
    assert.match(message, /verify the ssh-ed25519 key with VerifyHostKeyDNS, publish SSHFP records for Ed25519 \(algorithm 4\) at/)
    assert.match(message, /DNS has records for ecdsa-sha2-nistp256 only/)
    assert.match(message, /serve a single ECDSA key/)
  })

  it('dns_error says what failed and what to do', () => {
    const [error] = compareSshfp(HOST, [ed], { kind: 'error', name: HOST, status: 'refused', detail: '127.3.0.1:53 over UDP answered REFUSED' })
    assert.match(error!.message, /failed \(refused: 127\.3\.0\.1:53 over UDP answered REFUSED\)/)
    assert.match(error!.message, /--resolver/)
  })
})

describe('the scan\'s SSHFP check (sshfpCheckFor)', () => {
  function resolverReturning(answer: SshfpAnswer): SshfpResolver & { asked: string[] } {
    const asked: string[] = []
    return {
      asked,
      async lookupSshfp(name) {
        asked.push(name)
        return answer
      },
    }
  }
  const target = (host: string): Target => ({ host, address: '127.0.0.1', port: 22, aliases: [], source: 'argv' })
  const observed = (host: string, keys: HostKey[]): Observation => ({
    target: target(host),
    address: '127.0.0.1',
    status: 'ok',
    error: null,
    failedFamilies: [],
    banner: 'SSH-2.0-OpenSSH_9.2p1',
    offered: null,
    keys,
    connections: 1,
    startedAt: new Date(0),
    durationMs: 1,
  })
  it('looks up DNS names and compares', async () => {
    const resolver = resolverReturning(secure(records([edOld])))
    const findings = await sshfpCheckFor(resolver, null)(target(HOST))!(observed(HOST, [ed]))
    assert.deepEqual(summary([...findings]), ['sshfp_mismatch:ssh-ed25519'])
    assert.deepEqual(resolver.asked, [HOST])
  })
  it('does not look up IP literals, and compares nothing for hosts without keys', async () => {
    const resolver = resolverReturning(secure([]))
    assert.equal(sshfpCheckFor(resolver, null)(target('192.0.2.1')), null)
    assert.equal(sshfpCheckFor(resolver, null)(target('::1')), null)
    assert.deepEqual(resolver.asked, [])
    assert.deepEqual(await sshfpCheckFor(resolver, null)(target(HOST))!(observed(HOST, [])), [])
  })
})
