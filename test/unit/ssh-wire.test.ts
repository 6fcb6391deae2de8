import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  bigintFromMagnitude,
  sshBoolean,
  sshByte,
  sshMagnitudeMpint,
  sshMpint,
  sshNameList,
  SshReader,
  sshString,
  sshUint32,
  sshUint64,
  SshWireError,
} from '../../src/domain/ssh-wire.js'

/* The one reader and writer of RFC 4251 §5 data: every read bounded by what is left, every error
 * naming the structure and the field. */

const hex = (text: string) => Buffer.from(text.replace(/ /g, ''), 'hex')
const reader = (bytes: Buffer) => new SshReader(bytes, 'test')

/** Reads one value with `read`, expecting it to end exactly at the end of `bytes`. */
function readAll<T>(bytes: Buffer, read: (r: SshReader) => T): T {
  const r = reader(bytes)
  const value = read(r)
  r.expectEnd()
  return value
}

describe('SshReader: fixed-size values', () => {
  const table: [string, Buffer, (r: SshReader) => unknown, unknown][] = [
    ['byte', hex('ff'), (r) => r.byte('b'), 255],
    ['boolean 0 is FALSE', hex('00'), (r) => r.boolean('b'), false],
    ['boolean 1 is TRUE', hex('01'), (r) => r.boolean('b'), true],
    ['boolean: any non-zero value is TRUE (RFC 4251 §5)', hex('80'), (r) => r.boolean('b'), true],
    ['uint32', hex('29b7f4aa'), (r) => r.uint32('u'), 0x29b7f4aa],
    ['uint32 max', hex('ffffffff'), (r) => r.uint32('u'), 0xffffffff],
    ['uint64', hex('0102030405060708'), (r) => r.uint64('u'), 0x0102030405060708n],
    ['uint64 max', hex('ffffffffffffffff'), (r) => r.uint64('u'), 0xffffffffffffffffn],
    ['byte[3]', hex('616263'), (r) => r.fixedBytes('f', 3).toString(), 'abc'],
  ]
  for (const [name, bytes, read, expected] of table) {
    it(name, () => assert.deepEqual(readAll(bytes, read), expected))
  }

  const truncated: [string, Buffer, (r: SshReader) => unknown, string][] = [
    ['byte of nothing', hex(''), (r) => r.byte('flags'), 'test: flags: truncated: needs 1 byte, 0 left'],
    ['boolean of nothing', hex(''), (r) => r.boolean('first_kex_packet_follows'), 'test: first_kex_packet_follows: truncated: needs 1 byte, 0 left'],
    ['uint32 of 3 bytes', hex('000000'), (r) => r.uint32('reserved'), 'test: reserved: truncated: needs 4 bytes, 3 left'],
    ['uint64 of 7 bytes', hex('00000000000000'), (r) => r.uint64('serial'), 'test: serial: truncated: needs 8 bytes, 7 left'],
    ['byte[16] of 15', Buffer.alloc(15), (r) => r.fixedBytes('cookie', 16), 'test: cookie: truncated: needs 16 bytes, 15 left'],
  ]
  for (const [name, bytes, read, message] of truncated) {
    it(`refuses ${name}, naming the field`, () => assert.throws(() => read(reader(bytes)), { name: 'SshWireError', message }))
  }
})

