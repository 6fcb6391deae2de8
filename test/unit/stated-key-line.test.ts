import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parseOwnerStatement } from '../../src/app/key-statements.js'
import { UserError } from '../../src/domain/errors.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { hashHostName } from '../../src/domain/fingerprint/known-hosts-hash.js'
import { parseStatedKeyLine, StatedKeySyntaxError } from '../../src/domain/fingerprint/stated-key-line.js'

const FIXTURES = new URL('../fixtures/keys/', import.meta.url)
const pub = (file: string) => readFileSync(new URL(`${file}.pub`, FIXTURES), 'utf8').trim()
const keyOf = (file: string) => describeKey(Buffer.from(pub(file).split(' ')[1]!, 'base64'))
/** `ssh-keygen -l -E sha256|md5 -f fixture.pub` lines, made once with OpenSSH (fingerprints.golden). */
const golden = readFileSync(new URL('fingerprints.golden', FIXTURES), 'utf8').trim().split('\n')
const goldenLine = (comment: string, digest: 'SHA256' | 'MD5') => golden.find((l) => l.includes(` ${digest}:`) && l.includes(` ${comment} `))!

describe('ssh-keygen -l output lines', () => {
  const cases: [fixture: string, family: string, type: string][] = [
    ['ed25519', 'ed25519', 'ssh-ed25519'],
    ['ecdsa', 'ecdsa', 'ecdsa-sha2-nistp256'],
    ['ecdsa384', 'ecdsa', 'ecdsa-sha2-nistp384'],
    ['ecdsa521', 'ecdsa', 'ecdsa-sha2-nistp521'],
    ['rsa', 'rsa', 'ssh-rsa'],
    ['dsa', 'dsa', 'ssh-dss'],
  ]
  for (const [fixture, family, type] of cases) {
    it(`${fixture}: the SHA256 line gives family, type, bits and the SHA256 fingerprint ssh-keygen printed`, () => {
      const key = keyOf(fixture)
      const line = parseStatedKeyLine(goldenLine(`fixture-${fixture}`, 'SHA256'))!
      assert.equal(line.form, 'ssh-keygen -l')
      assert.deepEqual(line.key, { family, type, bits: key.bits, sha256: key.sha256, md5: null, blob: null, comment: `fixture-${fixture}` })
    })
    it(`${fixture}: the MD5 line gives only MD5`, () => {
      const key = keyOf(fixture)
      const line = parseStatedKeyLine(goldenLine(`fixture-${fixture}`, 'MD5'))!
      assert.deepEqual(line.key, { family, type, bits: key.bits, sha256: null, md5: key.md5, blob: null, comment: `fixture-${fixture}` })
    })
  }

  it('comments with spaces, no comment, a -CERT type, an upper-case MD5 and a padded SHA256', () => {
    const sha = keyOf('ed25519').sha256
    assert.equal(parseStatedKeyLine(`256 ${sha} root@web1 the old one (ED25519)`)!.key.comment, 'root@web1 the old one')
    assert.equal(parseStatedKeyLine(`256 ${sha} (ED25519)`)!.key.comment, null)
    assert.equal(parseStatedKeyLine(`256 ${sha} web1 (ED25519-CERT)`)!.key.type, 'ssh-ed25519')
    assert.equal(parseStatedKeyLine(`256 ${sha}= web1 (ED25519)`)!.key.sha256, sha)
    const md5 = keyOf('rsa').md5
    assert.equal(parseStatedKeyLine(`3072 ${md5.toUpperCase().replace('MD5:', 'MD5:')} x (RSA)`)!.key.md5, md5)
  })

  it('randomart lines of ssh-keygen -lv are skipped, as are blanks and comments', () => {
    for (const line of ['+--[ED25519 256]--+', '|      .o+=o.     |', '+----[SHA256]-----+', '+---[RSA 3072]----+', '', '   ', '# keys of web1']) {
      assert.equal(parseStatedKeyLine(line), null, line)
    }
  })

  const malformed: [line: string, why: RegExp][] = [
    ['256 SHA256:tooshort web1 (ED25519)', /is not a fingerprint/],
    ['256 MD5:aa:bb web1 (ED25519)', /is not a fingerprint/],
    ['256 SHA256:bXcMgQuA41lIvEtwoAquUzKUn47S4gB5XE6k4H8f5fg web1', /BITS FINGERPRINT COMMENT \(TYPE\)/],
    ['256 SHA256:bXcMgQuA41lIvEtwoAquUzKUn47S4gB5XE6k4H8f5fg web1 (ED448)', /not a key type ssh-keygen -l prints/],
    ['255 SHA256:HaAgtHtkgzjIUkb2b6PUe6tSpCDETa+H4H0CZQGqV6s web1 (ECDSA)', /ECDSA keys are 256, 384 or 521 bits/],
  ]
  for (const [line, why] of malformed) {
    it(`refuses '${line.slice(0, 50)}'`, () => assert.throws(() => parseStatedKeyLine(line), (e: unknown) => e instanceof StatedKeySyntaxError && why.test(e.message)))
  }
})

