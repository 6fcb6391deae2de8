import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { certAuthorityEntries, readCertAuthorityFingerprints, readCertAuthorityInput } from '../../src/app/cert-authorities.js'
import { OperationalError, UserError } from '../../src/domain/errors.js'
import { sshString } from '../../src/domain/ssh-wire.js'
import type { TrustedAuthority } from '../../src/domain/history.js'
import { sha256FromText } from '../../src/domain/fingerprint/digest-forms.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { renderCertAuthoritiesJson, renderCertAuthoritiesText, renderTrustedAuthority } from '../../src/report/cert-authorities-report.js'
import { renderCertAuthorityLine } from '../../src/report/known-hosts.js'

/* What `ca trust` and `ca remove` accept as a CA, what they refuse and how they say so; and what
 * `ca list`, `ca trust` and `known-hosts` print for a CA. */

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/keys/${name}.pub`, import.meta.url)), 'utf8').trim()
const ed25519Line = fixture('ed25519') // ssh-ed25519 AAAA… comment
const rsaLine = fixture('rsa')
const keyOf = (line: string) => describeKey(Buffer.from(line.split(' ')[1]!, 'base64'))
const ed25519 = keyOf(ed25519Line)
const rsa = keyOf(rsaLine)
const bare = (line: string) => line.split(' ').slice(0, 2).join(' ')

/** A blob whose type is an OpenSSH certificate type (PROTOCOL.certkeys); only its first string matters here. */
function certificateLine(): string {
  return `ssh-ed25519-cert-v01@openssh.com ${Buffer.concat([sshString('ssh-ed25519-cert-v01@openssh.com'), Buffer.alloc(64, 1)]).toString('base64')} host cert`
}

const FORMS = /expected a public key line 'TYPE BASE64 \[COMMENT\]' or a known_hosts line '@cert-authority PATTERNS TYPE BASE64 \[COMMENT\]'/

describe('certAuthorityEntries: what a CA may be given as', () => {
  it('a .pub line: the key, trusted for * unless --names says otherwise', () => {
    assert.deepEqual(certAuthorityEntries(`${ed25519Line}\n`, 'ca.pub', null), [{ blob: ed25519.blob, patterns: ['*'] }])
    assert.deepEqual(certAuthorityEntries(ed25519Line, 'ca.pub', '*.Example.com,!bad.example.com'), [
      { blob: ed25519.blob, patterns: ['*.example.com', '!bad.example.com'] },
    ])
  })

  it('several .pub lines, comments and blank lines, CRLF', () => {
    const entries = certAuthorityEntries(`# our CAs\r\n${ed25519Line}\r\n\r\n${rsaLine}\r\n`, 'cas.pub', '*.example.com')
    assert.deepEqual(entries.map((e) => [e.blob, e.patterns]), [
      [ed25519.blob, ['*.example.com']],
      [rsa.blob, ['*.example.com']],
    ])
  })

  it('@cert-authority lines: their own patterns, unless --names replaces them', () => {
    const text = `@cert-authority *.example.com,[*.example.com]:2222 ${bare(ed25519Line)} ca\n@cert-authority WEB?.other.test ${bare(rsaLine)}\n`
    assert.deepEqual(certAuthorityEntries(text, 'known_hosts', null).map((e) => e.patterns), [['*.example.com', '[*.example.com]:2222'], ['web?.other.test']])
    assert.deepEqual(certAuthorityEntries(text, 'known_hosts', 'db*').map((e) => e.patterns), [['db*'], ['db*']])
  })

  it('a hashed @cert-authority line is refused, also with --names: its patterns cannot be read back', () => {
    const text = `@cert-authority |1|BmJG0+8/UIahEV2ks3fKZC/iAZ4=|sVQ2Mn/502lwWIKziQZmmv5DOE4= ${bare(ed25519Line)}`
    for (const names of [null, '*']) {
      assert.throws(() => certAuthorityEntries(text, 'kh', names), (e: unknown) => e instanceof UserError && /^kh:1: .*the patterns are hashed/.test(e.message))
    }
  })

  // The last field: whether the message also lists the forms a CA may take (not when the line is a key, but the wrong kind).
  const refused: [what: string, text: string, source: string | null, message: RegExp, forms: boolean][] = [
    ['a certificate by its type', certificateLine(), 'web-cert.pub', /^web-cert\.pub:1: a certificate \(ssh-ed25519-cert-v01@openssh\.com\) cannot be a CA key; give the CA's plain public key \(the \.pub of the key given to ssh-keygen -s\)$/, false],
    ['a certificate blob under a plain type', `ssh-ed25519 ${certificateLine().split(' ')[1]}`, null, /^the key argument: a certificate \(ssh-ed25519-cert-v01@openssh\.com\) cannot be a CA key/, false],
    ['a certificate in an @cert-authority line', `@cert-authority * ${certificateLine()}`, 'kh', /^kh:1: a certificate .* cannot be a CA key/, false],
    ['a known_hosts host line', `# hosts\nweb1.example.com ${bare(ed25519Line)}`, 'kh', /^kh:2: a known_hosts line for a host names a host key, not a CA: only @cert-authority lines name CAs$/, false],
    ['an @revoked line', `@revoked * ${bare(ed25519Line)}`, 'kh', /^kh:1: an @revoked line names a revoked key, not a CA$/, false],
    ['an unknown marker', `@trusted * ${bare(ed25519Line)}`, 'kh', /^kh:1: .*: the marker is '@trusted'$/, true],
    ['garbage', 'hello world', 'ca.pub', /^ca\.pub:1: .*: unknown key type 'hello'$/, true],
    ['a type without a key', 'ssh-ed25519', 'ca.pub', /^ca\.pub:1: .*: the key type or the base64 key is missing$/, true],
    ['an unknown key type', 'ssh-foo AAAAB3Nz', null, /^the key argument: .*: unknown key type 'ssh-foo'$/, true],
    ['a truncated key', 'ssh-ed25519 AAAA', 'ca.pub', /^ca\.pub:1: .*: key blob: key type: truncated: needs 4 bytes, 3 left$/, true],
    ['a type that is not the key', `ssh-rsa ${ed25519Line.split(' ')[1]}`, 'ca.pub', /^ca\.pub:1: .*: the line says ssh-rsa but the key is ssh-ed25519$/, true],
    ['a pattern list that only negates', `@cert-authority !bad.example.com ${bare(ed25519Line)}`, 'kh', /^kh:1: '!bad\.example\.com' only negates/, false],
    ['nothing at all', '# only a comment\n\n', 'empty.pub', /^empty\.pub: no key in it; expected a public key line 'TYPE BASE64 \[COMMENT\]' or @cert-authority lines$/, false],
    ['the second line of an argument', `${ed25519Line}\nhello`, null, /^line 2 of the key argument: .*: the key type or the base64 key is missing$/, true],
  ]
  for (const [what, text, source, message, forms] of refused) {
    it(`refuses ${what}, saying where and what was expected`, () => {
      assert.throws(
        () => certAuthorityEntries(text, source, null),
        (e: unknown) => e instanceof UserError && message.test(e.message) && FORMS.test(e.message) === forms,
      )
    })
  }

  it('refuses a bad --names before reading any line', () => {
    assert.throws(() => certAuthorityEntries(ed25519Line, 'ca.pub', 'a b'), (e: unknown) => e instanceof UserError && /^--names: pattern 'a b' has white space/.test(e.message))
    assert.throws(() => certAuthorityEntries(ed25519Line, 'ca.pub', ''), (e: unknown) => e instanceof UserError && /^--names: an empty pattern/.test(e.message))
  })
})