describe('SshReader: strings', () => {
  it('reads a string, an empty one, and one that ends exactly at the end', () => {
    const r = reader(Buffer.concat([sshString('testing'), sshString(''), sshString('x')]))
    assert.equal(r.string('a').toString(), 'testing')
    assert.equal(r.string('b').length, 0)
    assert.equal(r.string('c').toString(), 'x')
    assert.ok(r.atEnd())
  })

  const bad: [string, Buffer, number | undefined, string][] = [
    ['a length of 4294967295', hex('ffffffff 61'), undefined, 'test: host key: string length 4294967295 exceeds the 1 bytes left'],
    ['a length one past the end', hex('00000004 616263'), undefined, 'test: host key: string length 4 exceeds the 3 bytes left'],
    ['a length with nothing after it', hex('00000001'), undefined, 'test: host key: string length 1 exceeds the 0 bytes left'],
    ['a cut length field', hex('0000'), undefined, 'test: host key: truncated: needs 4 bytes, 2 left'],
    ['a string over the caller\'s bound', sshString('abcde'), 4, 'test: host key: string of 5 bytes, more than 4'],
  ]
  for (const [name, bytes, maxBytes, message] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => reader(bytes).string('host key', maxBytes), { name: 'SshWireError', message }))
  }

  it('accepts a string exactly at the caller\'s bound', () => assert.equal(reader(sshString('abcd')).string('s', 4).length, 4))

  it('throws the caller\'s error class', () => {
    class BlobError extends Error {}
    assert.throws(() => new SshReader(hex('ff'), 'key blob', { error: BlobError }).string('key type'), (e: Error) => e instanceof BlobError && e.message === 'key blob: key type: truncated: needs 4 bytes, 1 left')
  })

  it('starts where it is told, and counts what it has read', () => {
    const r = new SshReader(Buffer.concat([hex('1f'), sshString('ab'), hex('00')]), 'message', { start: 1 })
    assert.equal(r.string('s').toString(), 'ab')
    assert.equal(r.position, 7)
    assert.equal(r.remaining, 1)
    assert.throws(() => r.expectEnd(), { message: 'message has 1 trailing bytes' })
  })
})

describe('SshReader: a read that throws leaves the reader where it was', () => {
  const table: [string, Buffer, (r: SshReader) => unknown][] = [
    ['a cut uint32', hex('0000'), (r) => r.uint32('u')],
    ['a string past the end', hex('00000009 00'), (r) => r.string('s')],
    ['a string over its bound', sshString('abc'), (r) => r.string('s', 2)],
    ['a negative mpint', hex('00000001 80'), (r) => r.unsignedMpint('m')],
    ['an mpint over its bound', hex('00000002 0102'), (r) => r.unsignedMpint('m', 1)],
    ['a name-list with an empty name', sshString('a,,b'), (r) => r.nameList('l')],
  ]
  for (const [name, bytes, read] of table) {
    it(name, () => {
      const r = new SshReader(Buffer.concat([hex('aa'), bytes]), 'test', { start: 1 })
      assert.throws(() => read(r), SshWireError)
      assert.equal(r.position, 1)
    })
  }
})

describe('SshReader: nested blobs', () => {
  const inner = Buffer.concat([sshString('a'), hex('0000000a'), Buffer.from('bc')])
  const outer = Buffer.concat([sshString(inner), sshString('after')])

  it('names the path to the field in errors', () => {
    const r = new SshReader(outer, 'certificate')
    const principals = r.nested('valid principals')
    assert.equal(principals.string('principal 1').toString(), 'a')
    assert.throws(() => principals.string('principal 2'), { message: 'certificate: valid principals: principal 2: string length 10 exceeds the 2 bytes left' })
    assert.throws(() => principals.expectEnd(), { message: 'certificate: valid principals has 6 trailing bytes' }, 'a failed read leaves the reader where it was')
  })

  it('never reads past its own string into the rest of the outer structure', () => {
    const r = reader(Buffer.concat([sshString(hex('000000')), sshString('more')]))
    assert.throws(() => r.nested('blob').uint32('n'), { message: 'test: blob: n: truncated: needs 4 bytes, 3 left' })
    assert.equal(r.string('next').toString(), 'more', 'the outer reader goes on after the nested string')
  })

  it('keeps the caller\'s error class', () => {
    class BlobError extends Error {}
    assert.throws(() => new SshReader(sshString(''), 'x', { error: BlobError }).nested('inner').byte('b'), BlobError)
  })
})

