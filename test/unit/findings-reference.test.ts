import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { FINDING_KINDS } from '../../src/domain/finding.js'
import { ACCEPT_CLOSES, FINDING_CATALOGUE } from '../../src/domain/finding-catalogue.js'
import { FINDINGS_REFERENCE_PATH, renderFindingsReference } from '../../src/report/findings-reference.js'

/* The finding catalogue is the one home of each kind's classification: the reference people read is
 * rendered from it, and what `accept` may close is exactly its trust kinds. */

describe('finding catalogue', () => {
  it('docs/findings.md is what `npm run docs` renders from the catalogue now', () => {
    const onDisk = readFileSync(new URL(`../../${FINDINGS_REFERENCE_PATH}`, import.meta.url), 'utf8')
    assert.equal(onDisk, renderFindingsReference(), 'docs/findings.md is stale: run npm run docs')
  })

  it('accept closes the trust findings and nothing that describes a condition of the key, configuration or DNS', () => {
    assert.deepEqual([...ACCEPT_CLOSES].sort(), ['ca_changed', 'cert_removed', 'interception', 'key_added', 'key_changed', 'key_removed', 'vantage_mismatch'])
    for (const kind of ['weak_key', 'weak_algorithm', 'terrapin', 'no_pq_kex', 'policy_violation', 'sshfp_mismatch', 'revoked_key', 'compromised_key', 'cert_expired'] as const) {
      assert.notEqual(FINDING_CATALOGUE[kind].closedBy, 'accept', kind)
    }
    assert.equal(FINDING_CATALOGUE.revoked_key.closedBy, 'never')
    assert.equal(FINDING_CATALOGUE.compromised_key.closedBy, 'never')
  })

  it('every condition says what a scan must cover to resolve it; events and notes do not', () => {
    for (const kind of FINDING_KINDS) {
      const spec = FINDING_CATALOGUE[kind]
      assert.equal(spec.gone !== undefined, spec.lifecycle === 'condition', kind)
      assert.equal(spec.lifecycle === 'note', spec.closedBy === 'nobody', kind)
      assert.ok(spec.explanation.endsWith('.'), `${kind}: the explanation is sentences`)
    }
  })
})
