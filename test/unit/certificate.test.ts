import assert from 'node:assert/strict'
import { generateKeyPairSync, hash, sign, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { describeCertificateValidity, plainKeyTypeOf, type HostCertificate } from '../../src/domain/certificate.js'
import type { HostKey } from '../../src/domain/host-key.js'
import { CaKeySyntaxError, isCertificateType, parseCaKey, parseCertificate } from '../../src/domain/fingerprint/certificate.js'
import { describeKey, KeyBlobError } from '../../src/domain/fingerprint/key-blob.js'
import {
  dsaKeysSupported,
  keygenFingerprint,
  listCertificate,
  makeCa,
  makeKey,
  signHostKey,
  type CertificateListing,
  type KeyPairFiles,
  type SignedCertificate,
  type SignOptions,
} from '../support/ssh-ca.js'
import { ALL_SSHD_KEY_TYPES, type SshdKeyType } from '../support/sshd.js'
import { sshMagnitudeMpint, SshReader, sshString, sshUint32 as uint32, sshUint64 as uint64 } from '../../src/domain/ssh-wire.js'

/* Certificates made by ssh-keygen -s, parsed, and compared field by field with what ssh-keygen -L
 * says about the same file; then tampered with, truncated and fuzzed. */

const dir = mkdtempSync(join(tmpdir(), 'hostkeys-cert-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const DSA = dsaKeysSupported(dir)
const NO_DSA = DSA ? false : 'this ssh-keygen makes no DSA keys'
if (!DSA) process.stderr.write('\n*** certificate tests: this ssh-keygen makes no DSA keys; DSA cases skipped\n\n')

const HOST_TYPES = ALL_SSHD_KEY_TYPES.filter((type) => DSA || type !== 'dsa')
const CA_TYPES: readonly SshdKeyType[] = ['ed25519', 'ecdsa-256', 'ecdsa-384', 'ecdsa-521', 'rsa', 'dsa']

/** Key pairs made once for the whole file: one CA and one host key of each type. */
const cas = new Map<SshdKeyType, KeyPairFiles>()
const hosts = new Map<SshdKeyType, KeyPairFiles>()
before(() => {
  for (const type of CA_TYPES) if (DSA || type !== 'dsa') cas.set(type, makeCa(dir, type))
  for (const type of HOST_TYPES) hosts.set(type, makeKey(dir, type, `host_${type}`))
})

function ca(type: SshdKeyType): KeyPairFiles {
  return cas.get(type)!
}
function host(type: SshdKeyType): KeyPairFiles {
  return hosts.get(type)!
}

let certCount = 0
/** Signs a host key into a file of its own, so no certificate replaces another. */
function certify(caType: SshdKeyType, hostType: SshdKeyType, options: Partial<SignOptions> = {}): SignedCertificate {
  return signHostKey(ca(caType), host(hostType).publicKey, {
    id: 'test',
    certPath: join(dir, `cert${++certCount}-cert.pub`),
    ...options,
  })
}

/** Our parse rendered as ssh-keygen -L prints it (times in UTC). */
function listingOf(key: HostKey, cert: HostCertificate): CertificateListing {
  const time = (d: Date) => d.toISOString().slice(0, 19)
  const { validAfter: from, validBefore: to } = cert
  const valid = !from && !to ? 'forever' : !from ? `before ${time(to!)}` : !to ? `after ${time(from)}` : `from ${time(from)} to ${time(to)}`
  const option = ({ name, data }: { name: string; data: string }) => (data === '' ? name : `${name} ${data}`)
  return {
    certType: cert.certType,
    kind: cert.kind,
    publicKeyFingerprint: key.sha256,
    caLabel: cert.ca.type === 'ssh-ed25519' ? 'ED25519' : cert.ca.type.startsWith('ecdsa') ? 'ECDSA' : cert.ca.type === 'ssh-rsa' ? 'RSA' : 'DSA',
    caFingerprint: cert.ca.sha256,
    signatureAlgorithm: cert.signatureAlgorithm,
    keyId: cert.keyId,
    serial: cert.serial,
    valid,
    principals: cert.principals,
    criticalOptions: cert.criticalOptions.map(option),
    extensions: cert.extensions.map(option),
  }
}

/** Parses the certificate and checks it against ssh-keygen -L and the plain key's ssh-keygen -l. */
function parseAndCompare(signed: SignedCertificate, hostType: SshdKeyType, caType: SshdKeyType): { key: HostKey; certificate: HostCertificate } {
  const parsed = parseCertificate(signed.blob)
  assert.deepEqual(listingOf(parsed.key, parsed.certificate), listCertificate(signed.path))
  assert.equal(parsed.key.sha256, keygenFingerprint(host(hostType).publicKey))
  assert.deepEqual(parsed.key.blob, host(hostType).blob, 'the certified key rebuilt as its plain blob')
  assert.deepEqual(parsed.certificate.ca.blob, ca(caType).blob)
  assert.deepEqual(parsed.certificate.blob, signed.blob)
  assert.equal(parsed.certificate.signatureValid, true)
  return parsed
}

const SIGNERS: { name: string; ca: SshdKeyType; algorithm?: 'ssh-rsa' | 'rsa-sha2-256' | 'rsa-sha2-512'; expect: string }[] = [
  { name: 'ed25519 CA', ca: 'ed25519', expect: 'ssh-ed25519' },
  { name: 'ecdsa-256 CA', ca: 'ecdsa-256', expect: 'ecdsa-sha2-nistp256' },
  { name: 'ecdsa-384 CA', ca: 'ecdsa-384', expect: 'ecdsa-sha2-nistp384' },
  { name: 'ecdsa-521 CA', ca: 'ecdsa-521', expect: 'ecdsa-sha2-nistp521' },
  { name: 'rsa CA, ssh-keygen default', ca: 'rsa', expect: 'rsa-sha2-512' },
  { name: 'rsa CA, -t rsa-sha2-256', ca: 'rsa', algorithm: 'rsa-sha2-256', expect: 'rsa-sha2-256' },
  { name: 'rsa CA, -t ssh-rsa (SHA-1)', ca: 'rsa', algorithm: 'ssh-rsa', expect: 'ssh-rsa' },
  { name: 'dsa CA', ca: 'dsa', expect: 'ssh-dss' },
]

describe('parseCertificate against ssh-keygen -L: every CA type signing every host key type', () => {
  for (const signer of SIGNERS) {
    for (const hostType of ALL_SSHD_KEY_TYPES) {
      const skip = signer.ca === 'dsa' || hostType === 'dsa' ? NO_DSA : false
      it(`${signer.name} signs a ${hostType} host key`, { skip }, () => {
        const signed = certify(signer.ca, hostType, {
          id: `${hostType}.example.org`,
          principals: ['name1', 'name2.example.org'],
          validity: '-1d:+5d',
          serial: 12345,
          ...(signer.algorithm ? { signatureAlgorithm: signer.algorithm } : {}),
        })
        const { key, certificate } = parseAndCompare(signed, hostType, signer.ca)
        assert.equal(certificate.signatureAlgorithm, signer.expect)
        assert.equal(certificate.certType, `${key.type}-cert-v01@openssh.com`)
        assert.equal(certificate.kind, 'host')
        assert.equal(certificate.serial, '12345')
        assert.deepEqual(certificate.principals, ['name1', 'name2.example.org'])
        assert.equal(certificate.ca.bits, { ed25519: 256, 'ecdsa-256': 256, 'ecdsa-384': 384, 'ecdsa-521': 521, rsa: 2048, dsa: 1024 }[signer.ca])
        const validity = describeCertificateValidity(certificate, new Date())
        assert.equal(validity.kind, 'valid')
        assert.ok(validity.kind === 'valid' && (validity.daysLeft === 4 || validity.daysLeft === 5))
      })
    }
  }
})

describe('parseCertificate: what ssh-keygen -s can put in a certificate', () => {
  it('a user certificate, with force-command and source-address and the default extensions', () => {
    const signed = certify('ed25519', 'ecdsa-256', {
      user: true,
      principals: ['alice'],
      options: ['force-command=/usr/bin/rsync --server', 'source-address=10.0.0.0/8,192.0.2.1', 'no-pty'],
    })
    const { certificate } = parseAndCompare(signed, 'ecdsa-256', 'ed25519')
    assert.equal(certificate.kind, 'user')
    assert.deepEqual(certificate.criticalOptions, [
      { name: 'force-command', data: '/usr/bin/rsync --server' },
      { name: 'source-address', data: '10.0.0.0/8,192.0.2.1' },
    ])
    assert.deepEqual(
      certificate.extensions.map((e) => e.name),
      ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-user-rc'],
    )
  })

  it('valid always:forever: both ends null, valid at any time', () => {
    const { certificate } = parseAndCompare(certify('ecdsa-384', 'ed25519', { validity: 'always:forever' }), 'ed25519', 'ecdsa-384')
    assert.equal(certificate.validAfter, null)
    assert.equal(certificate.validBefore, null)
    assert.deepEqual(describeCertificateValidity(certificate, new Date(0)), { kind: 'valid', daysLeft: null })
  })

  it('valid always:+5d and -1d:forever: one open end each', () => {
    const before = parseAndCompare(certify('rsa', 'ed25519', { validity: 'always:+5d' }), 'ed25519', 'rsa').certificate
    assert.equal(before.validAfter, null)
    assert.ok(before.validBefore instanceof Date)
    const after = parseAndCompare(certify('rsa', 'ed25519', { validity: '-1d:forever' }), 'ed25519', 'rsa').certificate
    assert.ok(after.validAfter instanceof Date)
    assert.equal(after.validBefore, null)
  })

  it('a serial of 2^64 - 1 stays exact', () => {
    const { certificate } = parseAndCompare(certify('ed25519', 'rsa', { serial: '18446744073709551615' }), 'rsa', 'ed25519')
    assert.equal(certificate.serial, '18446744073709551615')
  })

  it('no principals: an empty list (valid for any name)', () => {
    const { certificate } = parseAndCompare(certify('ecdsa-521', 'ecdsa-521', {}), 'ecdsa-521', 'ecdsa-521')
    assert.deepEqual(certificate.principals, [])
  })

  it('an expired and a not-yet-valid certificate', () => {
    const expired = parseAndCompare(certify('ed25519', 'ed25519', { validity: '-10d:-3d' }), 'ed25519', 'ed25519').certificate
    assert.deepEqual(describeCertificateValidity(expired, new Date()), { kind: 'expired', daysAgo: 3 })
    const future = parseAndCompare(certify('ed25519', 'ed25519', { validity: '+3d:+10d' }), 'ed25519', 'ed25519').certificate
    assert.deepEqual(describeCertificateValidity(future, new Date()), { kind: 'not-yet-valid', daysUntil: 2 })
  })

  it('custom options: the text of a string value, ssh-keygen -L shows its hex', () => {
    const signed = certify('ed25519', 'ed25519', { options: ['clear', 'critical:foo=bar', 'extension:flag@example.org', 'extension:zz@example.org=\x02'] })
    const { certificate } = parseCertificate(signed.blob)
    assert.deepEqual(certificate.criticalOptions, [{ name: 'foo', data: 'bar' }])
    assert.deepEqual(certificate.extensions, [
      { name: 'flag@example.org', data: '' },
      { name: 'zz@example.org', data: '\\x02' },
    ])
    const listing = listCertificate(signed.path)
    assert.deepEqual(listing.criticalOptions, [`foo UNKNOWN OPTION: ${sshString('bar').toString('hex')} (len 7)`])
    assert.deepEqual(listing.extensions, ['flag@example.org UNKNOWN FLAG OPTION', `zz@example.org UNKNOWN OPTION: ${sshString('\x02').toString('hex')} (len 5)`])
  })

  it('a key id and principals with terminal escapes arrive escaped; ssh-keygen -L prints them raw', () => {
    const id = 'web\t1\x1b]0;owned\x07 \\x41'
    const signed = certify('ed25519', 'ed25519', { id, principals: ['p\x01q', 'caf\u00e9'] })
    const { certificate } = parseCertificate(signed.blob)
    assert.equal(certificate.keyId, 'web\\x091\\x1b]0;owned\\x07 \\x5cx41')
    assert.deepEqual(certificate.principals, ['p\\x01q', 'caf\\xc3\\xa9'])
    const listing = listCertificate(signed.path)
    assert.equal(listing.keyId, id)
    assert.deepEqual(listing.principals, ['p\x01q', 'caf\u00e9'])
  })
})

describe('isCertificateType and plainKeyTypeOf', () => {
  const cases: [string, boolean][] = [
    ['ssh-ed25519-cert-v01@openssh.com', true],
    ['ecdsa-sha2-nistp521-cert-v01@openssh.com', true],
    ['ssh-rsa-cert-v01@openssh.com', true],
    ['ssh-dss-cert-v01@openssh.com', true],
    ['ssh-ed25519', false],
    ['rsa-sha2-512-cert-v01@openssh.com', false], // a signature algorithm name, not a key type
    ['ssh-rsa-cert-v00@openssh.com', false], // the v00 format, gone since OpenSSH 7.0
    ['sk-ssh-ed25519-cert-v01@openssh.com', true], // PROTOCOL.u2f: a security-key host key may be certified too
    ['sk-ssh-ed25519-cert-v00@openssh.com', false],
    ['', false],
  ]
  for (const [name, expected] of cases) {
    it(`'${name}' is ${expected ? '' : 'not '}a certificate type`, () => assert.equal(isCertificateType(name), expected))
  }
  it('maps each certificate type to the plain type it certifies', () => {
    assert.equal(plainKeyTypeOf('ssh-ed25519-cert-v01@openssh.com'), 'ssh-ed25519')
    assert.equal(plainKeyTypeOf('ecdsa-sha2-nistp384-cert-v01@openssh.com'), 'ecdsa-sha2-nistp384')
    assert.equal(plainKeyTypeOf('ssh-dss-cert-v01@openssh.com'), 'ssh-dss')
    assert.equal(plainKeyTypeOf('sk-ecdsa-sha2-nistp256-cert-v01@openssh.com'), 'sk-ecdsa-sha2-nistp256@openssh.com')
  })
})

describe('describeCertificateValidity', () => {
  const day = 86_400_000
  const t = Date.UTC(2030, 0, 10)
  const at = (ms: number | null) => (ms === null ? null : new Date(ms))
  const cases: [string, number | null, number | null, ReturnType<typeof describeCertificateValidity>][] = [
    ['always to forever', null, null, { kind: 'valid', daysLeft: null }],
    ['since yesterday to in 5.5 days', t - day, t + 5.5 * day, { kind: 'valid', daysLeft: 5 }],
    ['valid from exactly now (inclusive)', t, t + day, { kind: 'valid', daysLeft: 1 }],
    ['ends exactly now (exclusive)', t - day, t, { kind: 'expired', daysAgo: 0 }],
    ['ended 3.2 days ago', null, t - 3.2 * day, { kind: 'expired', daysAgo: 3 }],
    ['starts in 1 ms', t + 1, null, { kind: 'not-yet-valid', daysUntil: 0 }],
    ['starts in 7 days', t + 7 * day, t + 9 * day, { kind: 'not-yet-valid', daysUntil: 7 }],
  ]
  for (const [name, from, to, expected] of cases) {
    it(name, () => assert.deepEqual(describeCertificateValidity({ validAfter: at(from), validBefore: at(to) }, new Date(t)), expected))
  }
})

/** The offset where the final string, the signature, starts: the last offset from which the rest
 * reads as string(string(format name) + string(blob)) exactly. (The inner blob of an ECDSA
 * signature reads as two strings too, but r is not an algorithm name.) */
function signatureStart(blob: Buffer): number {
  for (let o = blob.length - 12; o >= 0; o--) {
    if (blob.readUInt32BE(o) !== blob.length - o - 4) continue
    const formatLength = blob.readUInt32BE(o + 4)
    const blobAt = o + 8 + formatLength
    if (formatLength > 64 || blobAt + 4 > blob.length || blob.readUInt32BE(blobAt) !== blob.length - blobAt - 4) continue
    if (/^[a-z0-9@.-]+$/.test(blob.subarray(o + 8, blobAt).toString('latin1'))) return o
  }
  throw new Error('no signature string found')
}

/** The certificate with its signature field replaced by string(format) + string(sig blob). */
function resigned(blob: Buffer, format: string, sigBlob: Buffer): Buffer {
  return Buffer.concat([blob.subarray(0, signatureStart(blob)), sshString(Buffer.concat([sshString(format), sshString(sigBlob)]))])
}

/** The format and signature blob of a certificate's signature field. */
function signatureOf(blob: Buffer): { format: string; sigBlob: Buffer } {
  const reader = new SshReader(blob, 'certificate', { start: signatureStart(blob) }).nested('signature')
  return { format: reader.string('format').toString(), sigBlob: reader.string('signature blob') }
}

function flipped(blob: Buffer, offset: number): Buffer {
  const copy = Buffer.from(blob)
  copy[offset] = copy[offset]! ^ 0x01
  return copy
}

describe('parseCertificate: tampered signatures are signatureValid false, never a throw', () => {
  for (const signer of SIGNERS) {
    it(`${signer.name}: a flipped bit in the signature, and one in the key id`, { skip: signer.ca === 'dsa' ? NO_DSA : false }, () => {
      const { blob } = certify(signer.ca, 'ed25519', { id: 'tamper-me', ...(signer.algorithm ? { signatureAlgorithm: signer.algorithm } : {}) })
      assert.equal(parseCertificate(blob).certificate.signatureValid, true)
      const inSignature = parseCertificate(flipped(blob, blob.length - 2)).certificate
      assert.equal(inSignature.signatureValid, false)
      assert.equal(inSignature.signatureAlgorithm, signer.expect)
      const inKeyId = parseCertificate(flipped(blob, blob.indexOf('tamper-me'))).certificate
      assert.equal(inKeyId.keyId, 'uamper-me')
      assert.equal(inKeyId.signatureValid, false)
    })
  }

  it('a signature format the CA key type cannot sign with is invalid, even with a good signature blob', () => {
    const rsa = certify('rsa', 'ed25519', {}).blob
    const { format, sigBlob } = signatureOf(rsa)
    assert.equal(format, 'rsa-sha2-512')
    assert.equal(parseCertificate(resigned(rsa, 'rsa-sha2-512', sigBlob)).certificate.signatureValid, true)
    for (const wrong of ['rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-dss', 'RSA-SHA2-512', '']) {
      const { certificate } = parseCertificate(resigned(rsa, wrong, sigBlob))
      assert.equal(certificate.signatureValid, false, wrong)
      assert.equal(certificate.signatureAlgorithm, wrong)
    }
    const ed = certify('ed25519', 'ed25519', {}).blob
    const edSig = signatureOf(ed).sigBlob
    assert.equal(parseCertificate(resigned(ed, 'rsa-sha2-512', edSig)).certificate.signatureValid, false)
    assert.equal(parseCertificate(resigned(ed, 'ssh-ed25519', edSig)).certificate.signatureValid, true)
  })

  it('a malformed signature field is invalid, with what can be read of its format', () => {
    const ecdsa = certify('ecdsa-256', 'ed25519', {}).blob
    const { sigBlob } = signatureOf(ecdsa)
    const start = signatureStart(ecdsa)
    const withSignature = (field: Buffer) => Buffer.concat([ecdsa.subarray(0, start), sshString(field)])
    const cases: [string, Buffer, string][] = [
      ['empty', Buffer.alloc(0), ''],
      ['three bytes', Buffer.from([1, 2, 3]), ''],
      ['format only', sshString('ecdsa-sha2-nistp256'), 'ecdsa-sha2-nistp256'],
      ['trailing bytes after the blob', Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString(sigBlob), Buffer.from([0])]), 'ecdsa-sha2-nistp256'],
      ['trailing bytes inside the blob', Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString(Buffer.concat([sigBlob, Buffer.from([0])]))]), 'ecdsa-sha2-nistp256'],
      ['r and s swapped', Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString(swapRS(sigBlob))]), 'ecdsa-sha2-nistp256'],
      ['a format with escapes', Buffer.concat([sshString('\x1b[2J'), sshString(sigBlob)]), '\\x1b[2J'],
    ]
    for (const [name, field, algorithm] of cases) {
      const { certificate } = parseCertificate(withSignature(field))
      assert.equal(certificate.signatureValid, false, name)
      assert.equal(certificate.signatureAlgorithm, algorithm, name)
    }
  })
})

