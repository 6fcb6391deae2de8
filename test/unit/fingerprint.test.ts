import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { describeKey, KeyBlobError, readKeyTypeAndBits } from '../../src/domain/fingerprint/key-blob.js'

const FIXTURES = new URL('../fixtures/keys/', import.meta.url)

/** `bits FINGERPRINT comment (TYPE)` lines, made once with `ssh-keygen -l -E sha256|md5 -f KEY.pub`. */
const golden = new Map<string, { bits: number; sha256?: string; md5?: string }>()
for (const line of readFileSync(new URL('fingerprints.golden', FIXTURES), 'utf8').trim().split('\n')) {
  const [bits, fingerprint, comment] = line.split(' ')
  const entry = golden.get(comment!) ?? { bits: Number(bits) }
  if (fingerprint!.startsWith('SHA256:')) entry.sha256 = fingerprint!
  else entry.md5 = fingerprint!
  golden.set(comment!, entry)
}

const cases: [file: string, type: string, family: string][] = [
  ['ed25519', 'ssh-ed25519', 'ed25519'],
  ['ecdsa', 'ecdsa-sha2-nistp256', 'ecdsa'],
  ['ecdsa384', 'ecdsa-sha2-nistp384', 'ecdsa'],
  ['ecdsa521', 'ecdsa-sha2-nistp521', 'ecdsa'],
  ['rsa', 'ssh-rsa', 'rsa'],
  ['rsa1024', 'ssh-rsa', 'rsa'],
  ['dsa', 'ssh-dss', 'dsa'],
]

function blobOf(file: string): Buffer {
  const line = readFileSync(new URL(`${file}.pub`, FIXTURES), 'utf8')
  return Buffer.from(line.split(' ')[1]!, 'base64')
}

describe('describeKey against ssh-keygen -l', () => {
  for (const [file, type, family] of cases) {
    it(`${file}: type, bits, SHA256 and MD5 as ssh-keygen prints them`, () => {
      const expected = golden.get(`fixture-${file}`)!
      const key = describeKey(blobOf(file))
      assert.equal(key.type, type)
      assert.equal(key.family, family)
      assert.equal(key.bits, expected.bits)
      assert.equal(key.sha256, expected.sha256)
      assert.equal(key.md5, expected.md5)
      assert.equal(Buffer.from(key.sha256Hex, 'hex').toString('base64').replace(/=+$/, ''), key.sha256.slice(7))
      assert.match(key.sha1Hex, /^[0-9a-f]{40}$/)
    })
  }
})

describe('malformed key blobs', () => {
  const ed25519 = blobOf('ed25519')
  const bad: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /^key blob: key type: truncated: needs 4 bytes, 0 left$/],
    ['truncated', ed25519.subarray(0, ed25519.length - 1), /^key blob: ed25519 public key: string length 32 exceeds the 31 bytes left$/],
    ['trailing bytes', Buffer.concat([ed25519, Buffer.from([0])]), /^ssh-ed25519 key blob has 1 trailing bytes$/],
    ['huge length prefix', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x61]), /^key blob: key type: string length 4294967295 exceeds the 1 bytes left$/],
    ['unknown type', Buffer.from('\x00\x00\x00\x0bssh-unknown\x00\x00\x00\x00', 'latin1'), /unsupported key type 'ssh-unknown'/],
    ['ecdsa curve mismatch', Buffer.from('\x00\x00\x00\x13ecdsa-sha2-nistp256\x00\x00\x00\x08nistp384\x00\x00\x00\x00', 'latin1'), /names curve 'nistp384'/],
  ]
  for (const [name, blob, message] of bad) {
    it(`refuses a blob that is ${name}`, () => {
      assert.throws(() => readKeyTypeAndBits(blob), (e: Error) => e instanceof KeyBlobError && message.test(e.message))
    })
  }
})
