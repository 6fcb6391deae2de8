import type { OfferedAlgorithms } from '../domain/observation.js'
import { printableBytes } from '../domain/printable-bytes.js'

/* server hello : what an SSH server sends before any key is exchanged, all of it in clear text:
 *                optional other lines, the identification line (RFC 4253 §4.2), then binary packets
 *                starting with its KEXINIT (RFC 4253 §6, §7.1), whose name-lists say which key
 *                exchange and host key algorithms it has.
 *
 * The reader is fed the socket's chunks as they arrive and keeps at most a few tens of KB: a
 * hostile peer can make it say 'invalid', never make it grow, loop or throw. */

/** The reader's verdict so far. `banner` is set as soon as the identification line is complete. */
export type ServerHello =
  | { readonly kind: 'incomplete'; readonly banner: string | null }
  | {
      readonly kind: 'kexinit'
      readonly banner: string
      readonly offered: OfferedAlgorithms
      /** All ten name-lists in KEXINIT order (RFC 4253 §7.1): kex, host key, ciphers, MACs,
       * compression (each client-to-server, then server-to-client), languages. */
      readonly lists: readonly (readonly string[])[]
    }
  | { readonly kind: 'invalid'; readonly banner: string | null; readonly reason: string }

/** RFC 4253 §4.2: the identification line is at most 255 bytes including CR LF. */
export const MAX_IDENTIFICATION_BYTES = 255
/** RFC 4253 §4.2 lets a server send other lines first; it sets no bound, so we set one. */
export const MAX_PRE_BANNER_BYTES = 8192
/** RFC 4253 §6.1: implementations must handle packets of 35000 bytes total; a KEXINIT is ~1-2 KB. */
export const MAX_PACKET_BYTES = 35000
/** Packets we skip before KEXINIT (SSH_MSG_IGNORE / DEBUG, RFC 4253 §11): a handful, not a stream. */
const MAX_PACKETS_BEFORE_KEXINIT = 8
/** RFC 4251 §6: algorithm names are at most 64 characters. */
const MAX_NAME_LENGTH = 64

/** The most a well-formed hello can take: other lines, identification line, skipped packets, KEXINIT. */
const MAX_HELLO_BYTES = MAX_PRE_BANNER_BYTES + MAX_IDENTIFICATION_BYTES + (MAX_PACKETS_BEFORE_KEXINIT + 1) * (MAX_PACKET_BYTES + 4)

const SSH_MSG_IGNORE = 2
const SSH_MSG_UNIMPLEMENTED = 3
const SSH_MSG_DEBUG = 4
const SSH_MSG_KEXINIT = 20

const LF = 0x0a
const CR = 0x0d

/** Printable form of bytes a server chose: anything but printable ASCII becomes \xNN, so no
 * terminal escape or NUL reaches a report. */
export const printable = printableBytes

/** Incremental reader of a server's identification line and KEXINIT, bounded in memory. */
export class ServerHelloReader {
  // A server's identification line and KEXINIT take ~1.2 KB (OpenSSH 9): room for them from the start.
  private buffer = Buffer.allocUnsafe(2048)
  private length = 0
  /** Where the line or packet being read starts. */
  private start = 0
  /** How far the current line has been searched for LF (so each byte is scanned once). */
  private scanned = 0
  private preBannerBytes = 0
  /** Bytes taken from the server so far. */
  private total = 0
  private packetsSkipped = 0
  private banner: string | null = null
  private state: ServerHello = { kind: 'incomplete', banner: null }
  /** Bytes that came after the KEXINIT in the chunks read so far (the next packets). */
  private rest: Buffer = Buffer.alloc(0)

  /** The verdict so far. */
  get result(): ServerHello {
    return this.state
  }

  /** True once the reader wants no more bytes (it has the KEXINIT, or gave up). */
  get done(): boolean {
    return this.state.kind !== 'incomplete'
  }

  /** Feed the next bytes from the server; returns the verdict so far. */
  push(chunk: Buffer): ServerHello {
    if (this.done || chunk.length === 0) return this.state
    // Never take more than a well-formed hello can need: anything beyond is an error anyway.
    const accepted = chunk.subarray(0, Math.max(0, MAX_HELLO_BYTES - this.total))
    this.total += accepted.length
    this.append(accepted)
    this.state = this.banner === null ? this.readLines() : this.readPackets()
    if (!this.done && accepted.length < chunk.length) {
      this.state = this.invalid(`more than ${MAX_HELLO_BYTES} bytes without a KEXINIT`)
    }
    if (this.done) {
      if (this.state.kind === 'kexinit') this.rest = Buffer.from(this.buffer.subarray(this.start, this.length))
      this.buffer = Buffer.alloc(0) // the verdict (and what followed a KEXINIT) is all we keep
    }
    return this.state
  }