function swapRS(sigBlob: Buffer): Buffer {
  const reader = new SshReader(sigBlob, 'ECDSA signature')
  const r = reader.string('r')
  return Buffer.concat([reader.string('s'), r].map((value) => sshString(value)))
}

/* Certificates built field by field and signed here with node:crypto: structures ssh-keygen would
 * never write, and a check of the signed range independent of ssh-keygen. */

function list(items: (Buffer | string)[]): Buffer {
  return Buffer.concat(items.map(sshString))
}

const edCa = generateKeyPairSync('ed25519')
const edCaBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(edCa.publicKey.export({ format: 'jwk' }).x!, 'base64url'))])
const certifiedPk = Buffer.alloc(32, 7)

interface Fields {
  type: string
  nonce: Buffer
  key: Buffer
  serial: bigint
  certType: number
  keyId: Buffer | string
  principals: Buffer
  validAfter: bigint
  validBefore: bigint
  critical: Buffer
  extensions: Buffer
  reserved: Buffer
  caBlob: Buffer
}

const defaults: Fields = {
  type: 'ssh-ed25519-cert-v01@openssh.com',
  nonce: Buffer.alloc(32, 1),
  key: sshString(certifiedPk),
  serial: 7n,
  certType: 2,
  keyId: 'built',
  principals: list(['host.example.org']),
  validAfter: 0n,
  validBefore: 0xffff_ffff_ffff_ffffn,
  critical: Buffer.alloc(0),
  extensions: Buffer.alloc(0),
  reserved: Buffer.alloc(0),
  caBlob: edCaBlob,
}