describe('readCertAuthorityInput and readCertAuthorityFingerprints: FILE or KEYLINE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-ca-input-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'ca.pub')
  writeFileSync(file, `${ed25519Line}\n`)

  it('reads a file, and takes key text as the key itself', async () => {
    assert.deepEqual(await readCertAuthorityInput(file, null), { entries: [{ blob: ed25519.blob, patterns: ['*'] }], file })
    assert.deepEqual(await readCertAuthorityInput(ed25519Line, 'web*'), { entries: [{ blob: ed25519.blob, patterns: ['web*'] }], file: null })
    assert.equal((await readCertAuthorityInput(`@cert-authority *.example.com ${bare(rsaLine)}`, null)).entries[0]!.blob.equals(rsa.blob), true)
  })

  it('a missing file says what the argument may be', async () => {
    await assert.rejects(readCertAuthorityInput(join(dir, 'nope.pub'), null), (e: unknown) => e instanceof OperationalError && /cannot read .*nope\.pub: no such file; give a CA public key file or the key line itself/.test(e.message))
  })

  it('ca remove takes SHA256:…, a file or a key line', async () => {
    assert.deepEqual(await readCertAuthorityFingerprints(ed25519.sha256), [ed25519.sha256])
    assert.deepEqual(await readCertAuthorityFingerprints(`sha256:${ed25519.sha256.slice(7)}=`), [ed25519.sha256], 'any case, padded or not')
    assert.deepEqual(await readCertAuthorityFingerprints(file), [ed25519.sha256])
    assert.deepEqual(await readCertAuthorityFingerprints(`${rsaLine}`), [rsa.sha256])
  })

  it('a malformed fingerprint says what form was expected', async () => {
    await assert.rejects(readCertAuthorityFingerprints('SHA256:nope'), (e: unknown) => e instanceof UserError && /'SHA256:nope' is not a SHA256 fingerprint \(43 base64 characters after SHA256:/.test(e.message))
  })

  it('sha256FromText', () => {
    assert.equal(sha256FromText(` ${ed25519.sha256} `), ed25519.sha256)
    assert.equal(sha256FromText(`${ed25519.sha256}==`), null)
    assert.equal(sha256FromText(ed25519.md5), null)
  })
})

