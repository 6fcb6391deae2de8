import type { OfferedAlgorithms } from '../domain/observation.js'
import { printableBytes } from '../domain/printable-bytes.js'
import { SshReader, SshWireError } from '../domain/ssh-wire.js'
import { isIgnorableMessage, MAX_PACKET_BYTES, readPacket, SSH_MSG_KEXINIT } from './binary-packet.js'

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
/** Packets we skip before KEXINIT (SSH_MSG_IGNORE / DEBUG, RFC 4253 §11): a handful, not a stream. */
const MAX_PACKETS_BEFORE_KEXINIT = 8

/** The most a well-formed hello can take: other lines, identification line, skipped packets, KEXINIT. */
const MAX_HELLO_BYTES = MAX_PRE_BANNER_BYTES + MAX_IDENTIFICATION_BYTES + (MAX_PACKETS_BEFORE_KEXINIT + 1) * (MAX_PACKET_BYTES + 4)

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

  /** RFC 4253 §6 packets, no MAC before NEWKEYS: KEXINIT, after at most a few ignorable ones. */
  private readPackets(): ServerHello {
    const banner = this.banner!
    for (;;) {
      const packet = readPacket(this.buffer, this.start, this.length)
      if (packet.kind === 'incomplete') return { kind: 'incomplete', banner }
      if (packet.kind === 'invalid') return this.invalid(packet.reason)
      this.start = packet.end
      const type = packet.payload[0]!
      if (type === SSH_MSG_KEXINIT) return this.readKexinit(packet.payload, banner)
      if (!isIgnorableMessage(type)) {
        return this.invalid(`expected KEXINIT (message 20) as first packet, got message ${type} (RFC 4253 §7.1)`)
      }
      if (++this.packetsSkipped > MAX_PACKETS_BEFORE_KEXINIT) {
        return this.invalid(`more than ${MAX_PACKETS_BEFORE_KEXINIT} packets before KEXINIT`)
      }
    }
  }

  /** RFC 4253 §7.1: byte 20, cookie[16], ten name-lists, boolean first_kex_packet_follows, uint32 0. */
  private readKexinit(payload: Buffer, banner: string): ServerHello {
    const reader = new SshReader(payload, 'KEXINIT', { start: 1 })
    try {
      reader.fixedBytes('cookie', 16)
      const lists = NAME_LISTS.map((name) => reader.nameList(name))
      reader.boolean('first_kex_packet_follows')
      reader.uint32('reserved')
      const both = (i: number) => ({ clientToServer: lists[i]!, serverToClient: lists[i + 1]! })
      return { kind: 'kexinit', banner, offered: { kex: lists[0]!, serverHostKey: lists[1]!, ciphers: both(2), macs: both(4), compression: both(6) }, lists }
    } catch (e) {
      if (e instanceof SshWireError) return this.invalid(e.message)
      throw e
    }
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

/** Reads a complete server hello from bytes already in hand (tests, captured sessions). */
export function readServerHello(...chunks: Buffer[]): ServerHello {
  const reader = new ServerHelloReader()
  for (const chunk of chunks) reader.push(chunk)
  return reader.result
}