/** The signed part of a certificate: every field but the signature. */
function body(overrides: Partial<Fields> = {}): Buffer {
  const f = { ...defaults, ...overrides }
  return Buffer.concat([
    sshString(f.type),
    sshString(f.nonce),
    f.key,
    uint64(f.serial),
    uint32(f.certType),
    sshString(f.keyId),
    sshString(f.principals),
    uint64(f.validAfter),
    uint64(f.validBefore),
    sshString(f.critical),
    sshString(f.extensions),
    sshString(f.reserved),
    sshString(f.caBlob),
  ])
}

function signedByEd(data: Buffer, privateKey: KeyObject = edCa.privateKey): Buffer {
  return Buffer.concat([data, sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(sign(null, data, privateKey))]))])
}

function built(overrides: Partial<Fields> = {}): Buffer {
  return signedByEd(body(overrides))
}

describe('parseCertificate: certificates built here', () => {
  it('signed with node:crypto over every byte before the signature: valid', () => {
    const { key, certificate } = parseCertificate(built())
    assert.equal(certificate.signatureValid, true)
    assert.deepEqual(key.blob, Buffer.concat([sshString('ssh-ed25519'), sshString(certifiedPk)]))
    assert.deepEqual(certificate.principals, ['host.example.org'])
    assert.equal(certificate.serial, '7')
  })

  it('signed by another key than the one it names: invalid', () => {
    assert.equal(parseCertificate(signedByEd(body(), generateKeyPairSync('ed25519').privateKey)).certificate.signatureValid, false)
  })

  it('times beyond what a Date holds: a start clamps to the last Date, an end is forever', () => {
    const { certificate } = parseCertificate(built({ validAfter: 0xffff_ffff_ffff_fffen, validBefore: 0xffff_ffff_ffff_fffen }))
    assert.equal(certificate.validAfter?.getTime(), 8.64e15)
    assert.equal(certificate.validBefore, null)
    assert.equal(describeCertificateValidity(certificate, new Date()).kind, 'not-yet-valid')
    const edge = parseCertificate(built({ validAfter: 1n, validBefore: 8_640_000_000_000n })).certificate
    assert.equal(edge.validAfter?.getTime(), 1000)
    assert.equal(edge.validBefore?.getTime(), 8.64e15)
  })

  it('an RSA signature shorter than the modulus is left-padded, as OpenSSH does', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const jwk = rsa.publicKey.export({ format: 'jwk' })
    const mpint = (b64: string) => sshMagnitudeMpint(Buffer.from(b64, 'base64url'))
    const caBlob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)])
    // Vary the serial until the signature happens to start with a zero byte (1 in 256).
    for (let serial = 0n; ; serial++) {
      const data = body({ caBlob, serial })
      const signature = sign('sha512', data, rsa.privateKey)
      if (signature[0] !== 0) continue
      const short = Buffer.concat([data, sshString(Buffer.concat([sshString('rsa-sha2-512'), sshString(signature.subarray(1))]))])
      assert.equal(parseCertificate(short).certificate.signatureValid, true)
      const long = Buffer.concat([data, sshString(Buffer.concat([sshString('rsa-sha2-512'), sshString(Buffer.concat([Buffer.from([0]), signature]))]))])
      assert.equal(parseCertificate(long).certificate.signatureValid, false, 'longer than the modulus')
      break
    }
  })

  it('RSA integers with a needless leading zero byte: the plain blobs are minimal, as ssh-keygen re-serialises them', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
    const [e, n] = [Buffer.from(rsa.e!, 'base64url'), Buffer.from(rsa.n!, 'base64url')]
    const minimal = Buffer.concat([sshString(e), sshString(Buffer.concat([Buffer.from([0]), n]))])
    const padded = Buffer.concat([sshString(Buffer.concat([Buffer.from([0, 0]), e])), sshString(Buffer.concat([Buffer.from([0, 0, 0]), n]))])
    const { key, certificate } = parseCertificate(
      built({ type: 'ssh-rsa-cert-v01@openssh.com', key: padded, caBlob: Buffer.concat([sshString('ssh-rsa'), padded]) }),
    )
    assert.deepEqual(key.blob, Buffer.concat([sshString('ssh-rsa'), minimal]))
    assert.deepEqual(certificate.ca.blob, Buffer.concat([sshString('ssh-rsa'), minimal]))
  })

  const ecdsaCaBlob = (point: Buffer) => Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)])
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
  const p256Point = Buffer.concat([Buffer.from([4]), Buffer.from(p256.x!, 'base64url'), Buffer.from(p256.y!, 'base64url')])

  const malformed: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /^certificate: key type: truncated: needs 4 bytes, 0 left$/],
    ['only the type (nonce missing)', sshString('ssh-ed25519-cert-v01@openssh.com'), /^certificate: nonce: truncated: needs 4 bytes, 0 left$/],
    ['a plain key', Buffer.concat([sshString('ssh-ed25519'), sshString(certifiedPk)]), /'ssh-ed25519' is not a certificate key type/],
    ['an unknown certificate type', built({ type: 'ssh-foo-cert-v01@openssh.com' }), /'ssh-foo-cert-v01@openssh.com' is not a certificate key type/],
    ['a type name with escapes', built({ type: '\x1b[2Jx' }), /'\\x1b\[2Jx' is not/],
    ['an ed25519 key of 31 bytes', built({ key: sshString(Buffer.alloc(31)) }), /certified key: ssh-ed25519 key is not 32 bytes/],
    ['an ecdsa key naming another curve', built({ type: 'ecdsa-sha2-nistp256-cert-v01@openssh.com', key: Buffer.concat([sshString('nistp384'), sshString(p256Point)]) }), /certified key: .*names curve 'nistp384'/],
    ['a negative RSA modulus', built({ type: 'ssh-rsa-cert-v01@openssh.com', key: Buffer.concat([sshString(Buffer.from([1, 0, 1])), sshString(Buffer.from([0x80, 1]))]) }), /^certificate: rsa n: negative mpint$/],
    ['certificate type 3', built({ certType: 3 }), /certificate type is 3, neither user \(1\) nor host \(2\)/],
    ['certificate type 0', built({ certType: 0 }), /certificate type is 0/],
    ['a NUL in the key id', built({ keyId: 'a\0b' }), /key id contains a NUL byte/],
    ['a principals list running past its end', built({ principals: Buffer.concat([sshString('a'), uint32(10), Buffer.from('bc')]) }), /^certificate: valid principals: principal 2: string length 10 exceeds the 2 bytes left$/],
    ['a principals list of 3 stray bytes', built({ principals: Buffer.from([0, 0, 0]) }), /^certificate: valid principals: principal 1: truncated: needs 4 bytes, 3 left$/],
    ['a NUL in a principal', built({ principals: list(['a', 'b\0']) }), /principal contains a NUL byte/],
    ['257 principals', built({ principals: list(Array.from({ length: 257 }, (_, i) => `h${i}`)) }), /more than 256 principals/],
    ['a critical option without data', built({ critical: sshString('force-command') }), /^certificate: critical options: data of 'force-command': truncated: needs 4 bytes, 0 left$/],
    ['extensions running past their end', built({ extensions: Buffer.concat([sshString('permit-pty'), uint32(0), uint32(99)]) }), /^certificate: extensions: name 2: string length 99 exceeds the 0 bytes left$/],
    ['an empty CA key', built({ caBlob: Buffer.alloc(0) }), /^certificate: signature key: key type: truncated: needs 4 bytes, 0 left$/],
    ['a CA key of garbage', built({ caBlob: Buffer.from('garbage!') }), /^certificate: signature key: key type: string length 1734439522 exceeds the 4 bytes left$/],
    ['a CA key with trailing bytes', built({ caBlob: Buffer.concat([edCaBlob, Buffer.from([0])]) }), /^certificate: signature key has 1 trailing bytes$/],
    ['a CA key of an unknown type', built({ caBlob: Buffer.concat([sshString('ssh-foo'), sshString('x')]) }), /certificate signature key has unsupported key type 'ssh-foo'/],
    ['a certificate as CA key', built({ caBlob: body() }), /signature key is itself a certificate \(ssh-ed25519-cert-v01@openssh.com\)/],
    ['a compressed ECDSA point as CA key', built({ caBlob: ecdsaCaBlob(Buffer.concat([Buffer.from([2]), p256Point.subarray(1, 33)])) }), /signature key: .*not an uncompressed P-256 point/],
    ['an ECDSA CA point off the curve', built({ caBlob: ecdsaCaBlob(Buffer.concat([p256Point.subarray(0, 64), Buffer.from([p256Point[64]! ^ 1])])) }), /signature key: ecdsa-sha2-nistp256 key is not a usable public key/],
    ['no signature', body(), /^certificate: signature: truncated: needs 4 bytes, 0 left$/],
    ['a byte after the signature', Buffer.concat([built(), Buffer.from([0])]), /certificate has 1 trailing bytes/],
    ['more than 35000 bytes', built({ reserved: Buffer.alloc(35000) }), /more than the 35000 an SSH packet can carry/],
  ]
  for (const [name, blob, message] of malformed) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseCertificate(blob), (e: Error) => {
        assert.ok(e instanceof KeyBlobError, `${e.name}: ${e.message}`)
        assert.match(e.message, message)
        return true
      })
    })
  }
})

