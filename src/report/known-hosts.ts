import { createHmac, randomBytes } from 'node:crypto'
import { publicKeyLine, type HostKey } from '../domain/host-key.js'
import { DEFAULT_SSH_PORT } from '../domain/target.js'

/* known_hosts lines (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): a name is `host` on port 22 and
 * `[host]:port` otherwise. Hashed names (`ssh-keygen -H`) are `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`
 * with a fresh 20-byte salt per line, so one line hashes one name. */

export function knownHostsName(name: string, port: number): string {
  return port === DEFAULT_SSH_PORT ? name : `[${name}]:${port}`
}

/** HMAC-SHA1 hashed form of a known_hosts name; salt is random unless given (tests). */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest()
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`
}

export interface KnownHostsEntry {
  /** Names and addresses the key is known under, without port decoration. */
  readonly names: readonly string[]
  readonly port: number
  readonly key: Pick<HostKey, 'type' | 'blob'>
}

/** Lines for one entry: one line with every name, or with `hash`, one hashed line per name. */
export function renderKnownHostsLines(entry: KnownHostsEntry, options: { hash: boolean }): string[] {
  const names = [...new Set(entry.names)].map((n) => knownHostsName(n, entry.port))
  const key = publicKeyLine(entry.key)
  if (!options.hash) return [`${names.join(',')} ${key}`]
  return names.map((name) => `${hashKnownHostsName(name)} ${key}`)
}
