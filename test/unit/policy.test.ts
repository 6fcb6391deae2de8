import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parsePolicy, policyDeviations, policyFindings, PolicyError, type AlgorithmPolicy } from '../../src/analysis/policy.js'
import { MAX_POLICY_BYTES, readPolicyFile } from '../../src/app/read-policy.js'
import { UserError } from '../../src/domain/errors.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { OfferedAlgorithms } from '../../src/domain/observation.js'
import { readHostKeyBlob } from '../../src/domain/fingerprint/host-key-blob.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { makeCa, signHostKey } from '../support/ssh-ca.js'
import { OPENSSH_92_DEFAULT, OPENSSH_92_HARDENED } from '../support/kexinit-fixtures.js'

/* The policy file: its parser (every directive, every error with FILE:LINE) and its verdict on
 * KEXINITs and host keys read from real OpenSSH 9.2 servers. */

const EXAMPLE = fileURLToPath(new URL('../../docs/policy.example', import.meta.url))
const keyFile = (name: string) => fileURLToPath(new URL(`../fixtures/keys/${name}.pub`, import.meta.url))
const keyOf = (name: string): HostKey => describeKey(Buffer.from(readFileSync(keyFile(name), 'utf8').split(' ')[1]!, 'base64'))
const ed25519 = keyOf('ed25519')
const rsa3072 = keyOf('rsa')
const rsa1024 = keyOf('rsa1024')
const ecdsa256 = keyOf('ecdsa')

const parse = (text: string) => parsePolicy(text, 'p.conf')
const both = (names: readonly string[]) => ({ clientToServer: names, serverToClient: names })
function offered(lists: { kex?: string[]; hostkey?: string[]; ciphers?: string[]; macs?: string[]; compression?: string[] }): OfferedAlgorithms {
  return {
    kex: lists.kex ?? ['curve25519-sha256'],
    serverHostKey: lists.hostkey ?? ['ssh-ed25519'],
    ciphers: both(lists.ciphers ?? ['aes128-ctr']),
    macs: both(lists.macs ?? ['hmac-sha2-256']),
    compression: both(lists.compression ?? ['none']),
  }
}

