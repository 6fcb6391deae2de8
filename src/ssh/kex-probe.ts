import { randomBytes } from 'node:crypto'
import type { HostKey } from '../domain/host-key.js'
import { readHostKeyBlob } from '../domain/fingerprint/host-key-blob.js'
import { KeyBlobError } from '../domain/fingerprint/key-blob.js'
import { bigintFromMagnitude, MAX_NAME_LENGTH, sshBoolean, sshByte, SshReader, sshString, sshUint32, SshWireError } from '../domain/ssh-wire.js'
import { framePacket, isIgnorableMessage, readPacket, SSH_MSG_DISCONNECT, SSH_MSG_KEXINIT } from './binary-packet.js'
import { printable, ServerHelloReader, type ServerHello } from './kexinit.js'
import {
  chooseKex,
  KEX_METHODS,
  GEX_MAX_PRIME_BYTES,
  gexInitPayload,
  kexInitPayload,
  SSH_MSG_KEX_DH_GEX_GROUP,
  SSH_MSG_KEX_DH_GEX_REPLY,
  SSH_MSG_KEXDH_REPLY,
  type KexMethod,
} from './kex-methods.js'
import { keyFormatOf, negotiateHostKey, type ProbeGroup } from './probe-groups.js'

/* key-exchange probe : the client half of an SSH key exchange, just far enough to be sent the
 *                      server's host key (ssh-keyscan's way): identification line, KEXINIT, the
 *                      method's first message; the reply's first field is the host key or
 *                      certificate (RFC 4253 §8, RFC 4419 §3, RFC 5656 §4, RFC 8731 §3,
 *                      PROTOCOL.certkeys). Then the probe is done: no shared secret, no signature
 *                      check, no authentication.
 *
 * The session is a state machine over bytes, with no I/O of its own: fed what the server sends,
 * it says what to write and, once, how the probe ended. Any duplex stream can carry it (a socket,
 * or a channel through a bastion). Every read is bounded; a hostile peer can end it, never make
 * it grow, loop or throw. */

/** Our identification line (RFC 4253 §4.2). */
export const CLIENT_IDENTIFICATION = 'SSH-2.0-hostkeys'

/** How a probe ended, as far as the bytes tell. The driver adds socket failures and timeouts. */
export type KexOutcome =
  /** The key as served: `key.certificate` is set when the server sent a certificate. */
  | { readonly kind: 'key'; readonly key: HostKey; readonly algorithm: string; readonly kex: string }
  /** The server's KEXINIT names none of the host key algorithms asked for. */
  | { readonly kind: 'not-offered' }
  | { readonly kind: 'failed'; readonly detail: string }

export interface KexStep {
  /** Bytes to send to the server now, if any. */
  readonly write: Buffer | null
  /** Set once, when the probe has ended. */
  readonly outcome: KexOutcome | null
}

/* Every cipher, MAC and compression name a server has been known to offer, so negotiation (RFC 4253
 * §7.1) cannot fail on algorithms a probe never uses: our KEXINIT goes out before the server's
 * arrives, as OpenSSH's and ssh-keyscan's do, so it cannot simply echo the server's lists. AEAD
 * ciphers need no MAC; 'none' last, for appliances that offer nothing else. */
const CIPHERS = [
  'chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr',
  'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'rijndael-cbc@lysator.liu.se', '3des-cbc', 'blowfish-cbc', 'cast128-cbc',
  'arcfour256', 'arcfour128', 'arcfour', 'twofish256-cbc', 'twofish192-cbc', 'twofish128-cbc', 'twofish-cbc',
  'serpent256-cbc', 'serpent192-cbc', 'serpent128-cbc', 'des-cbc', 'none',
].join(',')
const MACS = [
  'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'umac-128-etm@openssh.com', 'umac-64-etm@openssh.com',
  'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'umac-128@openssh.com', 'umac-64@openssh.com',
  'hmac-sha1', 'hmac-sha1-96', 'hmac-md5', 'hmac-md5-96', 'hmac-ripemd160', 'hmac-ripemd160@openssh.com', 'none',
].join(',')
const COMPRESSION = 'none,zlib@openssh.com,zlib'

/** Messages we skip while waiting for a reply: a handful, not a stream. */
const MAX_SKIPPED_PACKETS = 16
/** A host key or certificate: an RSA-16384 certificate signed by an RSA-16384 CA is ~4.5 KB. */
const MAX_HOST_KEY_BYTES = 16384

type State =
  | { readonly kind: 'hello' }
  | { readonly kind: 'reply'; readonly method: KexMethod; readonly algorithm: string; readonly expect: number }
  | { readonly kind: 'done' }

const NO_STEP: KexStep = { write: null, outcome: null }

const KEX_NAMES = KEX_METHODS.map((method) => method.name).join(',')