describe('mpint: RFC 4251 §5 examples, both ways', () => {
  const table: [bigint, string][] = [
    [0n, '00000000'],
    [0x9a378f9b2e332a7n, '00000008 09a378f9b2e332a7'],
    [0x80n, '00000002 0080'],
    [-0x1234n, '00000002 edcc'],
    [-0xdeadbeefn, '00000005 ff21524111'],
    [0x7fn, '00000001 7f'],
    [-1n, '00000001 ff'],
    [-0x80n, '00000001 80'],
    [-0x81n, '00000002 ff7f'],
    [0xffn, '00000002 00ff'],
  ]
  for (const [value, wire] of table) {
    it(`${value}`, () => {
      assert.equal(sshMpint(value).toString('hex'), hex(wire).toString('hex'))
      assert.equal(readAll(hex(wire), (r) => r.mpint('x')), value)
    })
  }
})

describe('unsignedMpint: the sign rules', () => {
  const table: [string, string, number | undefined, string | RegExp][] = [
    ['zero is the empty string', '00000000', undefined, ''],
    ['a 0x00 sign byte before a high bit is dropped', '00000002 0080', undefined, '80'],
    ['needless leading zeros are dropped (OpenSSH accepts them in keys)', '00000003 000001', undefined, '01'],
    ['a high bit without a sign byte is negative', '00000001 80', undefined, /^test: rsa n: negative mpint$/],
    ['-1', '00000001 ff', undefined, /^test: rsa n: negative mpint$/],
    ['a magnitude of maxBytes with its sign byte fits', '00000003 00ffff', 2, 'ffff'],
    ['a magnitude of maxBytes + 1 does not', '00000003 01ffff', 2, /^test: rsa n: mpint longer than 2 bytes$/],
    ['a string longer than maxBytes + 1 is refused before it is looked at', '00000004 00000001', 2, /^test: rsa n: string of 4 bytes, more than 3$/],
    ['a length past the end', '00000100 01', undefined, /^test: rsa n: string length 256 exceeds the 1 bytes left$/],
  ]
  for (const [name, wire, maxBytes, expected] of table) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => reader(hex(wire)).unsignedMpint('rsa n', maxBytes), { name: 'SshWireError', message: expected })
      else assert.equal(readAll(hex(wire), (r) => r.unsignedMpint('rsa n', maxBytes)).toString('hex'), expected)
    })
  }

  it('sshMagnitudeMpint writes what unsignedMpint reads, minimally', () => {
    const table: [string, string][] = [
      ['', '00000000'],
      ['0000', '00000000'],
      ['01', '00000001 01'],
      ['80', '00000002 0080'],
      ['000080', '00000002 0080'],
      ['7fff', '00000002 7fff'],
    ]
    for (const [magnitude, wire] of table) {
      assert.equal(sshMagnitudeMpint(hex(magnitude)).toString('hex'), hex(wire).toString('hex'), magnitude)
      assert.equal(bigintFromMagnitude(reader(hex(wire)).unsignedMpint('m')), bigintFromMagnitude(hex(magnitude)))
    }
  })
})

