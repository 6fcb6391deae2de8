/* Builders for the clear-text part of an SSH server's greeting (RFC 4253 §4.2, §6, §7.1), for
 * unit tests of the KEXINIT reader and for hostile in-process peers, on the writers src/ uses. */

import { sshBoolean, sshByte, sshString, sshUint32 } from '../../src/domain/ssh-wire.js'
import { framePacket, SSH_MSG_KEXINIT } from '../../src/ssh/binary-packet.js'

export { sshString } from '../../src/domain/ssh-wire.js'

/** RFC 4253 §6 binary packet with no MAC, framed as the probe frames its own. `paddingLength` and
 * `packetLength` override the header's fields, for malformed packets: the padding is then that
 * many zero bytes, and the packet length field says whatever it is told. */
export function sshPacket(payload: Buffer, options: { paddingLength?: number; packetLength?: number } = {}): Buffer {
  if (options.paddingLength === undefined && options.packetLength === undefined) return framePacket(payload)
  const padding = options.paddingLength ?? framePacket(payload)[4]!
  const packetLength = options.packetLength ?? 1 + payload.length + padding
  return Buffer.concat([sshUint32(packetLength), sshByte(padding), payload, Buffer.alloc(padding)])
}

export interface KexinitLists {
  kex?: string
  serverHostKey?: string
  cipher?: string
  mac?: string
  compression?: string
}

/** RFC 4253 §7.1 SSH_MSG_KEXINIT payload. */
export function kexinitPayload(lists: KexinitLists = {}): Buffer {
  const cipher = lists.cipher ?? 'aes128-ctr,aes256-ctr'
  const mac = lists.mac ?? 'hmac-sha2-256'
  const compression = lists.compression ?? 'none'
  return Buffer.concat([
    sshByte(SSH_MSG_KEXINIT),
    Buffer.alloc(16, 0xab), // cookie
    sshString(lists.kex ?? 'curve25519-sha256,diffie-hellman-group14-sha256'),
    sshString(lists.serverHostKey ?? 'ssh-ed25519,rsa-sha2-512'),
    sshString(cipher),
    sshString(cipher),
    sshString(mac),
    sshString(mac),
    sshString(compression),
    sshString(compression),
    sshString(''),
    sshString(''),
    sshBoolean(false), // first_kex_packet_follows
    sshUint32(0), // reserved
  ])
}

export const OPENSSH_BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10'

/** A complete, well-formed server greeting: identification line and KEXINIT packet. */
export function serverGreeting(lists: KexinitLists = {}, banner = OPENSSH_BANNER): Buffer {
  return Buffer.concat([Buffer.from(`${banner}\r\n`, 'latin1'), sshPacket(kexinitPayload(lists))])
}