describe('.pub and known_hosts lines', () => {
  it('a .pub line gives the full key: both fingerprints and the blob', () => {
    const key = keyOf('ecdsa384')
    const line = parseStatedKeyLine(pub('ecdsa384'))!
    assert.equal(line.form, 'public key')
    assert.deepEqual(line.key, { family: 'ecdsa', type: key.type, bits: 384, sha256: key.sha256, md5: key.md5, blob: key.blob, comment: 'fixture-ecdsa384' })
  })

  it('known_hosts lines: plain, [host]:port and hashed, with their names', () => {
    const key = keyOf('ed25519')
    const [type, base64] = pub('ed25519').split(' ')
    const plain = parseStatedKeyLine(`web1.example.com,10.0.0.5 ${type} ${base64}`)!
    assert.equal(plain.form, 'known_hosts')
    assert.equal(plain.key.sha256, key.sha256)
    assert.deepEqual(plain.form === 'known_hosts' && plain.names, ['web1.example.com', '10.0.0.5'])
    const ported = parseStatedKeyLine(`[web1.example.com]:2222 ${type} ${base64}`)!
    assert.deepEqual(ported.form === 'known_hosts' && ported.names, ['[web1.example.com]:2222'])
    const hashed = parseStatedKeyLine(`${hashHostName('web1.example.com')} ${type} ${base64}`)!
    assert.ok(hashed.form === 'known_hosts' && hashed.hashed !== null && hashed.names.length === 0)
  })

  const refused: [line: string, why: RegExp][] = [
    [`@cert-authority *.example.com ${pub('ed25519')}`, /@cert-authority line names a CA/],
    [`@revoked * ${pub('ed25519')}`, /@revoked line names a key that must never be accepted/],
    [`@bogus * ${pub('ed25519')}`, /unknown marker/],
    ['ssh-ed25519 !!!notbase64', /not base64/],
    ['ssh-ed25519', /no key after its type/],
    [`ssh-rsa ${pub('ed25519').split(' ')[1]}`, /says ssh-rsa but the key is ssh-ed25519/],
    ['web1 just words', /none of the forms/],
  ]
  for (const [line, why] of refused) {
    it(`refuses '${line.slice(0, 40)}…'`, () => assert.throws(() => parseStatedKeyLine(line), (e: unknown) => e instanceof StatedKeySyntaxError && why.test(e.message)))
  }
})

describe('parseOwnerStatement', () => {
  it('keeps each key line with its FILE:LINE', () => {
    const input = parseOwnerStatement(`# web1\n${goldenLine('fixture-ed25519', 'SHA256')}\n\n${pub('rsa')}\n`, 'keys.txt')
    assert.deepEqual(input.lines.map((l) => l.where), ['keys.txt:2', 'keys.txt:4'])
  })

  it('a malformed line is a UserError naming FILE:LINE and the forms expected', () => {
    assert.throws(
      () => parseOwnerStatement(`${pub('rsa')}\n256 SHA256:short web1 (ED25519)\n`, 'keys.txt'),
      (e: unknown) => e instanceof UserError && /^keys\.txt:2: .*is not a fingerprint.*expected 'BITS SHA256:<base64> COMMENT \(TYPE\)'/.test(e.message),
    )
  })

  it('a refused marker line says why, without the list of forms', () => {
    assert.throws(
      () => parseOwnerStatement(`@revoked * ${pub('rsa')}`, 'stdin'),
      (e: unknown) => e instanceof UserError && /^stdin:1: an @revoked line/.test(e.message) && !/expected/.test(e.message),
    )
  })

  it('input without a key is a UserError', () => {
    assert.throws(() => parseOwnerStatement('# nothing\n\n', 'empty.txt'), /empty\.txt: no key in it; expected/)
  })
})
