import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { recordsForFamilies, sshfpCheckFor } from '../../src/app/sshfp-check.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import type { SshfpAnswer, SshfpResolver } from '../../src/dns/sshfp-answer.js'
import type { SshfpRecord } from '../../src/domain/fingerprint/sshfp-record.js'
import type { HostKey, KeyFamily } from '../../src/domain/host-key.js'
import type { Observation } from '../../src/domain/observation.js'
import type { Target } from '../../src/domain/target.js'
import { fixtureKey } from '../support/sshfp-key-fixtures.js'

const record = (algorithm: SshfpRecord['algorithm']): SshfpRecord => ({ algorithm, digestType: 2, fingerprint: 'ab'.repeat(32) })
const answer: SshfpAnswer = {
  kind: 'records',
  name: 'web1.example.com',
  records: [record(1), record(3), record(4)],
  authenticated: false,
  rcode: 'NOERROR',
  ignored: 0,
  server: '127.0.0.1:53',
}

describe('SSHFP records a scan can judge', () => {
  const cases: [string, Parameters<typeof recordsForFamilies>[1], number[]][] = [
    ['every family asked: every record', null, [1, 3, 4]],
    ['-t ed25519: only Ed25519 records (others are not stale)', ['ed25519'], [4]],
    ['-t rsa,ecdsa', ['ecdsa', 'rsa'], [1, 3]],
    ['-t dsa: none of these', ['dsa'], []],
  ]
  for (const [name, families, algorithms] of cases) {
    it(name, () => {
      const judged = recordsForFamilies(answer, families)
      assert.deepEqual(judged.kind === 'records' ? judged.records.map((r) => r.algorithm) : null, algorithms)
    })
  }

  it('passes a failed lookup through untouched', () => {
    const failed: SshfpAnswer = { kind: 'error', name: 'web1.example.com', status: 'timeout', detail: 'no answer' }
    assert.equal(recordsForFamilies(failed, ['ed25519']), failed)
  })
})

describe('the scan\'s SSHFP check: one sshfp_missing per host', () => {
  const ed = fixtureKey('ed25519')
  const p256 = fixtureKey('ecdsa256')
  const rsa = fixtureKey('rsa')
  const target: Target = { host: '[web1.example.com]:2222', address: '127.0.0.1', port: 2222, aliases: [], source: 'argv' }
  const observed = (keys: HostKey[], failedFamilies: KeyFamily[] = []): Observation => ({
    target,
    address: '127.0.0.1',
    status: failedFamilies.length === 0 ? 'ok' : 'partial',
    error: failedFamilies.length === 0 ? null : `${failedFamilies.join(', ')}: timeout`,
    failedFamilies,
    banner: 'SSH-2.0-OpenSSH_9.2p1',
    offered: null,
    keys,
    connections: keys.length,
    startedAt: new Date(0),
    durationMs: 1,
  })
  const resolverAnswering = (records: SshfpRecord[]): SshfpResolver & { asked: string[] } => {
    const asked: string[] = []
    return {
      asked,
      async lookupSshfp(name) {
        asked.push(name)
        const rcode = records.length === 0 ? 'NXDOMAIN' : 'NOERROR'
        return { kind: 'records', name, records, authenticated: true, rcode, ignored: 0, server: '127.0.0.1:53' }
      },
    }
  }
  const check = async (families: KeyFamily[] | null, keys: HostKey[], records: SshfpRecord[], failed: KeyFamily[] = []) => {
    const resolver = resolverAnswering(records)
    const findings = await sshfpCheckFor(resolver, families)(target)!(observed(keys, failed))
    assert.deepEqual(resolver.asked, ['web1.example.com'])
    return findings.map((f) => ({ kind: f.kind, keyType: f.keyType, fingerprint: f.fingerprint, types: f.message.match(/\b(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa)(?= SHA256:)/g) }))
  }

  it('ed25519, ecdsa and rsa keys, no SSHFP records: exactly one sshfp_missing naming all three', async () => {
    assert.deepEqual(await check(null, [ed, p256, rsa], []), [
      { kind: 'sshfp_missing', keyType: null, fingerprint: null, types: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'] },
    ])
  })

  it('-t ed25519,rsa: the one finding lists the asked keys; ECDSA records are not judged', async () => {
    assert.deepEqual(await check(['ed25519', 'rsa'], [ed, rsa], expectedRecords([p256])), [
      { kind: 'sshfp_missing', keyType: null, fingerprint: null, types: ['ssh-ed25519', 'ssh-rsa'] },
    ])
  })

  it('a partial host (rsa probe failed): the one finding lists the collected keys; RSA records are not judged', async () => {
    assert.deepEqual(await check(null, [ed, p256], expectedRecords([rsa]), ['rsa']), [
      { kind: 'sshfp_missing', keyType: null, fingerprint: null, types: ['ssh-ed25519', 'ecdsa-sha2-nistp256'] },
    ])
  })
})
