import { hash } from 'node:crypto'
import type { OfferedAlgorithms } from './observation.js'

/* server configuration : what a server says about itself before any key is exchanged: its
 *                        identification line (RFC 4253 §4.2) and its KEXINIT name-lists (§7.1).
 * Two hosts with the same configuration run the same software set up the same way; a host whose
 * configuration changes while its keys do not was upgraded or reconfigured (config_changed). */

export interface ServerConfig {
  readonly banner: string | null
  readonly offered: OfferedAlgorithms
}

/** The name-lists in KEXINIT order, with the names the history and reports use for them. */
export const CONFIG_LISTS = [
  ['kex', (o: OfferedAlgorithms) => o.kex],
  ['host key', (o: OfferedAlgorithms) => o.serverHostKey],
  ['ciphers client-to-server', (o: OfferedAlgorithms) => o.ciphers.clientToServer],
  ['ciphers server-to-client', (o: OfferedAlgorithms) => o.ciphers.serverToClient],
  ['MACs client-to-server', (o: OfferedAlgorithms) => o.macs.clientToServer],
  ['MACs server-to-client', (o: OfferedAlgorithms) => o.macs.serverToClient],
  ['compression client-to-server', (o: OfferedAlgorithms) => o.compression.clientToServer],
  ['compression server-to-client', (o: OfferedAlgorithms) => o.compression.serverToClient],
] as const

/** SHA-256 over the banner and every list in order: equal exactly when the configurations are.
 * Order counts: it is the server's preference, and a change of preference is a change of configuration. */
export function configDigest(config: ServerConfig): Buffer {
  // A NUL cannot occur in a banner (kexinit.ts refuses it) nor in a name-list (RFC 4251 §6: US-ASCII
  // without commas): it separates the parts unambiguously.
  const parts = [config.banner ?? '\u0001', ...CONFIG_LISTS.map(([, list]) => list(config.offered).join(','))]
  return hash('sha256', parts.join('\u0000'), 'buffer')
}

/** What changed from one configuration to the next, in words: the banner, and names added to or
 * removed from each list (a reordering alone says so). Empty when they are equal. */
export function describeConfigChange(before: ServerConfig, after: ServerConfig): string[] {
  const changes: string[] = []
  if (before.banner !== after.banner) changes.push(`banner ${JSON.stringify(before.banner)} -> ${JSON.stringify(after.banner)}`)
  const lists: [string, readonly string[], readonly string[]][] = [
    ['kex', before.offered.kex, after.offered.kex],
    ['host key', before.offered.serverHostKey, after.offered.serverHostKey],
  ]
  for (const name of ['ciphers', 'macs', 'compression'] as const) {
    const was = before.offered[name]
    const now = after.offered[name]
    const label = name === 'macs' ? 'MACs' : name
    // Both directions nearly always carry one list (sshd_config has one Ciphers line): say it once.
    if (sameNames(was.clientToServer, was.serverToClient) && sameNames(now.clientToServer, now.serverToClient)) {
      lists.push([label, was.serverToClient, now.serverToClient])
    } else {
      lists.push([`${label} client-to-server`, was.clientToServer, now.clientToServer])
      lists.push([`${label} server-to-client`, was.serverToClient, now.serverToClient])
    }
  }
  for (const [label, was, now] of lists) {
    const added = now.filter((n) => !was.includes(n))
    const removed = was.filter((n) => !now.includes(n))
    const parts: string[] = []
    if (added.length > 0) parts.push(`+${added.join(' +')}`)
    if (removed.length > 0) parts.push(`-${removed.join(' -')}`)
    if (parts.length === 0 && !sameNames(was, now)) parts.push('same names, new order')
    if (parts.length > 0) changes.push(`${label}: ${parts.join(' ')}`)
  }
  return changes
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i])
}


const CERTIFICATE_SUFFIX = '-cert-v01@openssh.com'

/** The key type a host key algorithm signs with (RFC 8332: rsa-sha2-* are ssh-rsa keys). */
function keyTypeOfAlgorithm(algorithm: string): string {
  const plain = algorithm.endsWith(CERTIFICATE_SUFFIX) ? algorithm.slice(0, -CERTIFICATE_SUFFIX.length) : algorithm
  return plain === 'rsa-sha2-256' || plain === 'rsa-sha2-512' ? 'ssh-rsa' : plain
}

/**
 * What changed besides the host's keys: sshd offers a host key algorithm for each key and certificate
 * it loads, so a key or certificate added or removed changes that list (key_added, key_removed and
 * the certificate findings say so, or will once a scan asks for that family). The host key list is
 * compared only over plain algorithms of key types served before and after.
 */
export function describeConfigChangeBesidesKeys(before: ServerConfig, after: ServerConfig): string[] {
  const types = (list: readonly string[]) => new Set(list.map(keyTypeOfAlgorithm))
  const beforeTypes = types(before.offered.serverHostKey)
  const afterTypes = types(after.offered.serverHostKey)
  const kept = (list: readonly string[]) =>
    list.filter((a) => !a.endsWith(CERTIFICATE_SUFFIX) && beforeTypes.has(keyTypeOfAlgorithm(a)) && afterTypes.has(keyTypeOfAlgorithm(a)))
  const narrowed = (config: ServerConfig): ServerConfig => ({ banner: config.banner, offered: { ...config.offered, serverHostKey: kept(config.offered.serverHostKey) } })
  return describeConfigChange(narrowed(before), narrowed(after))
}
