import { hash } from 'node:crypto'
import type { KeyType } from '../host-key.js'

/* randomart : the "drunken bishop" picture `ssh-keygen -lv` draws under a fingerprint (OpenSSH
 *             sshkey.c fingerprint_randomart(); Loss, Limmer and von Gernler, "The drunken bishop:
 *             An analysis of the OpenSSH fingerprint visualization algorithm", 2009). A bishop
 *             starts in the middle of a 17x9 board; each digest byte, least significant bit pair
 *             first, moves it one diagonal step (bit 0: right or left, bit 1: down or up), clamped
 *             at the walls; the more often a square is visited, the denser its character. People
 *             compare the pictures of two keys at a glance where they would not compare 43
 *             characters of base64. Reproduced byte for byte: the golden test draws every key type
 *             beside ssh-keygen 9.2. */

const FLDBASE = 8
const FIELD_Y = FLDBASE + 1 // 9 rows
const FIELD_X = FLDBASE * 2 + 1 // 17 columns

/** The characters for 0, 1, 2… visits; the last two mark the start (S) and the end (E). */
const AUGMENTATION = ' .o+=*BOX@%&#/^SE'
const TOP = AUGMENTATION.length - 1 // 'E'

export type RandomartHash = 'SHA256' | 'MD5'

/** sshkey_type(): the short name OpenSSH puts in the picture's title. */
export function shortKeyTypeName(type: KeyType): string {
  switch (type) {
    case 'ssh-ed25519':
      return 'ED25519'
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return 'ECDSA'
    case 'ssh-rsa':
      return 'RSA'
    case 'ssh-dss':
      return 'DSA'
    case 'sk-ssh-ed25519@openssh.com':
      return 'ED25519-SK'
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return 'ECDSA-SK'
  }
}

/** `+---[TITLE]---+`: the title centred as OpenSSH centres it (the extra dash goes to the right). */
function border(title: string): string {
  const left = Math.floor((FIELD_X - title.length) / 2)
  return `+${'-'.repeat(left)}${title}${'-'.repeat(FIELD_X - left - title.length)}+`
}

/** The title `[TYPE BITS]`, or `[TYPE]` when that does not fit in OpenSSH's 17-byte buffer. */
function titleOf(type: KeyType, bits: number): string {
  const full = `[${shortKeyTypeName(type)} ${bits}]`
  // snprintf into char[FIELD_X]: a result longer than the buffer falls back to the type alone; one of
  // exactly 17 characters is kept, cut to the 16 that fit before the NUL (sshkey.c compares `r > 17`).
  if (full.length > FIELD_X) return `[${shortKeyTypeName(type)}]`.slice(0, FIELD_X - 1)
  return full.slice(0, FIELD_X - 1)
}

/**
 * The picture `ssh-keygen -lv -E sha256|md5` prints for a key blob, as 11 lines joined with '\n'
 * (no final newline): top border with `[TYPE BITS]`, 9 rows, bottom border with `[SHA256]` or `[MD5]`.
 */
export function randomart(blob: Buffer, key: { readonly type: KeyType; readonly bits: number }, algorithm: RandomartHash): string {
  const digest = hash(algorithm === 'SHA256' ? 'sha256' : 'md5', blob, 'buffer')
  return randomartOfDigest(digest, titleOf(key.type, key.bits), `[${algorithm}]`)
}

/** The drawing itself, for any digest and titles. */
export function randomartOfDigest(digest: Uint8Array, title: string, footer: string): string {
  const field: number[][] = Array.from({ length: FIELD_X }, () => new Array<number>(FIELD_Y).fill(0))
  let x = Math.floor(FIELD_X / 2)
  let y = Math.floor(FIELD_Y / 2)
  for (const byte of digest) {
    let input = byte
    for (let step = 0; step < 4; step++) {
      x += input & 0x1 ? 1 : -1
      y += input & 0x2 ? 1 : -1
      x = Math.min(Math.max(x, 0), FIELD_X - 1)
      y = Math.min(Math.max(y, 0), FIELD_Y - 1)
      // A square saturates two below 'S', so a busy square never reads as the start or the end.
      if (field[x]![y]! < TOP - 2) field[x]![y]!++
      input >>= 2
    }
  }
  field[Math.floor(FIELD_X / 2)]![Math.floor(FIELD_Y / 2)] = TOP - 1
  field[x]![y] = TOP

  const rows: string[] = [border(title)]
  for (let row = 0; row < FIELD_Y; row++) {
    let line = '|'
    for (let column = 0; column < FIELD_X; column++) line += AUGMENTATION[Math.min(field[column]![row]!, TOP)]
    rows.push(`${line}|`)
  }
  rows.push(border(footer.slice(0, FIELD_X - 1)))
  return rows.join('\n')
}
