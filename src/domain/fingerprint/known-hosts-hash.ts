import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/* Hashed known_hosts names (OpenSSH hostfile.c, `ssh-keygen -H`): `|1|base64(salt)|base64(hmac)`,
 * hmac = HMAC-SHA1(key = 20-byte salt, message = the name), the name being `host` on port 22 and
 * `[host]:port` otherwise (domain/target.ts hostIdentity writes it). The one owner of known_hosts
 * name hashing: export, import and matching all come through here. */

export const HASH_MAGIC = '|1|'

/** `|1|salt|hmac` for a name; a fresh random salt unless one is given (tests). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hmac = createHmac('sha1', salt).update(name).digest()
  return `${HASH_MAGIC}${salt.toString('base64')}|${hmac.toString('base64')}`
}

/** Splits `|1|salt|hmac` into its parts; null if it is not one. */
export function parseHashedName(text: string): { salt: Buffer; hmac: Buffer } | null {
  const match = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/.exec(text)
  if (!match) return null
  const salt = Buffer.from(match[1]!, 'base64')
  const hmac = Buffer.from(match[2]!, 'base64')
  if (salt.length !== 20 || hmac.length !== 20) return null
  return { salt, hmac }
}

/** True when the hashed entry (salt, hmac) names `name`. */
export function hashedNameMatches(salt: Buffer, hmac: Buffer, name: string): boolean {
  return timingSafeEqual(createHmac('sha1', salt).update(name).digest(), hmac)
}
