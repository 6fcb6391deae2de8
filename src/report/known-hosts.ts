import { publicKeyLine, type HostKey } from '../domain/host-key.js'
import { hostIdentity } from '../domain/target.js'
import { hashHostName } from '../domain/fingerprint/known-hosts-hash.js'

/* known_hosts lines (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): a name is `host` on port 22 and
 * `[host]:port` otherwise. Hashed names (`ssh-keygen -H`) are `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`
 * with a fresh 20-byte salt per line, so one line hashes one name. A trusted CA is one
 * `@cert-authority PATTERNS KEY` line per pattern list. */

export interface KnownHostsEntry {
  /** Names and addresses the key is known under, without port decoration. */
  readonly names: readonly string[]
  readonly port: number
  readonly key: Pick<HostKey, 'type' | 'blob'>
}

/** Lines for one entry: one line with every name, or with `hash`, one hashed line per name. */
export function renderKnownHostsLines(entry: KnownHostsEntry, options: { hash: boolean }): string[] {
  const names = [...new Set(entry.names)].map((n) => hostIdentity(n, entry.port))
  const key = publicKeyLine(entry.key)
  if (!options.hash) return [`${names.join(',')} ${key}`]
  return names.map((name) => `${hashHostName(name)} ${key}`)
}

/**
 * `@cert-authority PATTERNS TYPE BASE64` for a CA trusted for the hosts its patterns name. The
 * patterns stay in clear even where host lines are hashed: ssh compares a hashed name with the HMAC of
 * the one name it looks up, so a hashed `*.example.com` would match only a host literally named
 * `*.example.com`. `ssh-keygen -H` (OpenSSH 9.2) leaves every @cert-authority line in clear too.
 */
export function renderCertAuthorityLine(authority: { readonly patterns: readonly string[]; readonly type: HostKey['type']; readonly blob: Buffer }): string {
  return `@cert-authority ${authority.patterns.join(',')} ${publicKeyLine(authority)}`
}

/** `@revoked * TYPE BASE64`: sshd(8) "a key that must never be accepted", for every host. The `*`
 * pattern stays in clear where lines are hashed (a hashed `*` would match nothing). */
export function renderRevokedLine(key: Pick<HostKey, 'type' | 'blob'>): string {
  return `@revoked * ${publicKeyLine(key)}`
}