/** xorshift32: the same mutations on every run. */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

function mutate(blob: Buffer, next: () => number): Buffer {
  const at = (n: number) => Math.floor(next() * n)
  const copy = Buffer.from(blob)
  switch (at(6)) {
    case 0: // flip bits in a few bytes
      for (let i = 0, n = 1 + at(3); i < n; i++) {
        const offset = at(copy.length)
        copy[offset] = copy[offset]! ^ (1 << at(8))
      }
      return copy
    case 1: // a length field made short, long or huge
      if (copy.length >= 4) copy.writeUInt32BE([0, 1, 0x7fffffff, 0xffffffff, at(copy.length * 2)][at(5)]!, at(copy.length - 3))
      return copy
    case 2: // truncated
      return copy.subarray(0, at(copy.length))
    case 3: {
      // a range cut out
      const start = at(copy.length)
      return Buffer.concat([copy.subarray(0, start), copy.subarray(start + 1 + at(16))])
    }
    case 4: {
      // random bytes inserted
      const start = at(copy.length)
      return Buffer.concat([copy.subarray(0, start), Buffer.from(Array.from({ length: 1 + at(8) }, () => at(256))), copy.subarray(start)])
    }
    default: // a byte set to 0x00 or 0xff
      copy[at(copy.length)] = next() < 0.5 ? 0 : 0xff
      return copy
  }
}

