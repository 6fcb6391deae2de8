import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { recordsForFamilies } from '../../src/app/sshfp-check.js'
import type { SshfpAnswer } from '../../src/dns/sshfp-answer.js'
import type { SshfpRecord } from '../../src/dns/sshfp-record.js'

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
