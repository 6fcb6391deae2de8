import type { KeyFamily, KeyType } from '../domain/host-key.js'

/* probe group : the host key algorithms one connection asks for, all naming one key type, as
 *               ssh-keyscan -t does it. The server picks the first of our algorithms it also has
 *               (RFC 4253 §7.1), so one connection yields one key; a host serving three ECDSA
 *               curves needs three connections, one per curve.
 *
 * Each group asks for the key's certificate first (PROTOCOL.certkeys): a server with a
 * HostCertificate for the key sends the certificate, which carries the key itself, so one
 * connection yields both; a server without one sends the plain key. */

export interface ProbeGroup {
  readonly keyType: KeyType
  readonly family: KeyFamily
  /** server_host_key_algorithms to offer, best first (RFC 4253 §6.6, RFC 8332 for rsa-sha2-*). */
  readonly algorithms: readonly string[]
}

const CERT = '-cert-v01@openssh.com'

/** Every group, in the order keys are preferred and listed: ed25519, ECDSA by curve, RSA, DSA. */
export const PROBE_GROUPS: readonly ProbeGroup[] = [
  { keyType: 'ssh-ed25519', family: 'ed25519', algorithms: [`ssh-ed25519${CERT}`, 'ssh-ed25519'] },
  { keyType: 'ecdsa-sha2-nistp256', family: 'ecdsa', algorithms: [`ecdsa-sha2-nistp256${CERT}`, 'ecdsa-sha2-nistp256'] },
  { keyType: 'ecdsa-sha2-nistp384', family: 'ecdsa', algorithms: [`ecdsa-sha2-nistp384${CERT}`, 'ecdsa-sha2-nistp384'] },
  { keyType: 'ecdsa-sha2-nistp521', family: 'ecdsa', algorithms: [`ecdsa-sha2-nistp521${CERT}`, 'ecdsa-sha2-nistp521'] },
  // An RSA key is one key whichever signature hash signs with it; older servers only know ssh-rsa.
  {
    keyType: 'ssh-rsa',
    family: 'rsa',
    algorithms: [`rsa-sha2-512${CERT}`, `rsa-sha2-256${CERT}`, `ssh-rsa${CERT}`, 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  },
  { keyType: 'ssh-dss', family: 'dsa', algorithms: [`ssh-dss${CERT}`, 'ssh-dss'] },
  // Security-key host keys (PROTOCOL.u2f): rare, but OpenSSH offers them, and so does ssh-keyscan.
  { keyType: 'sk-ssh-ed25519@openssh.com', family: 'ed25519-sk', algorithms: [`sk-ssh-ed25519${CERT}`, 'sk-ssh-ed25519@openssh.com'] },
  {
    keyType: 'sk-ecdsa-sha2-nistp256@openssh.com',
    family: 'ecdsa-sk',
    algorithms: [`sk-ecdsa-sha2-nistp256${CERT}`, 'sk-ecdsa-sha2-nistp256@openssh.com'],
  },
]

/** The groups for the families asked for (null: all), in preference order. */
export function groupsForFamilies(families: readonly KeyFamily[] | null): ProbeGroup[] {
  return PROBE_GROUPS.filter((group) => families === null || families.includes(group.family))
}

/** True when the server's server_host_key_algorithms name any algorithm of the group. */
export function isGroupOffered(group: ProbeGroup, offeredHostKeyAlgorithms: readonly string[]): boolean {
  return group.algorithms.some((algorithm) => offeredHostKeyAlgorithms.includes(algorithm))
}

/** The algorithm (and its group) both ends settle on when we offer `groups`' algorithms in order
 * (RFC 4253 §7.1: the first client algorithm the server also supports); null when none. */
export function negotiateHostKey(
  groups: readonly ProbeGroup[],
  offeredHostKeyAlgorithms: readonly string[],
): { readonly group: ProbeGroup; readonly algorithm: string } | null {
  const offered = new Set(offeredHostKeyAlgorithms)
  for (const group of groups) {
    for (const algorithm of group.algorithms) {
      if (offered.has(algorithm)) return { group, algorithm }
    }
  }
  return null
}

/** The type name a key blob carries for a negotiated algorithm: an RSA key (or certificate) is
 * typed ssh-rsa whatever hash signs with it (RFC 8332 §3, PROTOCOL.certkeys). */
export function keyFormatOf(algorithm: string): string {
  if (algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-512') return 'ssh-rsa'
  if (algorithm === `rsa-sha2-256${CERT}` || algorithm === `rsa-sha2-512${CERT}`) return `ssh-rsa${CERT}`
  return algorithm
}
