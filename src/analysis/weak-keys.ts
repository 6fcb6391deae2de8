import type { Finding } from '../domain/finding.js'
import type { HostKey } from '../domain/host-key.js'

type WeighedKey = Pick<HostKey, 'type' | 'family' | 'bits' | 'sha256'>

/** NIST SP 800-57 and OpenSSH 9 (which refuses RSA keys under 1024 bits and plans 2048): below this, RSA is weak. */
export const MIN_RSA_BITS = 2048

/** weak_key for every RSA key under 2048 bits and every DSA key (DSA is gone from OpenSSH 10). */
export function findWeakKeys(host: string, keys: readonly WeighedKey[]): Finding[] {
  const findings: Finding[] = []
  for (const key of keys) {
    let message: string | null = null
    if (key.family === 'rsa' && key.bits < MIN_RSA_BITS) {
      message =
        `${host} serves a ${key.bits}-bit RSA key (${key.sha256}), under the ${MIN_RSA_BITS}-bit minimum. ` +
        `Generate a new one (ssh-keygen -t rsa -b 3072 -f /etc/ssh/ssh_host_rsa_key) or drop RSA for Ed25519.`
    } else if (key.family === 'dsa') {
      message =
        `${host} serves a DSA key (${key.sha256}); DSA is limited to 1024 bits and removed from OpenSSH 10. ` +
        `Remove its HostKey line from sshd_config and rely on Ed25519 or RSA.`
    }
    if (message) {
      findings.push({
        kind: 'weak_key',
        severity: 'warning',
        host,
        hosts: [host],
        keyType: key.type,
        fingerprint: key.sha256,
        previous: null,
        message,
      })
    }
  }
  return findings
}
