import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sshByte, sshUint32 } from '../../src/domain/ssh-wire.js'
import { framePacket, MAX_PACKET_BYTES, readPacket, type PacketRead } from '../../src/ssh/binary-packet.js'

/* The one framer of RFC 4253 §6 binary packets (no MAC before NEWKEYS), read by the KEXINIT
 * reader and the probe alike. */

/** A packet header saying `packetLength` and `paddingLength`, then `body`. */
const raw = (packetLength: number, paddingLength: number, body: Buffer) => Buffer.concat([sshUint32(packetLength), sshByte(paddingLength), body])

describe('readPacket', () => {
  const payload = Buffer.from([20, 1, 2, 3])
  const framed = framePacket(payload)
  const table: [string, Buffer, PacketRead['kind'], RegExp | null][] = [
    ['nothing', Buffer.alloc(0), 'incomplete', null],
    ['three bytes of the length', framed.subarray(0, 3), 'incomplete', null],
    ['the length and part of the packet', framed.subarray(0, framed.length - 1), 'incomplete', null],
    ['a whole packet', framed, 'packet', null],
    ['a length of 4294967295, at once', Buffer.from([0xff, 0xff, 0xff, 0xff]), 'invalid', /^packet length 4294967295 exceeds 35000 bytes \(RFC 4253 §6\.1\)$/],
    ['a length one over the limit', sshUint32(MAX_PACKET_BYTES + 1), 'invalid', /^packet length 35001 exceeds 35000 bytes/],
    ['a length of 5', raw(5, 4, Buffer.alloc(4)), 'invalid', /^packet length 5 is too short \(RFC 4253 §6\)$/],
    ['padding of 3 bytes', raw(12, 3, Buffer.alloc(11)), 'invalid', /^padding length 3 does not fit packet of 12 bytes \(RFC 4253 §6\)$/],
    ['padding that leaves no payload', raw(12, 11, Buffer.alloc(11)), 'invalid', /^padding length 11 does not fit packet of 12 bytes/],
    ['padding longer than the packet', raw(64, 250, Buffer.alloc(63)), 'invalid', /^padding length 250 does not fit packet of 64 bytes/],
  ]
  for (const [name, bytes, kind, reason] of table) {
    it(name, () => {
      const read = readPacket(bytes, 0)
      assert.equal(read.kind, kind, JSON.stringify(read))
      if (read.kind === 'invalid') assert.match(read.reason, reason!)
      if (read.kind === 'packet') {
        assert.deepEqual(read.payload, payload)
        assert.equal(read.end, framed.length)
      }
    })
  }

  it('reads from an offset, bounded by the end it is given, not the buffer\'s', () => {
    const two = Buffer.concat([framePacket(Buffer.from([2])), framePacket(Buffer.from([20, 9]))])
    const first = readPacket(two, 0)
    assert.ok(first.kind === 'packet')
    assert.equal(readPacket(two, first.end, two.length - 1).kind, 'incomplete')
    const second = readPacket(two, first.end)
    assert.ok(second.kind === 'packet')
    assert.deepEqual(second.payload, Buffer.from([20, 9]))
    assert.equal(second.end, two.length)
  })
})

describe('framePacket', () => {
  it('frames every payload size as RFC 4253 §6 asks, and readPacket takes it back', () => {
    for (let size = 1; size <= 80; size++) {
      const payload = Buffer.alloc(size, size)
      const packet = framePacket(payload)
      const padding = packet[4]!
      assert.equal(packet.length % 8, 0, `size ${size}: a multiple of 8 bytes`)
      assert.ok(padding >= 4 && padding < 12, `size ${size}: padding ${padding}, at least 4, no more than needed`)
      assert.equal(packet.readUInt32BE(0), packet.length - 4)
      const read = readPacket(packet, 0)
      assert.ok(read.kind === 'packet')
      assert.deepEqual(read.payload, payload)
    }
  })
})