describe('policy parser', () => {
  it('reads every list with every verb, and min-bits for every family', () => {
    const lines = ['kex', 'hostkey', 'ciphers', 'macs', 'compression'].flatMap((list) => [`${list} allow ${list}-a ${list}-b`, `${list} require ${list}-a`, `${list} forbid ${list}-c`])
    const families = ['rsa', 'dsa', 'ecdsa', 'ed25519', 'ecdsa-sk', 'ed25519-sk']
    const policy = parse([...lines, ...families.map((f, i) => `min-bits ${f} ${1000 + i}`)].join('\n'))
    for (const list of ['kex', 'hostkey', 'ciphers', 'macs', 'compression'] as const) {
      assert.deepEqual(policy.lists[list], { allow: [`${list}-a`, `${list}-b`], require: [`${list}-a`], forbid: [`${list}-c`] })
    }
    assert.deepEqual(policy.minBits, { rsa: 1000, dsa: 1001, ecdsa: 1002, ed25519: 1003, 'ecdsa-sk': 1004, 'ed25519-sk': 1005 })
    assert.equal(policy.source, 'p.conf')
  })

  it('skips comments and blank lines, splits names on spaces and commas, takes CRLF and a BOM, and keywords in any case', () => {
    const policy = parse('\ufeff# a comment\r\n\r\n  Ciphers ALLOW aes256-gcm@openssh.com,aes128-ctr   chacha20-poly1305@openssh.com # trailing\r\nMIN-BITS RSA 3072\r\n')
    assert.deepEqual(policy.lists.ciphers.allow, ['aes256-gcm@openssh.com', 'aes128-ctr', 'chacha20-poly1305@openssh.com'])
    assert.deepEqual(policy.minBits, { rsa: 3072 })
  })

  it('leaves a list without rules open: allow null, nothing required or forbidden', () => {
    assert.deepEqual(parse('min-bits rsa 2048').lists.kex, { allow: null, require: [], forbid: [] })
  })

  it('is frozen all the way down', () => {
    const policy = parse('kex allow a\nmin-bits rsa 2048')
    for (const value of [policy, policy.lists, policy.lists.kex, policy.lists.kex.allow, policy.minBits]) assert.ok(Object.isFrozen(value))
  })

  const errors: [string, string, RegExp][] = [
    ['an unknown list', 'kex allow a\ncipher allow aes128-ctr', /^p\.conf:2: 'cipher' is not a directive: expected kex, hostkey, ciphers, macs, compression or min-bits \(did you mean 'ciphers'\?\)$/],
    ['an sshd_config keyword', 'KexAlgorithms curve25519-sha256', /^p\.conf:1: 'KexAlgorithms' is not a directive: .* \(did you mean 'kex'\?\)$/],
    ['RequiredRSASize', 'RequiredRSASize 3072', /did you mean 'min-bits rsa'\?/],
    ['a word that is nothing', 'frobnicate', /^p\.conf:1: 'frobnicate' is not a directive: expected kex, hostkey, ciphers, macs, compression or min-bits$/],
    ['no verb', '# policy\n\nkex', /^p\.conf:3: expected allow, require, forbid after 'kex', found nothing$/],
    ['an unknown verb', 'macs permit hmac-sha2-256', /^p\.conf:1: expected allow, require, forbid after 'macs', found 'permit'$/],
    ['an empty list', 'kex allow', /^p\.conf:1: 'kex allow' needs at least one algorithm name or pattern$/],
    ['a list of commas', 'kex require , ,', /^p\.conf:1: 'kex require' needs at least one algorithm name or pattern$/],
    ['a directive given twice', 'kex allow a\n# more\nkex allow b', /^p\.conf:3: 'kex allow' was given already at line 1: put every name of it on one line$/],
    ['a name twice', 'ciphers forbid aes128-cbc 3des-cbc aes128-cbc', /^p\.conf:1: 'aes128-cbc' is listed twice in 'ciphers forbid'$/],
    ['a name longer than 64 characters', `kex allow ${'x'.repeat(65)}`, /^p\.conf:1: 'x{65}' is not an algorithm name: longer than 64 characters \(RFC 4251 §6\)$/],
    ['a control character in a name', 'kex allow curve\x1b[31m', /^p\.conf:1: 'curve\\x1b\[31m' is not an algorithm name: expected printable US-ASCII/],
    ['a non-ASCII name', 'kex allow curvé', /is not an algorithm name: expected printable US-ASCII/],
    ['min-bits without bits', 'min-bits rsa', /^p\.conf:1: expected 'min-bits FAMILY BITS', e\.g\. 'min-bits rsa 3072' \(found 1 word\(s\) after min-bits\)$/],
    ['min-bits with too much', 'min-bits rsa 3072 4096', /found 3 word\(s\)/],
    ['min-bits of a key type, not a family', 'min-bits ssh-rsa 3072', /^p\.conf:1: expected a key family \(ed25519, ecdsa, rsa, dsa, ed25519-sk, ecdsa-sk\) after min-bits, found 'ssh-rsa'$/],
    ['min-bits of no number', 'min-bits rsa lots', /^p\.conf:1: expected a number of bits from 1 to 16384 after 'min-bits rsa', found 'lots'$/],
    ['min-bits of zero', 'min-bits rsa 0', /from 1 to 16384 .* found '0'$/],
    ['min-bits too large', 'min-bits rsa 65536', /found '65536'$/],
    ['min-bits with a fraction', 'min-bits ecdsa 384.5', /found '384\.5'$/],
    ['min-bits twice', 'min-bits rsa 2048\nmin-bits RSA 3072', /^p\.conf:2: 'min-bits rsa' was given already at line 1$/],
    ['nothing but comments', '# nothing\n\n   # here\n', /^p\.conf: no directive: a policy needs at least one/],
    ['an empty file', '', /^p\.conf: no directive/],
    ['a required name the allow list refuses', 'kex allow curve25519-sha256\nkex require sntrup761x25519-sha512@openssh.com', /^p\.conf:2: 'sntrup761x25519-sha512@openssh\.com' is required, but 'kex allow' \(line 1\) does not allow it$/],
    ['a required name forbidden by a pattern', 'ciphers forbid *-cbc\nciphers require aes256-cbc', /^p\.conf:2: 'aes256-cbc' is required, but 'ciphers forbid' \(line 1\) forbids '\*-cbc'$/],
    ['a name allowed and forbidden', 'macs allow hmac-sha1 hmac-sha2-256\nmacs forbid hmac-sha1', /^p\.conf:2: 'hmac-sha1' is both allowed \(line 1\) and forbidden$/],
  ]
  for (const [name, text, expected] of errors) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parse(text),
        (e: unknown) => {
          assert.ok(e instanceof PolicyError && e instanceof UserError, String(e))
          assert.match(e.message, expected)
          return true
        },
      )
    })
  }

  it('allows a required marker whatever the allow list says, and a required pattern the allow list covers', () => {
    const policy = parse('kex allow curve25519-sha256\nkex require kex-strict-s-v00@openssh.com\nmacs allow *-etm@openssh.com\nmacs require hmac-sha2-*-etm@openssh.com')
    assert.deepEqual(policy.lists.kex.require, ['kex-strict-s-v00@openssh.com'])
  })

  it('names the file as given, escaped', () => {
    assert.throws(() => parsePolicy('bad', 'pol\x07icy'), (e: unknown) => e instanceof PolicyError && /^pol\\x07icy:1: 'bad'/.test(e.message))
  })

  it('reads docs/policy.example', () => {
    const policy = parsePolicy(readFileSync(EXAMPLE, 'utf8'), EXAMPLE)
    assert.ok(policy.lists.kex.allow?.includes('sntrup761x25519-sha512@openssh.com'))
    assert.deepEqual(policy.lists.kex.require, ['sntrup761x25519-sha512@openssh.com', 'kex-strict-s-v00@openssh.com'])
    assert.deepEqual(policy.minBits, { rsa: 3072 })
  })
})

