/* wire : RFC 4251 §5 data types and RFC 4253 §6 binary packets, the few a key-exchange probe
 *        writes and reads before any key is agreed (so: no encryption, no MAC). */

/** Thrown by PayloadReader when a server's message runs past its end or breaks a bound. */
export class WireError extends Error {
  override name = 'WireError'
}

/** RFC 4251 §5 string: uint32 length, bytes. */
export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value
  const out = Buffer.allocUnsafe(4 + bytes.length)
  out.writeUInt32BE(bytes.length, 0)
  bytes.copy(out, 4)
  return out
}

/** RFC 4251 §5 mpint of a non-negative integer: two's complement, big-endian, minimal length. */
export function sshMpint(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('mpint of a negative number')
  if (value === 0n) return sshString(Buffer.alloc(0))
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  // A set high bit would read as negative: prefix a zero byte.
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
  return sshString(Buffer.from(hex, 'hex'))
}

export function sshUint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(value >>> 0, 0)
  return out
}

/** Unsigned big-endian bytes (an mpint's contents) as a bigint. */
export function bigintOf(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`)
}

/** RFC 4253 §6 packet with no MAC: uint32 packet_length, byte padding_length, payload, padding;
 * the whole a multiple of 8 bytes, at least 4 bytes of padding. The padding need not be random
 * before keys are agreed (nothing is encrypted), so it is zeros. */
export function sshPacket(payload: Buffer): Buffer {
  let padding = 8 - ((5 + payload.length) % 8)
  if (padding < 4) padding += 8
  const out = Buffer.alloc(5 + payload.length + padding)
  out.writeUInt32BE(1 + payload.length + padding, 0)
  out[4] = padding
  payload.copy(out, 5)
  return out
}

/** Reads RFC 4251 §5 fields from one message payload, never past its end. */
export class PayloadReader {
  private offset: number
  constructor(
    private readonly payload: Buffer,
    start = 0,
  ) {
    this.offset = start
  }

  byte(): number {
    if (this.offset + 1 > this.payload.length) throw new WireError('message is truncated')
    return this.payload[this.offset++]!
  }

  uint32(): number {
    if (this.offset + 4 > this.payload.length) throw new WireError('message is truncated')
    const value = this.payload.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }

  string(maxBytes = this.payload.length): Buffer {
    const length = this.uint32()
    if (length > this.payload.length - this.offset) throw new WireError('string runs past the end of the message')
    if (length > maxBytes) throw new WireError(`string of ${length} bytes, more than ${maxBytes}`)
    const value = this.payload.subarray(this.offset, this.offset + length)
    this.offset += length
    return value
  }

  /** A non-negative mpint's value bytes without sign padding. */
  mpint(maxBytes: number): Buffer {
    const bytes = this.string(maxBytes + 1)
    if (bytes.length > 0 && bytes[0]! & 0x80) throw new WireError('negative mpint')
    let start = 0
    while (start < bytes.length && bytes[start] === 0) start++
    if (bytes.length - start > maxBytes) throw new WireError(`mpint longer than ${maxBytes} bytes`)
    return bytes.subarray(start)
  }
}
