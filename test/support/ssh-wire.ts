/* Builders for the clear-text part of an SSH server's greeting (RFC 4253 §4.2, §6, §7.1), for
 * unit tests of the KEXINIT reader and for hostile in-process peers. */

/** RFC 4251 §5 string: uint32 length, bytes. */
export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

/** RFC 4253 §6 binary packet with no MAC: padding to a multiple of 8, at least 4 bytes. */
export function sshPacket(payload: Buffer, options: { paddingLength?: number; packetLength?: number } = {}): Buffer {
  let padding = options.paddingLength ?? 8 - ((5 + payload.length) % 8)
  if (options.paddingLength === undefined && padding < 4) padding += 8
  const header = Buffer.alloc(5)
  header.writeUInt32BE(options.packetLength ?? 1 + payload.length + padding)
  header[4] = padding
  return Buffer.concat([header, payload, Buffer.alloc(padding)])
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
    Buffer.from([20]),
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
    Buffer.from([0]), // first_kex_packet_follows
    Buffer.alloc(4), // reserved
  ])
}

export const OPENSSH_BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10'

/** A complete, well-formed server greeting: identification line and KEXINIT packet. */
export function serverGreeting(lists: KexinitLists = {}, banner = OPENSSH_BANNER): Buffer {
  return Buffer.concat([Buffer.from(`${banner}\r\n`, 'latin1'), sshPacket(kexinitPayload(lists))])
}