describe('readPolicyFile', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-policy-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('reads and parses a file, errors naming it with the line', async () => {
    const file = path.join(dir, 'ok.conf')
    writeFileSync(file, 'kex allow curve25519-sha256\n')
    assert.deepEqual((await readPolicyFile(file)).lists.kex.allow, ['curve25519-sha256'])
    writeFileSync(file, 'kex allow curve25519-sha256\nkex allow x\n')
    await assert.rejects(readPolicyFile(file), (e: unknown) => e instanceof PolicyError && e.message.startsWith(`${file}:2: `))
  })

  it('says a missing file is missing, and refuses a directory and a file too large to be a policy', async () => {
    await assert.rejects(readPolicyFile(path.join(dir, 'absent.conf')), (e: unknown) => e instanceof PolicyError && /^cannot read policy file .*absent\.conf: no such file$/.test(e.message))
    await assert.rejects(readPolicyFile(dir), (e: unknown) => e instanceof PolicyError && /^cannot read policy file .*: EISDIR/.test(e.message))
    const big = path.join(dir, 'big.conf')
    writeFileSync(big, `${'# filler\n'.repeat(Math.ceil(MAX_POLICY_BYTES / 9))}kex allow a\n`)
    await assert.rejects(readPolicyFile(big), /larger than 1048576 bytes: not a policy/)
  })
})

