import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { revokedKeyFindings } from '../../src/analysis/revoked-keys.js'
import type { Sha256Fingerprint } from '../../src/domain/host-key.js'
import type { ScannedHost } from '../../src/domain/scanned-host.js'
import { syntheticKey } from '../support/synthetic-keys.js'

/* revoked_key: a key a revocation names, and a certificate a revoked CA signed (the CA vouches for
 * nothing once revoked, so a host it certified must not pass in silence). */

const hostKey = syntheticKey('ed25519', 'web1')
const ca = syntheticKey('ed25519', 'ca')
const certified = { ...hostKey, family: 'ed25519', certificate: { ca: { sha256: ca.sha256 } } }
const host = (keys: unknown[]) => ({ host: 'web1', keys }) as unknown as ScannedHost

describe('revokedKeyFindings', () => {
  it('names a served key a revocation names', () => {
    const found = revokedKeyFindings(host([hostKey]), new Map([[hostKey.sha256, 'revoke by alice']]))
    assert.deepEqual(found.map((f) => [f.kind, f.severity, f.fingerprint]), [['revoked_key', 'critical', hostKey.sha256]])
    assert.match(found[0]!.message, /revoke by alice marks @revoked/)
  })

  it('names a certified key whose CA is revoked', () => {
    const found = revokedKeyFindings(host([certified]), new Map([[ca.sha256, 'known_hosts']]))
    assert.deepEqual(found.map((f) => [f.kind, f.severity, f.fingerprint]), [['revoked_key', 'critical', hostKey.sha256]])
    assert.match(found[0]!.message, new RegExp(`signed by the CA ${ca.sha256.replace(/[+/]/g, '\\$&')}`))
  })

  it('raises nothing for keys nobody revoked', () => {
    assert.deepEqual(revokedKeyFindings(host([certified]), new Map([['SHA256:other' as Sha256Fingerprint, 'x']])), [])
  })
})