describe('parseCertificate on broken input: a KeyBlobError and nothing else', () => {
  const bases: [string, SshdKeyType, SshdKeyType][] = [
    ['ed25519 CA, ed25519 key', 'ed25519', 'ed25519'],
    ['ecdsa-384 CA, rsa key', 'ecdsa-384', 'rsa'],
    ['rsa CA, ecdsa-521 key', 'rsa', 'ecdsa-521'],
    ['dsa CA, dsa key', 'dsa', 'dsa'],
  ]
  for (const [name, caType, hostType] of bases) {
    const skip = caType === 'dsa' ? NO_DSA : false
    it(`${name}: every truncation`, { skip }, () => {
      const { blob } = certify(caType, hostType, { principals: ['a', 'b'], options: ['clear', 'extension:x@example.org=y'] })
      for (let length = 0; length < blob.length; length++) {
        assert.throws(() => parseCertificate(blob.subarray(0, length)), KeyBlobError, `truncated to ${length} of ${blob.length} bytes`)
      }
    })

    it(`${name}: 1000 random mutations throw only KeyBlobError, and never verify`, { skip }, () => {
      const { blob } = certify(caType, hostType, { principals: ['a', 'b'], options: ['critical:force-command=/bin/true'], user: true })
      const next = random(0x5eed + caType.length * 7919 + hostType.length)
      let parsed = 0
      let refused = 0
      for (let i = 0; i < 1000; i++) {
        const mutant = mutate(blob, next)
        try {
          const { certificate } = parseCertificate(mutant)
          parsed++
          if (!mutant.equals(blob)) assert.equal(certificate.signatureValid, false, `mutation ${i} still verifies`)
        } catch (e) {
          if (!(e instanceof KeyBlobError)) assert.fail(`mutation ${i} threw ${(e as Error).name}: ${(e as Error).message}`)
          refused++
        }
      }
      assert.ok(parsed > 50 && refused > 50, `parsed ${parsed}, refused ${refused}: the mutations reach both outcomes`)
    })
  }
})