/* The KEXINIT cookie (RFC 4253 §7.1) keeps either side from choosing the session's keys alone. A probe
 * never gets to keys, so one random cookie serves the whole process, and the opening bytes for a set
 * of groups are made once: a probe then costs no allocation or random draw to start. */
const COOKIE = randomBytes(16)
const openings = new Map<string, Buffer>()
/** The opening for a one-group probe (every probe after a host's first), by group. */
const singleOpenings = new Map<ProbeGroup, Buffer>()

function openingFor(groups: readonly ProbeGroup[]): Buffer {
  if (groups.length === 1) {
    let opening = singleOpenings.get(groups[0]!)
    if (opening === undefined) singleOpenings.set(groups[0]!, (opening = makeOpening(groups)))
    return opening
  }
  return makeOpening(groups)
}

function makeOpening(groups: readonly ProbeGroup[]): Buffer {
  const hostKeyAlgorithms = groups.flatMap((group) => group.algorithms).join(',')
  let opening = openings.get(hostKeyAlgorithms)
  if (opening === undefined) {
    const kexinit = Buffer.concat([
      sshByte(SSH_MSG_KEXINIT),
      COOKIE,
      sshString(KEX_NAMES),
      sshString(hostKeyAlgorithms),
      sshString(CIPHERS),
      sshString(CIPHERS),
      sshString(MACS),
      sshString(MACS),
      sshString(COMPRESSION),
      sshString(COMPRESSION),
      sshString(''),
      sshString(''),
      sshBoolean(false), // first_kex_packet_follows
      sshUint32(0), // reserved
    ])
    opening = Buffer.concat([Buffer.from(`${CLIENT_IDENTIFICATION}\r\n`, 'latin1'), framePacket(kexinit)])
    openings.set(hostKeyAlgorithms, opening)
  }
  return opening
}

/** A cipher, MAC or compression list of the server's with nothing in common with ours: the server
 * would end the connection at our KEXINIT, so say which list it was. Null when all match. */
const OURS = [CIPHERS, CIPHERS, MACS, MACS, COMPRESSION, COMPRESSION].map((list) => new Set(list.split(',')))
const LIST_NAMES = ['ciphers', 'ciphers', 'MACs', 'MACs', 'compression', 'compression']

function unmatchedList(lists: readonly (readonly string[])[]): string | null {
  for (let i = 0; i < 6; i++) {
    const theirs = lists[i + 2]!
    // AEAD ciphers carry their own integrity: OpenSSH negotiates no MAC for them.
    if (LIST_NAMES[i] === 'MACs' && theirs.length === 0) continue
    const ours = OURS[i]!
    if (!theirs.some((name) => ours.has(name))) return `no ${LIST_NAMES[i]} in common; the server offers ${theirs.join(',').slice(0, 300) || 'none at all'}`
  }
  return null
}

export class KexProbeSession {
  private readonly hello = new ServerHelloReader()
  private state: State = { kind: 'hello' }
  private buffer: Buffer = Buffer.alloc(0)
  private skipped = 0

  constructor(private readonly groups: readonly ProbeGroup[]) {}

  /** What the server has told so far: banner, KEXINIT lists. */
  get serverHello(): ServerHello {
    return this.hello.result
  }

  /** True once past the server's KEXINIT. */
  get inKeyExchange(): boolean {
    return this.state.kind === 'reply'
  }

  /** The first bytes to send, as soon as the connection is up: our identification line and our
   * KEXINIT (RFC 4253 §7.1: each side sends KEXINIT without waiting for the other's). It names every
   * key exchange method we speak, cheapest first, and the host key algorithms of our groups; the
   * server picks the first of each it has, and so do we when its KEXINIT arrives. */
  start(): Buffer {
    return openingFor(this.groups)
  }

  /** Feed the next bytes from the server. */
  push(chunk: Buffer): KexStep {
    if (this.state.kind === 'done') return NO_STEP
    if (this.state.kind === 'hello') {
      const hello = this.hello.push(chunk)
      if (hello.kind === 'incomplete') return NO_STEP
      if (hello.kind === 'invalid') return this.end({ kind: 'failed', detail: hello.reason })
      const step = this.answerKexinit(hello)
      if (step.outcome !== null || this.hello.remainder.length === 0) return step
      // The server sent more after its KEXINIT in the same chunk: read it on.
      const next = this.readPackets(this.hello.remainder)
      const write = next.write === null ? step.write : Buffer.concat([step.write!, next.write])
      return { write, outcome: next.outcome }
    }
    return this.readPackets(chunk)
  }

  private end(outcome: KexOutcome, write: Buffer | null = null): KexStep {
    this.state = { kind: 'done' }
    this.buffer = Buffer.alloc(0)
    return { write, outcome }
  }