describe('nameList', () => {
  const table: [string, string, string[] | RegExp][] = [
    ['the empty list', '', []],
    ['one name', 'zlib', ['zlib']],
    ['RFC 4251 §5 example', 'zlib,none', ['zlib', 'none']],
    ['a name of 64 characters', 'x'.repeat(64), ['x'.repeat(64)]],
    ['an empty name at the end', 'a,', /^KEXINIT: kex_algorithms: empty algorithm name$/],
    ['an empty name at the start', ',a', /^KEXINIT: kex_algorithms: empty algorithm name$/],
    ['an empty name in the middle', 'ssh-ed25519,,ssh-rsa', /^KEXINIT: kex_algorithms: empty algorithm name$/],
    ['only a comma', ',', /^KEXINIT: kex_algorithms: empty algorithm name$/],
    ['a name of 65 characters', 'x'.repeat(65), /^KEXINIT: kex_algorithms: algorithm name longer than 64 characters$/],
    ['a space', 'has space', /^KEXINIT: kex_algorithms: algorithm name with non-printable characters 'has space'$/],
    ['an escape sequence', 'curve25519-sha256,\x1b]0;pwned\x07', /^KEXINIT: kex_algorithms: algorithm name with non-printable characters '\\x1b]0;pwned\\x07'$/],
    ['a non-ASCII byte', 'curv\xe9', /non-printable characters 'curv\\xe9'$/],
    ['a NUL', 'a\0', /non-printable characters 'a\\x00'$/],
  ]
  for (const [name, text, expected] of table) {
    it(name, () => {
      const bytes = sshString(Buffer.from(text, 'latin1'))
      const read = () => new SshReader(bytes, 'KEXINIT').nameList('kex_algorithms')
      if (expected instanceof RegExp) assert.throws(read, { name: 'SshWireError', message: expected })
      else assert.deepEqual(read(), expected)
    })
  }

  it('sshNameList writes what nameList reads, and refuses what it would refuse', () => {
    const names = ['curve25519-sha256', 'ext-info-c', 'kex-strict-c-v00@openssh.com']
    assert.deepEqual(readAll(sshNameList(names), (r) => r.nameList('l')), names)
    assert.deepEqual(readAll(sshNameList([]), (r) => r.nameList('l')), [])
    for (const name of ['', 'a,b', 'a b', 'x'.repeat(65), 'é']) assert.throws(() => sshNameList(['ok', name]), RangeError, JSON.stringify(name))
  })
})

describe('the writer', () => {
  const table: [string, Buffer, string][] = [
    ['byte', sshByte(0x14), '14'],
    ['boolean TRUE', sshBoolean(true), '01'],
    ['boolean FALSE', sshBoolean(false), '00'],
    ['uint32', sshUint32(0x29b7f4aa), '29b7f4aa'],
    ['uint64', sshUint64(0xffffffffffffffffn), 'ffffffffffffffff'],
    ['string "testing" (RFC 4251 §5)', sshString('testing'), '00000007 74657374696e67'],
    ['string of latin1 text', sshString('\xe9'), '00000001 e9'],
  ]
  for (const [name, bytes, wire] of table) it(name, () => assert.equal(bytes.toString('hex'), hex(wire).toString('hex')))

  it('refuses values out of range instead of wrapping them', () => {
    assert.throws(() => sshByte(256), RangeError)
    assert.throws(() => sshUint32(-1), RangeError)
    assert.throws(() => sshUint32(2 ** 32), RangeError)
    assert.throws(() => sshUint32(1.5), RangeError)
    assert.throws(() => sshUint64(-1n), RangeError)
    assert.throws(() => sshUint64(1n << 64n), RangeError)
  })

  it('round-trips random structures, and refuses every truncation of them', () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let round = 0; round < 200; round++) {
      const u32 = Math.floor(random() * 2 ** 32)
      const u64 = BigInt(Math.floor(random() * 2 ** 32)) << 32n | BigInt(Math.floor(random() * 2 ** 32))
      const text = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)))
      const magnitude = BigInt(`0x${Buffer.from(Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256))).toString('hex')}`)
      const signed = random() < 0.5 ? -magnitude : magnitude
      const bytes = Buffer.concat([sshUint32(u32), sshUint64(u64), sshString(text), sshMpint(signed), sshBoolean(u32 % 2 === 0)])
      const read = (r: SshReader) => [r.uint32('a'), r.uint64('b'), r.string('c').toString('hex'), r.mpint('d'), r.boolean('e')]
      assert.deepEqual(readAll(bytes, read), [u32, u64, text.toString('hex'), signed, u32 % 2 === 0])
      const cut = Math.floor(random() * bytes.length)
      assert.throws(() => read(reader(bytes.subarray(0, cut))), SshWireError, `cut at ${cut} of ${bytes.length}`)
    }
  })
})
