import type { Finding } from '../domain/finding.js'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import { finding } from './host-findings.js'

/**
 * revoked_key (critical) for each key the host serves that a revocation names (an imported `@revoked`
 * line or `hostkeys revoke`; sshd(8): ssh refuses such a key outright), or whose certificate a revoked
 * CA signed. Raised at every scan until the host stops serving it.
 */
export function revokedKeyFindings(host: ScannedHost, revoked: ReadonlyMap<Sha256Fingerprint, string>): Finding[] {
  if (revoked.size === 0) return []
  return host.keys.flatMap((key): Finding[] => {
    const source = revoked.get(key.sha256)
    const caSource = key.certificate ? revoked.get(key.certificate.ca.sha256) : undefined
    let message: string
    if (source !== undefined) {
      message =
        `${host.host} serves the ${key.type} key ${key.sha256}, which ${source} marks @revoked: ssh refuses it. ` +
        `Replace the host's key (ssh-keygen -A after removing it) unless the host itself is not what it claims to be.`
    } else if (caSource !== undefined) {
      message =
        `${host.host} presents a certificate for its ${key.type} key ${key.sha256} signed by the CA ${key.certificate!.ca.sha256}, ` +
        `which ${caSource} marks @revoked: ssh refuses it, and the CA vouches for nothing. Re-sign the host key with a CA in force.`
    } else return []
    return [finding({ kind: 'revoked_key', severity: 'critical', host: host.host, keyType: key.type, fingerprint: key.sha256, previous: null, message })]
  })
}