describe('what the ca commands print', () => {
  const authority = (patterns: string[], source = 'ca trust by alice from ca.pub'): TrustedAuthority => ({
    sha256: ed25519.sha256,
    type: ed25519.type,
    bits: ed25519.bits,
    blob: ed25519.blob,
    patterns,
    source,
    trustedAt: new Date('2026-03-01T10:00:00.123Z'),
  })

  it('known-hosts: one @cert-authority line, patterns joined with commas', () => {
    assert.equal(renderCertAuthorityLine(authority(['*.example.com', '!bad.example.com'])), `@cert-authority *.example.com,!bad.example.com ${bare(ed25519Line)}`)
  })

  it('ca trust: trusted, replaced, already trusted', () => {
    const a = authority(['*.example.com'])
    assert.equal(renderTrustedAuthority({ authorities: [a], added: [['*.example.com']], removed: [] }), `trusted ${ed25519.sha256} (ED25519 256) for *.example.com`)
    assert.equal(
      renderTrustedAuthority({ authorities: [a], added: [['*.example.com']], removed: [['web*'], ['db*']] }),
      `trusted ${ed25519.sha256} (ED25519 256) for *.example.com (instead of web* and db*)`,
    )
    assert.equal(
      renderTrustedAuthority({ authorities: [a, authority(['[*.example.com]:2222'])], added: [], removed: [] }),
      `already trusted ${ed25519.sha256} (ED25519 256) for *.example.com and for [*.example.com]:2222 (since 2026-03-01T10:00:00Z, ca trust by alice from ca.pub)`,
    )
  })

  it('ca list: an aligned table, control characters from an imported file escaped', () => {
    const lines = renderCertAuthoritiesText([authority(['*']), authority(['web\x1b[2J*'], '/etc/ssh/known_hosts')])
    assert.deepEqual(lines.map((l) => l.split(/ {2,}/)), [
      ['FINGERPRINT', 'TYPE', 'PATTERNS', 'TRUSTED', 'SOURCE'],
      [ed25519.sha256, 'ED25519 256', '*', '2026-03-01T10:00:00Z', 'ca trust by alice from ca.pub'],
      [ed25519.sha256, 'ED25519 256', 'web\\x1b[2J*', '2026-03-01T10:00:00Z', '/etc/ssh/known_hosts'],
    ])
    assert.equal(new Set(lines.map((l) => l.indexOf('ED25519') === -1 ? l.indexOf('TYPE') : l.indexOf('ED25519'))).size, 1, 'columns line up')
    assert.deepEqual(renderCertAuthoritiesText([]), [])
  })

  it('ca list --format json', () => {
    assert.deepEqual(JSON.parse(renderCertAuthoritiesJson([authority(['*'])])), {
      authorities: [{ sha256: ed25519.sha256, type: 'ssh-ed25519', bits: 256, patterns: ['*'], source: 'ca trust by alice from ca.pub', trustedAt: '2026-03-01T10:00:00.123Z' }],
    })
  })
})
