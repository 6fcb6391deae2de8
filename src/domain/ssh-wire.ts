import { printableBytes } from './printable-bytes.js'

/* ssh wire : the RFC 4251 §5 data types every SSH structure is made of: packets' payloads, key
 *            blobs, certificates, signatures. One reader and one writer for all of them, as
 *            OpenSSH reads everything through sshbuf.
 *   byte       8 bits; byte[n] is n of them
 *   boolean    one byte; 0 is FALSE, any other value TRUE
 *   uint32     4 bytes, big-endian; uint64 8 bytes, big-endian
 *   string     uint32 length + that many bytes
 *   mpint      a string holding a two's complement big-endian integer; zero is the empty string
 *   name-list  a string of comma-separated names, none of them empty (RFC 4251 §6: printable
 *              US-ASCII, no comma or space, at most 64 characters)
 *
 * Every read is bounded by what is left of the buffer, so a hostile length can end a read but
 * never make it run past the end, allocate or loop. Every error names the structure and the field
 * being read ("KEXINIT: kex_algorithms: string length 4294967295 exceeds the 12 bytes left"). */

/** Thrown by an SshReader that was given no error class of its own. */
export class SshWireError extends Error {
  override name = 'SshWireError'
}

/** The error an SshReader throws: the caller's own class (a KeyBlobError for key blobs), so the
 * code that catches it need not know the bytes were read here. */
export type WireErrorClass = new (message: string) => Error

/** RFC 4251 §6: algorithm names are at most 64 characters. */
export const MAX_NAME_LENGTH = 64

const COMMA = 0x2c

/** Reads RFC 4251 §5 values from one buffer, in order, never past its end. A read that throws
 * leaves the reader where it was. */
export class SshReader {
  private offset: number
  private readonly error: WireErrorClass

  /** `what` names the structure in errors ("KEXINIT", "certificate"); `start` skips bytes already
   * read by someone else (a message type); `error` is the class to throw (SshWireError by default). */
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
    options: { readonly start?: number; readonly error?: WireErrorClass } = {},
  ) {
    this.offset = options.start ?? 0
    if (this.offset > bytes.length) throw new RangeError(`${what}: start ${this.offset} is past the end (${bytes.length} bytes)`)
    this.error = options.error ?? SshWireError
  }

  /** How many bytes have been read: everything before this offset is behind the reader. */
  get position(): number {
    return this.offset
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.offset
  }

  /** Throws this reader's error, naming the structure and `field`. */
  private fail(field: string, problem: string): never {
    throw new this.error(`${this.what}: ${field}: ${problem}`)
  }

  /** Throws for a value read from `start` on, leaving the reader before it. */
  private refuse(start: number, field: string, problem: string): never {
    this.offset = start
    this.fail(field, problem)
  }

  private take(length: number, field: string): Buffer {
    const left = this.bytes.length - this.offset
    if (length > left) this.fail(field, `truncated: needs ${length} bytes, ${left} left`)
    const start = this.offset
    this.offset += length
    return this.bytes.subarray(start, this.offset)
  }

  byte(field: string): number {
    if (this.offset >= this.bytes.length) this.fail(field, 'truncated: needs 1 byte, 0 left')
    return this.bytes[this.offset++]!
  }

  /** byte[n]: `length` bytes as they are. */
  fixedBytes(field: string, length: number): Buffer {
    return this.take(length, field)
  }

  /** RFC 4251 §5: any non-zero value is TRUE. */
  boolean(field: string): boolean {
    return this.byte(field) !== 0
  }

  uint32(field: string): number {
    return this.take(4, field).readUInt32BE(0)
  }

  uint64(field: string): bigint {
    return this.take(8, field).readBigUInt64BE(0)
  }

  /** A string's bytes (a view, not a copy); `maxBytes` bounds it further than what is left. */
  string(field: string, maxBytes?: number): Buffer {
    const left = this.bytes.length - this.offset - 4
    if (left < 0) this.fail(field, `truncated: needs 4 bytes, ${left + 4} left`)
    const length = this.bytes.readUInt32BE(this.offset)
    if (length > left) this.fail(field, `string length ${length} exceeds the ${left} bytes left`)
    if (maxBytes !== undefined && length > maxBytes) this.fail(field, `string of ${length} bytes, more than ${maxBytes}`)
    const start = this.offset + 4
    this.offset = start + length
    return this.bytes.subarray(start, this.offset)
  }

  /** A string holding a structure of its own (a key blob inside a certificate, a principals list):
   * a reader over its bytes whose errors name this field too. */
  nested(field: string, maxBytes?: number): SshReader {
    return new SshReader(this.string(field, maxBytes), `${this.what}: ${field}`, { error: this.error })
  }

  /** An mpint of either sign. */
  mpint(field: string): bigint {
    const bytes = this.string(field)
    if (bytes.length === 0) return 0n
    const value = bigintFromMagnitude(bytes)
    return bytes[0]! & 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value
  }

  /** An mpint that must not be negative, as its magnitude with no leading zero bytes (zero: empty).
   * OpenSSH (sshbuf_get_bignum2_bytes_direct) refuses negative values in keys and signatures too.
   * `maxBytes` bounds the magnitude (a 0x00 sign byte comes on top). */
  unsignedMpint(field: string, maxBytes?: number): Buffer {
    const before = this.offset
    const bytes = this.string(field, maxBytes === undefined ? undefined : maxBytes + 1)
    if (bytes.length > 0 && bytes[0]! & 0x80) this.refuse(before, field, 'negative mpint')
    let start = 0
    while (start < bytes.length && bytes[start] === 0) start++
    if (maxBytes !== undefined && bytes.length - start > maxBytes) this.refuse(before, field, `mpint longer than ${maxBytes} bytes`)
    return bytes.subarray(start)
  }

  /** RFC 4251 §5 name-list, RFC 4251 §6 names: printable US-ASCII but space, commas between names
   * of 1 to 64 characters. The empty string is the empty list. */
  nameList(field: string): string[] {
    const before = this.offset
    const bytes = this.string(field)
    if (bytes.length === 0) return []
    // One pass over the bytes (a KEXINIT has ten lists, on every connection).
    let start = 0
    for (let i = 0; i <= bytes.length; i++) {
      const byte = i === bytes.length ? COMMA : bytes[i]!
      if (byte === COMMA) {
        if (i === start) this.refuse(before, field, 'empty algorithm name')
        if (i - start > MAX_NAME_LENGTH) this.refuse(before, field, `algorithm name longer than ${MAX_NAME_LENGTH} characters`)
        start = i + 1
      } else if (byte < 0x21 || byte > 0x7e) {
        let end = bytes.indexOf(COMMA, i)
        if (end === -1) end = bytes.length
        this.refuse(before, field, `algorithm name with non-printable characters '${printableBytes(bytes.subarray(start, end)).slice(0, 80)}'`)
      }
    }
    return bytes.toString('latin1').split(',')
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length
  }

  /** Throws unless every byte has been read. */
  expectEnd(): void {
    const left = this.bytes.length - this.offset
    if (left !== 0) throw new this.error(`${this.what} has ${left} trailing bytes`)
  }
}

