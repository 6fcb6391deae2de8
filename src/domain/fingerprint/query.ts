import { UserError } from '../errors.js'
import { KEY_TYPES } from '../host-key.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry, parsePublicKeyFields } from './known-hosts-entry.js'

/* lookup query : what people paste into `hostkeys lookup`: a fingerprint in any common form, a public
 *                key line, a known_hosts line; or a host name or address. */

export type LookupQuery =
  | { readonly kind: 'key'; readonly digest: 'sha256' | 'md5'; readonly value: Buffer; readonly form: string }
  | { readonly kind: 'host'; readonly name: string }

export const LOOKUP_FORMS = [
  'SHA256:<base64> (ssh-keygen -l)',
  'MD5:aa:bb:... (ssh-keygen -l -E md5)',
  'a bare MD5 hex digest, with or without colons',
  'a bare 64-character SHA-256 hex digest (Censys, zgrab2)',
  "a public key line ('ssh-ed25519 AAAA... comment')",
  'a known_hosts line (plain or hashed)',
  'a host name or address',
]

function malformed(query: string, why: string): UserError {
  const shown = query.length > 80 ? `${query.slice(0, 77)}...` : query
  return new UserError(`'${shown}' ${why}; lookup accepts ${LOOKUP_FORMS.join('; ')}`)
}

const HOST = /^(\[[^\]\s]+\]:\d{1,5}|[A-Za-z0-9_.%:-]+)$/

/** Classifies a lookup query; a query that starts like a fingerprint but is malformed is a UserError. */
export function parseLookupQuery(input: string): LookupQuery {
  const query = input.trim()
  if (query === '') throw malformed(query, 'is empty')

  const sha = /^sha256:(.*)$/i.exec(query)
  if (sha) {
    const b64 = sha[1]!.replace(/=+$/, '')
    const digest = Buffer.from(b64, 'base64')
    if (!/^[A-Za-z0-9+/]{43}$/.test(b64) || digest.length !== 32) {
      throw malformed(query, 'is not a SHA256 fingerprint (43 base64 characters after SHA256:)')
    }
    return { kind: 'key', digest: 'sha256', value: digest, form: 'SHA256 fingerprint' }
  }
  const md5 = /^md5:(.*)$/i.exec(query)
  if (md5) {
    const hex = md5[1]!
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/i.test(hex) && !/^[0-9a-f]{32}$/i.test(hex)) {
      throw malformed(query, 'is not an MD5 fingerprint (16 colon-separated hex bytes after MD5:)')
    }
    return { kind: 'key', digest: 'md5', value: Buffer.from(hex.replace(/:/g, ''), 'hex'), form: 'MD5 fingerprint' }
  }
  if (/^[0-9a-f]{64}$/i.test(query)) {
    return { kind: 'key', digest: 'sha256', value: Buffer.from(query, 'hex'), form: 'SHA-256 hex digest' }
  }
  if (/^[0-9a-f]{32}$/i.test(query) || /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/i.test(query)) {
    return { kind: 'key', digest: 'md5', value: Buffer.from(query.replace(/:/g, ''), 'hex'), form: 'MD5 hex digest' }
  }

  const fields = query.split(/\s+/)
  if (fields.length >= 2) {
    try {
      if ((KEY_TYPES as readonly string[]).includes(fields[0]!)) {
        const key = parsePublicKeyFields(fields[0]!, fields[1]!)
        return { kind: 'key', digest: 'sha256', value: Buffer.from(key.sha256Hex, 'hex'), form: 'public key line' }
      }
      const typeField = fields[0]!.startsWith('@') ? fields[2] : fields[1]
      const entry = (KEY_TYPES as readonly string[]).includes(typeField ?? '') ? parseKnownHostsEntry(query) : null
      if (entry) return { kind: 'key', digest: 'sha256', value: Buffer.from(entry.key.sha256Hex, 'hex'), form: 'known_hosts line' }
    } catch (e) {
      if (e instanceof KnownHostsSyntaxError) throw malformed(query, `is not a usable key line (${e.message})`)
      throw e
    }
    throw malformed(query, 'is none of the accepted forms')
  }
  if (!HOST.test(query)) throw malformed(query, 'is none of the accepted forms')
  return { kind: 'host', name: query }
}
