/* binary packet : RFC 4253 §6, as sent before any key is agreed (no encryption, no MAC):
 *   uint32   packet_length   the bytes after this field
 *   byte     padding_length  at least 4
 *   byte[n1] payload         n1 = packet_length - padding_length - 1; its first byte is the message number
 *   byte[n2] random padding  n2 = padding_length; the whole packet a multiple of 8 bytes
 * One framer for every packet the probe reads (the server's KEXINIT, the key-exchange replies)
 * and writes. */

/** RFC 4253 §6.1: implementations must handle packets of 35000 bytes total; a KEXINIT is ~1-2 KB. */
export const MAX_PACKET_BYTES = 35000
/** RFC 4253 §6: at least padding_length, a message byte and 4 bytes of padding. */
const MIN_PACKET_LENGTH = 6
/** RFC 4253 §6: at least four bytes of padding. */
const MIN_PADDING = 4

export const SSH_MSG_DISCONNECT = 1
export const SSH_MSG_IGNORE = 2
export const SSH_MSG_UNIMPLEMENTED = 3
export const SSH_MSG_DEBUG = 4
export const SSH_MSG_KEXINIT = 20

/** Messages a peer may send at any time and that ask nothing of us (RFC 4253 §11). */
export function isIgnorableMessage(type: number): boolean {
  return type === SSH_MSG_IGNORE || type === SSH_MSG_DEBUG || type === SSH_MSG_UNIMPLEMENTED
}

export type PacketRead =
  /** More bytes are needed to finish the packet that starts here. */
  | { readonly kind: 'incomplete' }
  /** `payload` is a view into the buffer; the next packet starts at `end`. */
  | { readonly kind: 'packet'; readonly payload: Buffer; readonly end: number }
  | { readonly kind: 'invalid'; readonly reason: string }

/** The packet starting at `start` in `buffer`, whose bytes up to `end` have arrived. A length the
 * limits refuse is invalid as soon as its four bytes are in, before the packet is waited for. */
export function readPacket(buffer: Buffer, start: number, end = buffer.length): PacketRead {
  const available = end - start
  if (available < 4) return { kind: 'incomplete' }
  const packetLength = buffer.readUInt32BE(start)
  if (packetLength > MAX_PACKET_BYTES) return { kind: 'invalid', reason: `packet length ${packetLength} exceeds ${MAX_PACKET_BYTES} bytes (RFC 4253 §6.1)` }
  if (packetLength < MIN_PACKET_LENGTH) return { kind: 'invalid', reason: `packet length ${packetLength} is too short (RFC 4253 §6)` }
  if (available < 4 + packetLength) return { kind: 'incomplete' }
  const paddingLength = buffer[start + 4]!
  if (paddingLength < MIN_PADDING || paddingLength + 1 >= packetLength) {
    return { kind: 'invalid', reason: `padding length ${paddingLength} does not fit packet of ${packetLength} bytes (RFC 4253 §6)` }
  }
  return { kind: 'packet', payload: buffer.subarray(start + 5, start + 4 + packetLength - paddingLength), end: start + 4 + packetLength }
}

/** `payload` framed as a packet: padded to a multiple of 8 bytes with at least 4 bytes of padding.
 * The padding need not be random before keys are agreed (nothing is encrypted), so it is zeros. */
export function framePacket(payload: Buffer): Buffer {
  let padding = 8 - ((5 + payload.length) % 8)
  if (padding < MIN_PADDING) padding += 8
  const out = Buffer.alloc(5 + payload.length + padding)
  out.writeUInt32BE(1 + payload.length + padding, 0)
  out[4] = padding
  payload.copy(out, 5)
  return out
}
