import type { HostKey } from '../host-key.js'
import { KEY_TYPES } from '../host-key.js'
import { describeKey, KeyBlobError } from './key-blob.js'
import { parseHashedName } from './known-hosts-hash.js'

/* A known_hosts line (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *   [@cert-authority|@revoked] NAMES KEYTYPE BASE64 [COMMENT]
 * NAMES is a comma-separated list of `host`, `[host]:port` and patterns, or one `|1|salt|hmac`. */

export interface KnownHostsEntry {
  readonly marker: '@cert-authority' | '@revoked' | null
  /** Plain names as written (`host`, `[host]:port`, patterns); empty for a hashed entry. */
  readonly names: readonly string[]
  readonly hashed: { readonly salt: Buffer; readonly hmac: Buffer } | null
  readonly key: HostKey
}

/** Why a line is not a known_hosts entry, in words. */
export class KnownHostsSyntaxError extends Error {
  override name = 'KnownHostsSyntaxError'
}

/** A `TYPE BASE64` pair as a HostKey; throws KnownHostsSyntaxError when it is not one we know. */
export function parsePublicKeyFields(type: string, base64: string): HostKey {
  if (!(KEY_TYPES as readonly string[]).includes(type)) throw new KnownHostsSyntaxError(`unknown key type '${type.slice(0, 40)}'`)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new KnownHostsSyntaxError('the key is not base64')
  try {
    const key = describeKey(Buffer.from(base64, 'base64'))
    if (key.type !== type) throw new KnownHostsSyntaxError(`the line says ${type} but the key is ${key.type}`)
    return key
  } catch (e) {
    if (e instanceof KeyBlobError) throw new KnownHostsSyntaxError(e.message)
    throw e
  }
}

/** Parses one line; null for a blank line or a comment. Throws KnownHostsSyntaxError. */
export function parseKnownHostsEntry(line: string): KnownHostsEntry | null {
  const text = line.trim()
  if (text === '' || text.startsWith('#')) return null
  const fields = text.split(/\s+/)
  let marker: KnownHostsEntry['marker'] = null
  if (fields[0]?.startsWith('@')) {
    if (fields[0] !== '@cert-authority' && fields[0] !== '@revoked') {
      throw new KnownHostsSyntaxError(`unknown marker '${fields[0].slice(0, 20)}'`)
    }
    marker = fields.shift() as '@cert-authority' | '@revoked'
  }
  if (fields.length < 3) throw new KnownHostsSyntaxError('expected NAMES KEYTYPE BASE64')
  const [names, type, base64] = fields as [string, string, string]
  const key = parsePublicKeyFields(type, base64)
  if (names.startsWith('|')) {
    const hashed = parseHashedName(names)
    if (!hashed) throw new KnownHostsSyntaxError(`'${names.slice(0, 60)}' is not a hashed name (|1|salt|hmac)`)
    return { marker, names: [], hashed, key }
  }
  return { marker, names: names.split(',').filter((n) => n !== ''), hashed: null, key }
}
