/* printable : bytes someone else chose (a server's banner, a certificate's key id or principals) as
 *             text that is safe on one line of a terminal and in a report. Printable ASCII stays as
 *             it is; every other byte, and the backslash itself, becomes \xNN. Because the backslash
 *             is escaped too, the mapping is one-to-one: '\x41' in the output can only have come
 *             from the byte 0x41 ('A' would have stayed 'A'), never from the four characters. */

/** The bytes as printable ASCII, everything else (and '\') as `\xNN`. ssh/kexinit.ts uses it for what servers send. */
export function printableBytes(bytes: Buffer): string {
  let out = ''
  for (const byte of bytes) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return out
}
