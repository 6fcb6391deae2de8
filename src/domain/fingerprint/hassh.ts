import { hash } from 'node:crypto'
import type { OfferedAlgorithms } from '../observation.js'

/* HASSH server fingerprint (Salesforce, 2018): MD5, lowercase hex, of the server's KEXINIT lists
 * `kex;encryption;mac;compression`, each as sent (comma-separated, in order), the server-to-client
 * direction for the last three. Tools that log HASSH (Zeek, Suricata, hassh.py) print the same value
 * for the same server configuration. */

/** The HASSH string before hashing (`hasshServerAlgorithms` in hassh.py). */
export function hasshServerAlgorithms(offered: OfferedAlgorithms): string {
  return [offered.kex, offered.ciphers.serverToClient, offered.macs.serverToClient, offered.compression.serverToClient]
    .map((list) => list.join(','))
    .join(';')
}

export function hasshServer(offered: OfferedAlgorithms): string {
  return hash('md5', hasshServerAlgorithms(offered), 'hex')
}