describe('parseCaKey', () => {
  it("reads a CA's .pub line: the key of the certificates it signs, and the comment", () => {
    for (const type of CA_TYPES) {
      if (type === 'dsa' && !DSA) continue
      const { key, comment, patterns } = parseCaKey(`${ca(type).publicLine}\n`)
      assert.deepEqual(key.blob, ca(type).blob)
      assert.equal(key.sha256, parseCertificate(certify(type, 'ed25519').blob).certificate.ca.sha256)
      assert.equal(comment, `hostkeys-test-ca_${type}`)
      assert.equal(patterns, null)
    }
  })

  it('reads a known_hosts @cert-authority line, with its patterns', () => {
    const [type, base64] = ca('ed25519').publicLine.split(' ')
    const parsed = parseCaKey(`@cert-authority *.example.org,[10.0.0.1]:2222,!bad.example.org ${type} ${base64} our fleet CA`)
    assert.deepEqual(parsed.patterns, ['*.example.org', '[10.0.0.1]:2222', '!bad.example.org'])
    assert.equal(parsed.comment, 'our fleet CA')
    assert.deepEqual(parsed.key.blob, ca('ed25519').blob)
    assert.equal(parseCaKey(`@cert-authority\t* ${type} ${base64}`).comment, '')
  })

  const edType = 'ssh-ed25519'
  const edBase64 = edCaBlob.toString('base64')
  const bad: [string, () => string, RegExp][] = [
    ['nothing', () => '  \n', /expected a public key line 'TYPE BASE64 \[COMMENT\]' or a known_hosts line '@cert-authority PATTERNS TYPE BASE64 \[COMMENT\]': got nothing/],
    ['two lines', () => `${edType} ${edBase64}\n${edType} ${edBase64}`, /got several lines/],
    ['a @revoked line', () => `@revoked * ${edType} ${edBase64}`, /the marker is '@revoked'/],
    ['a plain known_hosts line', () => `host.example.org ${edType} ${edBase64}`, /unknown key type 'host.example.org'/],
    ['a type without a key', () => edType, /the key type or the base64 key is missing/],
    ['@cert-authority without patterns', () => `@cert-authority ${edType} ${edBase64}`, /the key type or the base64 key is missing/],
    ['@cert-authority with hashed names', () => `@cert-authority |1|c2FsdA==|aG1hYw== ${edType} ${edBase64}`, /hashed/],
    ['a key that is not base64', () => `${edType} not*base64`, /the key is not base64/],
    ['a type that is not the blob', () => `ssh-rsa ${edBase64}`, /the line says ssh-rsa but the key is ssh-ed25519/],
    ['a certificate', () => certify('ed25519', 'ed25519').line, /a certificate \(ssh-ed25519-cert-v01@openssh.com\) cannot be a CA key/],
  ]
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, saying what was expected`, () => {
      assert.throws(() => parseCaKey(text()), (e: Error) => e instanceof CaKeySyntaxError && message.test(e.message))
    })
  }
})

/* Security-key types (PROTOCOL.u2f). No token is at hand, so keys are written here and read back by
 * ssh-keygen (which fingerprints and signs public keys it could not use), and a security-key CA's
 * signature is made with node:crypto the way a token makes it. */
describe('security-key types', () => {
  const skDir = mkdtempSync(join(tmpdir(), 'hostkeys-sk-'))
  after(() => rmSync(skDir, { recursive: true, force: true }))
  const edPk = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url')
  const skEd = Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(edPk), sshString('ssh:')])
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(ec.x!, 'base64url'), Buffer.from(ec.y!, 'base64url')])
  const skEcdsa = Buffer.concat([sshString('sk-ecdsa-sha2-nistp256@openssh.com'), sshString('nistp256'), sshString(point), sshString('ssh:')])

  for (const [type, blob] of [['sk-ssh-ed25519@openssh.com', skEd], ['sk-ecdsa-sha2-nistp256@openssh.com', skEcdsa]] as const) {
    it(`${type}: fingerprinted as ssh-keygen -l does, and certified by ssh-keygen -s as ssh-keygen -L reads it`, () => {
      const pub = join(skDir, `${type.slice(0, 12)}.pub`)
      writeFileSync(pub, `${type} ${blob.toString('base64')} sk-test\n`)
      const key = describeKey(blob)
      assert.equal(key.sha256, keygenFingerprint(pub))
      assert.equal(key.family, type.startsWith('sk-ssh') ? 'ed25519-sk' : 'ecdsa-sk')
      const ca = makeCa(skDir, 'ed25519', `ca-${type.slice(0, 12)}`)
      const cert = signHostKey(ca, pub, { id: 'sk-host', principals: ['sk.example.test'], validity: '-1d:+30d', serial: 9 })
      const parsed = parseCertificate(cert.blob)
      const listing = listCertificate(cert.path)
      assert.equal(parsed.certificate.certType, listing.certType)
      assert.equal(plainKeyTypeOf(parsed.certificate.certType), type)
      assert.equal(parsed.key.sha256, listing.publicKeyFingerprint)
      assert.equal(parsed.key.sha256, key.sha256)
      assert.equal(parsed.certificate.signatureValid, true)
      assert.equal(parsed.certificate.keyId, 'sk-host')
    })
  }

  it('a certificate a security-key CA signed verifies over the token\'s message, and not over the data alone', () => {
    const token = generateKeyPairSync('ed25519')
    const caPk = Buffer.from(token.publicKey.export({ format: 'jwk' }).x!, 'base64url')
    const caBlob = Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(caPk), sshString('ssh:')])
    const data = body({ caBlob })
    const flags = Buffer.from([0x01]) // user present
    const counter = uint32(42)
    const message = Buffer.concat([hash('sha256', Buffer.from('ssh:'), 'buffer'), flags, counter, hash('sha256', data, 'buffer')])
    const skSignature = (signed: Buffer) =>
      Buffer.concat([data, sshString(Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(sign(null, signed, token.privateKey)), flags, counter]))])
    const good = parseCertificate(skSignature(message)).certificate
    assert.equal(good.signatureValid, true)
    assert.equal(good.ca.type, 'sk-ssh-ed25519@openssh.com')
    assert.equal(good.signatureAlgorithm, 'sk-ssh-ed25519@openssh.com')
    assert.equal(parseCertificate(skSignature(data)).certificate.signatureValid, false)
  })
})
