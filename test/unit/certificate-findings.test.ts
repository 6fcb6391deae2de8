import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { certificateFindings, isTrustedCertificate, type CertifiedHost } from '../../src/analysis/certificate-findings.js'
import type { HostCertificate } from '../../src/domain/certificate.js'
import type { AuthorityTrust, RecordedCertificate } from '../../src/domain/certificate-history.js'
import type { HostKey, Sha256Fingerprint } from '../../src/domain/host-key.js'
import { parseCertificate } from '../../src/domain/fingerprint/certificate.js'
import { makeCa, makeKey, signHostKey } from '../support/ssh-ca.js'

/* The certificate findings, one rule at a time, on certificates ssh-keygen made. */

const dir = mkdtempSync(join(tmpdir(), 'hostkeys-cert-findings-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const ca = makeCa(dir, 'ed25519', 'ca')
const hostKey = makeKey(dir, 'ed25519', 'host')
const signed = parseCertificate(signHostKey(ca, hostKey.publicKey, { id: 'web', principals: ['web.example.test'], validity: '-1d:+90d', serial: 7 }).blob)
const now = new Date()
const DAY = 86_400_000

function keyWith(changes: Partial<HostCertificate>): HostKey {
  return { ...signed.key, certificate: { ...signed.certificate, ...changes } }
}

function judge(
  key: HostKey,
  options: { names?: string[]; port?: number; trust?: AuthorityTrust[] | null; previous?: Partial<RecordedCertificate> | null; warnDays?: number } = {},
): string[] {
  const host: CertifiedHost = { host: 'web.example.test', names: options.names ?? ['web.example.test', '192.0.2.1'], port: options.port ?? 22, keys: [key] }
  const previous = options.previous
    ? new Map([[key.family, { family: key.family, keySha256: key.sha256, caSha256: signed.certificate.ca.sha256, certificateSha256: '', serial: '7', validBefore: null, removed: false, trustedCaSha256: signed.certificate.ca.sha256, ...options.previous }]])
    : null
  const trust = options.trust === undefined ? [{ sha256: signed.certificate.ca.sha256, patterns: ['*.example.test'] }] : options.trust
  return certificateFindings(host, { now, warnDays: options.warnDays ?? 30 }, { trust, previous }).map((f) => `${f.severity} ${f.kind}`)
}

describe('certificate findings', () => {
  it('a valid certificate for the host, from a trusted CA, says nothing', () => {
    assert.deepEqual(judge(keyWith({})), [])
  })

  it('warns within --cert-warn-days of the end, and not before', () => {
    assert.deepEqual(judge(keyWith({ validBefore: new Date(now.getTime() + 30 * DAY) })), ['warning cert_expiring'])
    assert.deepEqual(judge(keyWith({ validBefore: new Date(now.getTime() + 31 * DAY) })), [])
    assert.deepEqual(judge(keyWith({ validBefore: new Date(now.getTime() + 5 * DAY) }), { warnDays: 0 }), [])
  })

  it('is expired from its validBefore on (the end is exclusive, as sshd has it)', () => {
    assert.deepEqual(judge(keyWith({ validBefore: now })), ['critical cert_expired'])
  })

  it('matches principals case-insensitively and with wildcards; no principals at all is valid for any name', () => {
    assert.deepEqual(judge(keyWith({ principals: ['WEB.Example.Test'] })), [])
    assert.deepEqual(judge(keyWith({ principals: ['*.example.test'] })), [])
    assert.deepEqual(judge(keyWith({ principals: ['192.0.2.1'] })), [], 'an address the host is known by')
    assert.deepEqual(judge(keyWith({ principals: [] })), [])
    assert.deepEqual(judge(keyWith({ principals: ['web.example.test.evil'] })), ['warning cert_principal_mismatch'])
  })

  it('judges the CA\'s trust with known_hosts patterns, port included, and not at all without a trust list', () => {
    // Off port 22 ssh looks up [name]:port, then the bare name (domain/host-patterns.ts): *.example.test names the host on 2222.
    assert.deepEqual(judge(keyWith({}), { port: 2222 }), [])
    assert.deepEqual(judge(keyWith({}), { port: 2222, trust: [{ sha256: signed.certificate.ca.sha256, patterns: ['[*.example.test]:2222'] }] }), [])
    const onlyPort2200 = [{ sha256: signed.certificate.ca.sha256, patterns: ['[*.example.test]:2200'] }]
    assert.deepEqual(judge(keyWith({}), { port: 2222, trust: onlyPort2200 }), ['warning cert_untrusted_ca'], '[*.example.test]:2200 does not name the host on 2222')
    assert.deepEqual(judge(keyWith({}), { trust: [] }), ['warning cert_untrusted_ca'])
    assert.deepEqual(judge(keyWith({}), { trust: null }), [])
    const otherCa = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' as Sha256Fingerprint
    assert.deepEqual(judge(keyWith({}), { trust: [{ sha256: otherCa, patterns: ['*'] }] }), ['warning cert_untrusted_ca'])
  })

  it('a host known only by address is not told its certificate names other names, nor that its CA is trusted for other names', () => {
    assert.deepEqual(judge(keyWith({}), { names: ['192.0.2.1'] }), [], 'the certificate names web.example.test; people may well connect by it')
    assert.deepEqual(judge(keyWith({ principals: ['192.0.2.9'] }), { names: ['192.0.2.1'] }), ['warning cert_principal_mismatch'], 'an address principal can be checked')
    assert.deepEqual(judge(keyWith({}), { names: ['192.0.2.1'], trust: [] }), ['warning cert_untrusted_ca'], 'a CA trusted for nothing is untrusted wherever')
  })

  it('a forged or user certificate says only that: nothing in it can be believed', () => {
    assert.deepEqual(judge(keyWith({ signatureValid: false, validBefore: null, principals: ['x'] })), ['critical cert_bad_signature'])
    assert.deepEqual(judge(keyWith({ kind: 'user' })), ['critical cert_not_host'])
  })

  it('compares with the history: another CA, a renewal, a certificate gone', () => {
    const rogue = 'SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' as Sha256Fingerprint
    assert.deepEqual(judge(keyWith({}), { previous: { trustedCaSha256: rogue, caSha256: rogue } }), ['critical ca_changed'])
    assert.deepEqual(judge(keyWith({}), { previous: { serial: '6' } }), ['info cert_renewed'])
    assert.deepEqual(judge(keyWith({}), { previous: { serial: '7' } }), [], 'the same certificate again')
    assert.deepEqual(judge(keyWith({}), { previous: { trustedCaSha256: null } }), [], 'no trusted CA yet: the first is taken')
    const plain: HostKey = { ...signed.key }
    assert.deepEqual(judge(plain, { previous: {} }), ['warning cert_removed'])
    assert.deepEqual(judge(plain, { previous: { removed: true } }), [], 'said once')
    assert.equal(isTrustedCertificate(signed.certificate, undefined), true)
    assert.equal(isTrustedCertificate(signed.certificate, { trustedCaSha256: rogue } as RecordedCertificate), false)
  })
})