/** Unsigned big-endian bytes (an mpint's magnitude) as a bigint. */
export function bigintFromMagnitude(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`)
}

/* The writer: each function returns one value's bytes; a structure is their Buffer.concat. */

export function sshByte(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`byte out of range: ${value}`)
  return Buffer.from([value])
}

export function sshBoolean(value: boolean): Buffer {
  return Buffer.from([value ? 1 : 0])
}

export function sshUint32(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`uint32 out of range: ${value}`)
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(value, 0)
  return out
}

export function sshUint64(value: bigint): Buffer {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`uint64 out of range: ${value}`)
  const out = Buffer.allocUnsafe(8)
  out.writeBigUInt64BE(value, 0)
  return out
}

/** RFC 4251 §5 string: uint32 length + bytes; text is taken as latin1, one byte a character. */
export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value
  const out = Buffer.allocUnsafe(4 + bytes.length)
  out.writeUInt32BE(bytes.length, 0)
  bytes.copy(out, 4)
  return out
}

/** RFC 4251 §5 mpint, minimal: no needless leading 0x00 or 0xff byte, zero as the empty string. */
export function sshMpint(value: bigint): Buffer {
  if (value === 0n) return sshString(Buffer.alloc(0))
  if (value > 0n) {
    let hex = value.toString(16)
    if (hex.length % 2 === 1) hex = `0${hex}`
    // A set high bit would read as negative: a zero byte first.
    if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`
    return sshString(Buffer.from(hex, 'hex'))
  }
  // Two's complement in the fewest bytes whose range reaches down to the value: -2^(8n-1) <= value.
  let length = 1
  while (value < -(1n << BigInt(length * 8 - 1))) length++
  const hex = ((1n << BigInt(length * 8)) + value).toString(16).padStart(length * 2, '0')
  return sshString(Buffer.from(hex, 'hex'))
}

/** RFC 4251 §5 mpint of a non-negative magnitude given as unsigned big-endian bytes: leading zero
 * bytes dropped, a 0x00 byte first when the top bit is set. This is how OpenSSH writes every key it
 * re-serialises. */
export function sshMagnitudeMpint(magnitude: Buffer): Buffer {
  let i = 0
  while (i < magnitude.length && magnitude[i] === 0) i++
  const bytes = magnitude.subarray(i)
  return sshString(bytes.length > 0 && bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)
}

/** RFC 4251 §5 name-list. Throws RangeError on a name the reader would refuse. */
export function sshNameList(names: readonly string[]): Buffer {
  for (const name of names) {
    if (name === '' || name.length > MAX_NAME_LENGTH || !/^[\x21-\x2b\x2d-\x7e]+$/.test(name)) {
      throw new RangeError(`'${name.slice(0, 80)}' is not a name for a name-list (RFC 4251 §6)`)
    }
  }
  return sshString(names.join(','))
}