  /** Bytes the server sent after its KEXINIT in the chunks already pushed: the start of the next
   * packet, for whoever reads the key exchange on. Empty unless the verdict is 'kexinit'. */
  get remainder(): Buffer {
    return this.rest
  }

  private append(bytes: Buffer): void {
    if (this.length + bytes.length > this.buffer.length) {
      // Drop what is already consumed, then grow by doubling: O(n) over the connection.
      const live = this.buffer.subarray(this.start, this.length)
      const size = Math.max(this.buffer.length, (live.length + bytes.length) * 2)
      const next = Buffer.alloc(size)
      live.copy(next)
      this.scanned -= this.start
      this.length = live.length
      this.start = 0
      this.buffer = next
    }
    bytes.copy(this.buffer, this.length)
    this.length += bytes.length
  }

  private invalid(reason: string): ServerHello {
    return { kind: 'invalid', banner: this.banner, reason }
  }

  /** RFC 4253 §4.2: lines until one starts with "SSH-"; that one is the identification line. */
  private readLines(): ServerHello {
    for (;;) {
      const lineEnd = this.buffer.subarray(this.scanned, this.length).indexOf(LF)
      // OpenSSH's kex_exchange_identification() rejects a NUL, or a CR not followed by LF, in any
      // line before the key exchange: text lines never hold them, binary junk almost always does.
      const scanEnd = lineEnd === -1 ? this.length : this.scanned + lineEnd
      for (let i = this.scanned; i < scanEnd; i++) {
        const byte = this.buffer[i]
        if (byte === 0 || (i > this.start && this.buffer[i - 1] === CR && byte !== LF)) {
          return this.invalid('binary data where an SSH identification line belongs; not an SSH server?')
        }
      }
      const lineBytes = (lineEnd === -1 ? this.length : this.scanned + lineEnd + 1) - this.start
      const head = this.buffer.subarray(this.start, Math.min(this.length, this.start + 4)).toString('latin1')
      // A line shorter than 4 bytes so far might still become "SSH-...": undecided, so bounded as one.
      const isIdentification = lineEnd === -1 && head.length < 4 ? 'SSH-'.startsWith(head) : head === 'SSH-'
      if (isIdentification && lineBytes > MAX_IDENTIFICATION_BYTES) {
        return this.invalid(`identification line longer than ${MAX_IDENTIFICATION_BYTES} bytes (RFC 4253 §4.2)`)
      }
      if (!isIdentification && this.preBannerBytes + lineBytes > MAX_PRE_BANNER_BYTES) {
        return this.invalid(`more than ${MAX_PRE_BANNER_BYTES} bytes before an SSH identification line; not an SSH server?`)
      }
      if (lineEnd === -1) {
        this.scanned = this.length
        return { kind: 'incomplete', banner: null }
      }
      const end = this.scanned + lineEnd // index of LF
      const line = this.buffer.subarray(this.start, end > this.start && this.buffer[end - 1] === CR ? end - 1 : end)
      this.start = this.scanned = end + 1
      if (!isIdentification) {
        this.preBannerBytes += lineBytes
        continue
      }
      const text = printable(line)
      // "SSH-protoversion-softwareversion"; 1.99 is how a server says it also speaks 2.0 (RFC 4253 §5.1).
      const match = /^SSH-([^-]*)-/.exec(text)
      if (!match) return this.invalid(`malformed identification line '${text.slice(0, 80)}'`)
      if (match[1] !== '2.0' && match[1] !== '1.99') {
        this.banner = text
        return this.invalid(`server speaks SSH protocol ${match[1]!.slice(0, 16)}, not 2.0`)
      }
      this.banner = text
      return this.readPackets()
    }
  }

