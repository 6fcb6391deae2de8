import { KeyBlobError } from './key-blob.js'

/* wire format : the RFC 4251 §5 data types SSH keys, certificates and signatures are made of:
 *               uint32 and uint64 big-endian; string = uint32 length + bytes; mpint = a string
 *               holding a two's complement big-endian integer, minimal (no needless leading 0x00
 *               or 0xff byte), zero as the empty string. */

/** Reads RFC 4251 §5 values from one buffer, never past its end. Every error is a KeyBlobError
 * that names the structure (`what`) and the field being read. */
export class WireReader {
  private offset = 0
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  /** How many bytes have been read: everything before this offset is behind the reader. */
  get position(): number {
    return this.offset
  }

  private take(length: number, field: string): Buffer {
    const left = this.bytes.length - this.offset
    if (length > left) {
      throw new KeyBlobError(`${this.what} is truncated in ${field} (needs ${length} bytes, ${left} left)`)
    }
    const start = this.offset
    this.offset += length
    return this.bytes.subarray(start, this.offset)
  }

  /** One byte. */
  take1(field: string): number {
    return this.take(1, field)[0]!
  }

  uint32(field: string): number {
    return this.take(4, field).readUInt32BE(0)
  }

  uint64(field: string): bigint {
    return this.take(8, field).readBigUInt64BE(0)
  }

  string(field: string): Buffer {
    return this.take(this.uint32(field), field)
  }

  /** An mpint that must not be negative, as its magnitude with no leading zero bytes (zero: empty).
   * OpenSSH (sshbuf_get_bignum2_bytes_direct) refuses negative values in keys and signatures too. */
  unsignedMpint(field: string): Buffer {
    const bytes = this.string(field)
    if (bytes.length > 0 && bytes[0]! & 0x80) throw new KeyBlobError(`${this.what}: ${field} is a negative mpint`)
    let i = 0
    while (i < bytes.length && bytes[i] === 0) i++
    return bytes.subarray(i)
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length
  }

  /** Throws unless every byte has been read. */
  expectEnd(): void {
    const left = this.bytes.length - this.offset
    if (left !== 0) throw new KeyBlobError(`${this.what} has ${left} trailing bytes`)
  }
}

/** RFC 4251 §5 string: uint32 length + bytes. */
export function wireString(bytes: Buffer | string): Buffer {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  return Buffer.concat([length, data])
}

/** RFC 4251 §5 mpint of a non-negative magnitude, minimally encoded: a 0x00 byte first when the top
 * bit is set, so it does not read as negative. This is how OpenSSH writes every key it re-serialises. */
export function wireUnsignedMpint(magnitude: Buffer): Buffer {
  let i = 0
  while (i < magnitude.length && magnitude[i] === 0) i++
  const bytes = magnitude.subarray(i)
  return wireString(bytes.length > 0 && bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)
}