  /** RFC 4253 §7.1: both sides pick, from the client's lists, the first name the server also has; we
   * do the same with the server's KEXINIT and send the method's first message. */
  private answerKexinit(hello: Extract<ServerHello, { kind: 'kexinit' }>): KexStep {
    const negotiated = negotiateHostKey(this.groups, hello.offered.serverHostKey)
    if (negotiated === null) return this.end({ kind: 'not-offered' })
    const method = chooseKex(hello.offered.kex)
    if (method === null) {
      return this.end({ kind: 'failed', detail: `no key exchange method in common; the server offers ${hello.offered.kex.join(',').slice(0, 300)}` })
    }
    const unmatched = unmatchedList(hello.lists)
    if (unmatched !== null) return this.end({ kind: 'failed', detail: unmatched })
    this.state = {
      kind: 'reply',
      method,
      algorithm: negotiated.algorithm,
      expect: method.kind === 'gex' ? SSH_MSG_KEX_DH_GEX_GROUP : SSH_MSG_KEXDH_REPLY,
    }
    return { write: framePacket(kexInitPayload(method)), outcome: null }
  }

  /** RFC 4253 §6 packets, no MAC before NEWKEYS, framed as the hello reader frames them. */
  private readPackets(chunk: Buffer): KexStep {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk])
    let write: Buffer | null = null
    for (;;) {
      if (this.state.kind !== 'reply') return { write, outcome: null }
      const packet = readPacket(this.buffer, 0)
      if (packet.kind === 'incomplete') return { write, outcome: null }
      if (packet.kind === 'invalid') return this.end({ kind: 'failed', detail: packet.reason })
      this.buffer = this.buffer.subarray(packet.end)
      const step = this.handle(packet.payload)
      if (step.outcome !== null) return { write: step.write ?? write, outcome: step.outcome }
      if (step.write !== null) write = write === null ? step.write : Buffer.concat([write, step.write])
    }
  }

  private handle(payload: Buffer): KexStep {
    const state = this.state as Extract<State, { kind: 'reply' }>
    const type = payload[0]!
    try {
      if (isIgnorableMessage(type)) {
        if (++this.skipped > MAX_SKIPPED_PACKETS) return this.end({ kind: 'failed', detail: `more than ${MAX_SKIPPED_PACKETS} ignorable packets during key exchange` })
        return NO_STEP
      }
      if (type === SSH_MSG_DISCONNECT) {
        // RFC 4253 §11.1: uint32 reason code, string description, string language tag.
        const reader = new SshReader(payload, 'DISCONNECT', { start: 1 })
        const code = reader.uint32('reason code')
        const description = printable(reader.string('description').subarray(0, 200))
        return this.end({ kind: 'failed', detail: `server disconnected during key exchange (code ${code}): ${description}` })
      }
      if (type !== state.expect) {
        return this.end({ kind: 'failed', detail: `expected message ${state.expect} during ${state.method.name} key exchange, got message ${type}` })
      }
      if (state.method.kind === 'gex' && type === SSH_MSG_KEX_DH_GEX_GROUP) {
        // RFC 4419 §3: mpint p, mpint g.
        const reader = new SshReader(payload, 'KEX_DH_GEX_GROUP', { start: 1 })
        const p = bigintFromMagnitude(reader.unsignedMpint('p', GEX_MAX_PRIME_BYTES))
        const g = bigintFromMagnitude(reader.unsignedMpint('g', GEX_MAX_PRIME_BYTES))
        this.state = { ...state, expect: SSH_MSG_KEX_DH_GEX_REPLY }
        return { write: framePacket(gexInitPayload(p, g)), outcome: null }
      }
      return this.end(this.readReply(payload, state))
    } catch (err) {
      if (err instanceof SshWireError || err instanceof RangeError) {
        return this.end({ kind: 'failed', detail: `malformed message ${type} during ${state.method.name} key exchange: ${err.message}` })
      }
      throw err
    }
  }

  /** The reply's first field is K_S, the host key or certificate; the rest (f or Q_S, the
   * signature) is not read: the probe ends here. */
  private readReply(payload: Buffer, state: Extract<State, { kind: 'reply' }>): KexOutcome {
    const blob = new SshReader(payload, 'key exchange reply', { start: 1 }).string('host key', MAX_HOST_KEY_BYTES)
    const format = keyFormatOf(state.algorithm)
    const sent = new SshReader(blob, 'host key').string('key type', MAX_NAME_LENGTH).toString('latin1')
    if (sent !== format) {
      return { kind: 'failed', detail: `server sent a ${printable(Buffer.from(sent, 'latin1'))} key where ${state.algorithm} was negotiated` }
    }
    try {
      return { kind: 'key', key: readHostKeyBlob(blob), algorithm: state.algorithm, kex: state.method.name }
    } catch (err) {
      if (err instanceof KeyBlobError) return { kind: 'failed', detail: `server sent a malformed host key: ${err.message}` }
      throw err
    }
  }
}