  /** RFC 4253 §6: uint32 packet_length, byte padding_length, payload, padding; no MAC before NEWKEYS. */
  private readPackets(): ServerHello {
    const banner = this.banner!
    for (;;) {
      const available = this.length - this.start
      if (available < 4) return { kind: 'incomplete', banner }
      const packetLength = this.buffer.readUInt32BE(this.start)
      if (packetLength > MAX_PACKET_BYTES) return this.invalid(`packet length ${packetLength} exceeds ${MAX_PACKET_BYTES} bytes (RFC 4253 §6.1)`)
      // At least padding_length, a message byte and 4 bytes of padding (RFC 4253 §6).
      if (packetLength < 6) return this.invalid(`packet length ${packetLength} is too short (RFC 4253 §6)`)
      if (available < 4 + packetLength) return { kind: 'incomplete', banner }
      const packet = this.buffer.subarray(this.start + 4, this.start + 4 + packetLength)
      this.start += 4 + packetLength
      const paddingLength = packet[0]!
      if (paddingLength < 4 || paddingLength + 1 >= packet.length) {
        return this.invalid(`padding length ${paddingLength} does not fit packet of ${packetLength} bytes (RFC 4253 §6)`)
      }
      const payload = packet.subarray(1, packet.length - paddingLength)
      const type = payload[0]!
      if (type === SSH_MSG_KEXINIT) return this.readKexinit(payload, banner)
      if (type !== SSH_MSG_IGNORE && type !== SSH_MSG_DEBUG && type !== SSH_MSG_UNIMPLEMENTED) {
        return this.invalid(`expected KEXINIT (message 20) as first packet, got message ${type} (RFC 4253 §7.1)`)
      }
      if (++this.packetsSkipped > MAX_PACKETS_BEFORE_KEXINIT) {
        return this.invalid(`more than ${MAX_PACKETS_BEFORE_KEXINIT} packets before KEXINIT`)
      }
    }
  }

  /** RFC 4253 §7.1: byte 20, cookie[16], ten name-lists, boolean first_kex_packet_follows, uint32 0. */
  private readKexinit(payload: Buffer, banner: string): ServerHello {
    let offset = 17
    const lists: string[][] = []
    for (let i = 0; i < 10; i++) {
      if (offset + 4 > payload.length) return this.invalid('KEXINIT is truncated')
      const length = payload.readUInt32BE(offset)
      offset += 4
      if (length > payload.length - offset) return this.invalid('KEXINIT name-list runs past the packet')
      const parsed = parseNameList(payload.subarray(offset, offset + length))
      if (typeof parsed === 'string') return this.invalid(`KEXINIT ${NAME_LISTS[i]}: ${parsed}`)
      lists.push(parsed)
      offset += length
    }
    if (offset + 5 > payload.length) return this.invalid('KEXINIT is truncated')
    const both = (i: number) => ({ clientToServer: lists[i]!, serverToClient: lists[i + 1]! })
    return { kind: 'kexinit', banner, offered: { kex: lists[0]!, serverHostKey: lists[1]!, ciphers: both(2), macs: both(4), compression: both(6) }, lists }
  }
}

const NAME_LISTS = [
  'kex_algorithms',
  'server_host_key_algorithms',
  'encryption_algorithms_client_to_server',
  'encryption_algorithms_server_to_client',
  'mac_algorithms_client_to_server',
  'mac_algorithms_server_to_client',
  'compression_algorithms_client_to_server',
  'compression_algorithms_server_to_client',
  'languages_client_to_server',
  'languages_server_to_client',
]

/** RFC 4251 §5 name-list, RFC 4251 §6 names: non-empty, printable US-ASCII, no comma or space,
 * at most 64 characters. Returns the names, or why the list is malformed. */
export function parseNameList(bytes: Buffer): string[] | string {
  if (bytes.length === 0) return []
  // One pass over the bytes (this runs for ten lists on every connection): printable US-ASCII but
  // space, commas between names of 1 to 64 characters.
  let start = 0
  for (let i = 0; i <= bytes.length; i++) {
    const byte = i === bytes.length ? 0x2c : bytes[i]!
    if (byte === 0x2c) {
      if (i === start) return 'empty algorithm name'
      if (i - start > MAX_NAME_LENGTH) return `algorithm name longer than ${MAX_NAME_LENGTH} characters`
      start = i + 1
    } else if (byte < 0x21 || byte > 0x7e) {
      let end = bytes.indexOf(0x2c, i)
      if (end === -1) end = bytes.length
      return `algorithm name with non-printable characters '${printable(bytes.subarray(start, end)).slice(0, 80)}'`
    }
  }
  return bytes.toString('latin1').split(',')
}

/** Reads a complete server hello from bytes already in hand (tests, captured sessions). */
export function readServerHello(...chunks: Buffer[]): ServerHello {
  const reader = new ServerHelloReader()
  for (const chunk of chunks) reader.push(chunk)
  return reader.result
}
