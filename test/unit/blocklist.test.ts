import assert from 'node:assert/strict'
import { generateKeyPairSync, hash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { bigintFromBytes, bytesFromBigint } from '../../src/analysis/big-integer.js'
import {
  blocklistDigest,
  blocklistName,
  blocklistNumber,
  BlocklistError,
  openBlocklist,
} from '../../src/analysis/blocklist.js'
import type { HostKey } from '../../src/domain/host-key.js'
import { sshString, sshMagnitudeMpint } from '../../src/domain/ssh-wire.js'
import { blocklistBytes, writeBlocklistFile } from '../support/blocklist-file.js'
import { rsaPublicBlob } from '../support/rsa-from-primes.js'

type Key = Pick<HostKey, 'type' | 'blob'>
const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-blocklist-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const ed25519 = (raw: Buffer): Key => ({ type: 'ssh-ed25519', blob: Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]) })
function newEd25519(): Key {
  return ed25519(Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url'))
}
function newRsa(): { key: Key; n: bigint } {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
  const n = bigintFromBytes(Buffer.from(jwk.n!, 'base64url'))
  return { key: { type: 'ssh-rsa', blob: rsaPublicBlob(n) }, n }
}
function newEcdsa(): { key: Key; x: Buffer } {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
  const x = Buffer.from(jwk.x!, 'base64url')
  const point = Buffer.concat([Buffer.from([4]), x, Buffer.from(jwk.y!, 'base64url')])
  return { key: { type: 'ecdsa-sha2-nistp256', blob: Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]) }, x }
}

describe('blocklist digests (BKHASH)', () => {
  it("matches blocklistmaker's hashnumber for the RFC 8410 Ed25519 example key", () => {
    // badkeys tests/data/ed25519-rfc-example.key (RFC 8410 §10.1), a key on badkeys' "rfc" list.
    // Expected: blocklistmaker's hashnumber(int.from_bytes(raw, 'big'))[:30], computed with CPython 3
    // (badkeys publishes no digest example; its list itself cannot be downloaded here).
    const raw = Buffer.from('19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1', 'hex')
    assert.equal(blocklistDigest(ed25519(raw)).toString('hex'), 'e744c0791320c3285460eddb523f14')
  })

  it('hashes the minimal big-endian bytes of each key type’s number', () => {
    const rsa = newRsa()
    assert.deepEqual(blocklistNumber(rsa.key), bytesFromBigint(rsa.n), 'RSA n without the mpint zero byte')
    const ec = newEcdsa()
    assert.deepEqual(blocklistNumber(ec.key), bytesFromBigint(bigintFromBytes(ec.x)), 'ECDSA x')
    const leadingZero = Buffer.alloc(32, 7)
    leadingZero[0] = 0
    leadingZero[1] = 0
    assert.equal(blocklistNumber(ed25519(leadingZero)).length, 30, 'Ed25519 raw bytes as a number: leading zeros dropped')
    const mpint = (v: bigint) => sshMagnitudeMpint(bytesFromBigint(v))
    const dsa: Key = { type: 'ssh-dss', blob: Buffer.concat([sshString('ssh-dss'), mpint(23n), mpint(11n), mpint(4n), mpint(0x80ffn)]) }
    assert.deepEqual(blocklistNumber(dsa), Buffer.from([0x80, 0xff]), 'DSA y')
    assert.deepEqual(blocklistDigest(rsa.key), hash('sha256', bytesFromBigint(rsa.n), 'buffer').subarray(0, 15))
  })
})

describe('blocklist names', () => {
  const cases: [number, string][] = [
    [1, 'Debian OpenSSL 2008 (CVE-2008-0166)'],
    [4, 'documentation examples'],
    [5, 'keys shipped in firmware'],
    [9, 'RFC examples'],
    [42, 'list 42'],
  ]
  for (const [id, name] of cases) it(`id ${id}: ${name}`, () => assert.equal(blocklistName(id), name))
})

describe('Blocklist lookups', () => {
  const listed = [
    { key: newEd25519(), listId: 1 },
    { key: newRsa().key, listId: 4 },
    { key: newEcdsa().key, listId: 5 },
    { key: newEd25519(), listId: 42 },
  ]
  const unlisted = [newEd25519(), newRsa().key, newEcdsa().key]

  for (const filler of [0, 50, 20_000]) {
    it(`finds listed keys and only those, among ${filler} other records`, async () => {
      const file = path.join(dir, `list-${filler}.dat`)
      writeBlocklistFile(file, listed, filler)
      const blocklist = await openBlocklist(file)
      try {
        assert.equal(blocklist.records, listed.length + filler)
        for (const { key, listId } of listed) {
          const hit = await blocklist.lookup(key)
          assert.deepEqual(hit, { listId, list: blocklistName(listId), digest: blocklistDigest(key).toString('hex') })
        }
        for (const key of unlisted) assert.equal(await blocklist.lookup(key), null)
        assert.equal(await blocklist.lookupDigest(Buffer.alloc(15, 0)), null, 'below every record')
        assert.equal(await blocklist.lookupDigest(Buffer.alloc(15, 0xff)), null, 'above every record')
      } finally {
        await blocklist.close()
      }
    })
  }

  it('finds the first and the last record of a large file', async () => {
    const bytes = blocklistBytes(listed, 10_000)
    const file = path.join(dir, 'edges.dat')
    writeFileSync(file, bytes)
    const blocklist = await openBlocklist(file)
    try {
      for (const at of [0, bytes.length / 16 - 1]) {
        const hit = await blocklist.lookupDigest(bytes.subarray(at * 16, at * 16 + 15))
        assert.equal(hit?.listId, bytes[at * 16 + 15], `record ${at}`)
      }
    } finally {
      await blocklist.close()
    }
  })

  const invalid: { name: string; bytes: () => Buffer; message: RegExp }[] = [
    { name: 'a size that is not a multiple of 16', bytes: () => Buffer.concat([blocklistBytes(listed), Buffer.alloc(3)]), message: /not a multiple of 16/ },
    { name: 'an empty file', bytes: () => Buffer.alloc(0), message: /is empty/ },
    { name: 'records out of order across blocks', bytes: () => Buffer.from(blocklistBytes(listed, 20_000)).reverse(), message: /not sorted/ },
  ]
  for (const c of invalid) {
    it(`refuses ${c.name}, naming the file`, async () => {
      const file = path.join(dir, `bad-${c.name.replace(/\W+/g, '-')}.dat`)
      writeFileSync(file, c.bytes())
      await assert.rejects(openBlocklist(file), (e: unknown) => e instanceof BlocklistError && c.message.test(e.message) && e.message.includes(file))
    })
  }

  it('notices records out of order inside the block a lookup reads', async () => {
    const bytes = Buffer.from(blocklistBytes(listed, 100))
    // Swap two records inside the first block, leaving the sampled first record in place.
    const a = Buffer.from(bytes.subarray(16, 32))
    bytes.copy(bytes, 16, 32, 48)
    a.copy(bytes, 32)
    const file = path.join(dir, 'swapped.dat')
    writeFileSync(file, bytes)
    const blocklist = await openBlocklist(file)
    try {
      await assert.rejects(blocklist.lookupDigest(bytes.subarray(0, 15)), (e: unknown) => e instanceof BlocklistError && /not sorted/.test(e.message) && e.message.includes(file))
    } finally {
      await blocklist.close()
    }
  })

  it('refuses a missing file with its name', async () => {
    const file = path.join(dir, 'missing.dat')
    await assert.rejects(openBlocklist(file), (e: unknown) => e instanceof BlocklistError && e.message.includes(file))
  })
})