describe('policy verdict', () => {
  const example = () => parsePolicy(readFileSync(EXAMPLE, 'utf8'), 'policy.example')

  it('a default Debian 12 sshd with a 2048-bit RSA key breaks the ssh-audit policy: one finding saying what to change', () => {
    const rsa2048 = { type: 'ssh-rsa', family: 'rsa', bits: 2048 } as const
    const findings = policyFindings('web1', OPENSSH_92_DEFAULT, [ed25519, rsa2048, ecdsa256], example())
    assert.equal(findings.length, 1)
    const [f] = findings
    assert.equal(f!.kind, 'policy_violation')
    assert.equal(f!.severity, 'warning')
    assert.deepEqual(f!.hosts, ['web1'])
    assert.equal(f!.message,
      'web1 does not meet the policy in policy.example: ' +
        'it offers ecdh-sha2-nistp256, ecdh-sha2-nistp384, ecdh-sha2-nistp521, diffie-hellman-group14-sha256 (not allowed): remove them from KexAlgorithms in sshd_config; ' +
        'it offers ecdsa-sha2-nistp256 (not allowed): remove it from HostKeyAlgorithms in sshd_config; ' +
        'it offers umac-64-etm@openssh.com, hmac-sha1-etm@openssh.com, umac-64@openssh.com, umac-128@openssh.com, hmac-sha2-256, hmac-sha2-512, hmac-sha1 (not allowed): remove them from MACs in sshd_config; ' +
        "its ssh-rsa host key has 2048 bits, under the policy's 3072 for rsa: make a new one (ssh-keygen -t rsa -b 3072 -f /etc/ssh/ssh_host_rsa_key) or remove its HostKey line.")
  })

  it('the same sshd configured as the policy says (as a real one sends it) meets it', () => {
    assert.deepEqual(policyFindings('web1', OPENSSH_92_HARDENED, [ed25519, rsa3072], example()), [])
  })

  const verdicts: [string, string, OfferedAlgorithms, RegExp | null][] = [
    ['markers are never outside an allow list', 'kex allow curve25519-sha256', offered({ kex: ['curve25519-sha256', 'ext-info-s', 'ext-info-c', 'kex-strict-s-v00@openssh.com', 'kex-strict-s@openssh.com'] }), null],
    ['a pattern never forbids a marker', 'kex forbid *@openssh.com', offered({ kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'] }), null],
    ['the same pattern forbids a method', 'kex forbid *@openssh.com', offered({ kex: ['sntrup761x25519-sha512@openssh.com', 'kex-strict-s-v00@openssh.com'] }), /it offers sntrup761x25519-sha512@openssh\.com \(forbidden\): remove it from KexAlgorithms/],
    ['a marker named exactly can be forbidden', 'kex forbid ext-info-s', offered({ kex: ['curve25519-sha256', 'ext-info-s'] }), /it offers ext-info-s \(forbidden\)/],
    ['a required marker missing: update, not configure', 'kex require kex-strict-s-v00@openssh.com', offered({ kex: ['curve25519-sha256'] }), /lacks the required marker kex-strict-s-v00@openssh\.com, which the server's software sends by itself: update OpenSSH/],
    ['a required name missing', 'kex require sntrup761x25519-sha512@openssh.com curve25519-sha256', offered({ kex: ['curve25519-sha256'] }), /it lacks sntrup761x25519-sha512@openssh\.com \(required\): add it to KexAlgorithms in sshd_config\.$/],
    ['a required host key algorithm missing', 'hostkey require ssh-ed25519', offered({ hostkey: ['rsa-sha2-512'] }), /add it to HostKeyAlgorithms \(with a HostKey of that type\)/],
    ['a required pattern met by any match', 'macs require *-etm@openssh.com', offered({ macs: ['hmac-sha2-256', 'hmac-sha2-512-etm@openssh.com'] }), null],
    ['a required pattern nothing matches', 'macs require *-etm@openssh.com', offered({ macs: ['hmac-sha2-256'] }), /it lacks one matching \*-etm@openssh\.com \(required\): add it to MACs/],
    ['an allow pattern', 'macs allow *-etm@openssh.com', offered({ macs: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-256', 'umac-128-etm@openssh.com'] }), /: it offers hmac-sha2-256 \(not allowed\): remove it from MACs in sshd_config\.$/],
    ['? matches one character', 'ciphers allow aes???-ctr', offered({ ciphers: ['aes128-ctr', 'aes256-ctr', 'aes1-ctr'] }), /it offers aes1-ctr \(not allowed\)/],
    ['a dot in a pattern is a dot', 'kex allow curve25519-sha256@libssh.org', offered({ kex: ['curve25519-sha256@libsshXorg'] }), /it offers curve25519-sha256@libsshXorg \(not allowed\)/],
    ['names are case-sensitive (RFC 4251 §6)', 'ciphers allow AES128-CTR', offered({ ciphers: ['aes128-ctr'] }), /it offers aes128-ctr \(not allowed\)/],
    ['forbidden wins over not allowed: said once', 'ciphers allow aes128-ctr\nciphers forbid *-cbc', offered({ ciphers: ['aes128-ctr', '3des-cbc'] }), /: it offers 3des-cbc \(forbidden\): remove it from Ciphers in sshd_config\.$/],
    ['compression: set Compression no', 'compression allow none', offered({ compression: ['none', 'zlib@openssh.com'] }), /it offers compression zlib@openssh\.com \(not allowed\): set Compression no in sshd_config/],
    ['compression required', 'compression require zlib@openssh.com', offered({ compression: ['none'] }), /it lacks compression zlib@openssh\.com \(required\): change Compression/],
  ]
  for (const [name, text, lists, expected] of verdicts) {
    it(name, () => {
      const findings = policyFindings('web1', lists, [], parse(text))
      if (expected === null) assert.deepEqual(findings, [])
      else {
        assert.equal(findings.length, 1, `expected one finding for ${name}`)
        assert.match(findings[0]!.message, expected)
      }
    })
  }

  it('judges ciphers, MACs and compression in both directions', () => {
    const lists: OfferedAlgorithms = { ...offered({}), ciphers: { clientToServer: ['aes128-ctr', 'aes128-cbc'], serverToClient: ['aes128-ctr'] } }
    assert.deepEqual(policyDeviations(lists, [], parse('ciphers allow aes128-ctr')).lists, [{ list: 'ciphers', notAllowed: ['aes128-cbc'], forbidden: [], missing: [] }])
  })

  it('min-bits: every key of the family under the minimum, none above, other families untouched', () => {
    const policy = parse('min-bits rsa 3072\nmin-bits ecdsa 384')
    const deviations = policyDeviations(offered({}), [ed25519, rsa3072, rsa1024, ecdsa256, keyOf('ecdsa384')], policy)
    assert.deepEqual(deviations.smallKeys, [
      { type: 'ssh-rsa', family: 'rsa', bits: 1024, minimum: 3072 },
      { type: 'ecdsa-sha2-nistp256', family: 'ecdsa', bits: 256, minimum: 384 },
    ])
    const [f] = policyFindings('web1', offered({}), [ecdsa256], policy)
    assert.match(f!.message, /its ecdsa-sha2-nistp256 host key has 256 bits, under the policy's 384 for ecdsa: make a new one \(ssh-keygen -t ecdsa -b 384 -f \/etc\/ssh\/ssh_host_ecdsa_key\)/)
    const [dsa] = policyFindings('web1', offered({}), [keyOf('dsa')], parse('min-bits dsa 2048'))
    assert.match(dsa!.message, /its ssh-dss host key has 1024 bits, under the policy's 2048 for dsa: remove its HostKey line from sshd_config\.$/)
  })

  describe('host certificates', () => {
    let dir: string
    let certified: (name: string) => HostKey
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-policy-cert-'))
      const ca = makeCa(dir, 'ed25519')
      certified = (name) => {
        const pub = path.join(dir, `${name}.pub`)
        copyFileSync(keyFile(name), pub)
        return readHostKeyBlob(signHostKey(ca, pub, { id: name, principals: ['web1'] }).blob)
      }
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('a certified key is judged by the bits of the key it certifies, its -cert- algorithm by the host key list', () => {
      const small = certified('rsa1024')
      const large = certified('rsa')
      assert.ok(small.certificate && large.certificate, 'the blobs are certificates')
      const policy = parse('hostkey allow ssh-ed25519 rsa-sha2-512 *-cert-v01@openssh.com\nmin-bits rsa 3072')
      const lists = offered({ hostkey: ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-512'] })
      assert.deepEqual(policyFindings('web1', lists, [large], policy), [])
      const [f] = policyFindings('web1', lists, [small], policy)
      assert.match(f!.message, /its ssh-rsa host key has 1024 bits, under the policy's 3072 for rsa/)
      const [g] = policyFindings('web1', offered({ hostkey: ['ssh-rsa-cert-v01@openssh.com'] }), [large], parse('hostkey allow ssh-ed25519* rsa-sha2-*'))
      assert.match(g!.message, /it offers ssh-rsa-cert-v01@openssh\.com \(not allowed\)/)
    })
  })

  it('one policy judges many hosts without being changed', () => {
    const policy: AlgorithmPolicy = parse('macs allow *-etm@openssh.com')
    for (let i = 0; i < 3; i++) assert.equal(policyFindings(`web${i}`, OPENSSH_92_DEFAULT, [], policy).length, 1)
    assert.deepEqual(policy.lists.macs.allow, ['*-etm@openssh.com'])
  })
})
