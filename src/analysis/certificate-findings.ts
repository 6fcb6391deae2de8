import { describeCertificateValidity, type HostCertificate } from '../domain/certificate.js'
import { hostkeysCommand } from '../domain/shell-quote.js'
import type { AuthorityTrust, RecordedCertificate } from '../domain/certificate-history.js'
import type { Finding, FindingKind, Severity } from '../domain/finding.js'
import type { KeyFamily } from '../domain/host-key.js'
import { matchesHostPatterns } from '../domain/host-patterns.js'
import { isIpLiteral } from '../domain/target.js'
import type { ScannedKey } from '../domain/scanned-host.js'
import { finding } from './host-findings.js'

/* Host certificates (PROTOCOL.certkeys), judged as ssh would judge them when connecting by one of the
 * host's names, plus what only a history can tell: a different CA than last time (ca_changed), a
 * certificate renewed (cert_renewed), one no longer presented (cert_removed).
 *
 * Every finding is about the certified key, so its identity (kind|host|fingerprint) follows the key:
 * a host re-keyed under a new certificate resolves the old key's findings and raises the new one's. */

export interface CertificatePolicy {
  /** The scan's clock, for validity. */
  readonly now: Date
  /** cert_expiring when a certificate ends within this many days (`--cert-warn-days`). */
  readonly warnDays: number
}

export const DEFAULT_CERT_WARN_DAYS = 30

export interface CertifiedHost {
  readonly host: string
  /** Every name and address the host is known by, bare (no brackets or port). */
  readonly names: readonly string[]
  readonly port: number
  readonly keys: readonly ScannedKey[]
}

export interface CertificateContext {
  /** Trusted CAs; null when there is no trust list to judge by (`--no-store`): no cert_untrusted_ca. */
  readonly trust: readonly AuthorityTrust[] | null
  /** The last certificate recorded per family; null or empty for a host never seen with one. */
  readonly previous: ReadonlyMap<KeyFamily, RecordedCertificate> | null
}

const DAY_MS = 86_400_000

function day(date: Date): string {
  return date.toISOString().slice(0, 10)
}

function describe(cert: HostCertificate): string {
  return `key id "${cert.keyId}", serial ${cert.serial}, CA ${cert.ca.sha256}`
}

/** ssh compares a host certificate's principals with the name it connects by, lowercase; principals
 * may hold `*` and `?` (OpenSSH accepts wildcard principals in host certificates). */
function principalNames(cert: HostCertificate, names: readonly string[]): boolean {
  if (cert.principals.length === 0) return true // PROTOCOL.certkeys: no principals, valid for any
  const lower = names.map((n) => n.toLowerCase())
  return cert.principals.some((principal) => {
    const pattern = new RegExp(`^${principal.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
    return lower.some((name) => pattern.test(name))
  })
}

/** Whether a certificate the host serves is signed by the family's trusted CA (or is the family's
 * first): recorded as trusted, the baseline later ones are compared with. */
export function isTrustedCertificate(cert: HostCertificate, before: RecordedCertificate | undefined): boolean {
  return !before || before.trustedCaSha256 === null || before.trustedCaSha256 === cert.ca.sha256
}

/** The certificate findings of one host this scan reached. */
export function certificateFindings(host: CertifiedHost, policy: CertificatePolicy, context: CertificateContext): Finding[] {
  const findings: Finding[] = []
  const raise = (kind: FindingKind, severity: Severity, key: ScannedKey, message: string, previous: Finding['previous'] = null): void => {
    findings.push(finding({ kind, severity, host: host.host, keyType: key.type, fingerprint: key.sha256, previous, message }))
  }
  for (const key of host.keys) {
    const cert = key.certificate
    const before = context.previous?.get(key.family)
    if (!cert) {
      if (before && !before.removed) {
        raise(
          'cert_removed',
          'warning',
          key,
          `${host.host} serves its ${key.type} key (${key.sha256}) without the certificate it presented before (CA ${before.caSha256}, serial ${before.serial}). ` +
            `Clients that trust the CA instead of known_hosts entries will refuse it or ask; a man in the middle cannot forge a certificate, so a missing one is how an interceptor looks. ` +
            `Check the host's HostCertificate line; if it was removed on purpose, run \`${hostkeysCommand('accept', host.host)}\`.`,
        )
      }
      continue
    }
    const what = `${host.host} presents a ${key.type} certificate (${describe(cert)})`
    if (cert.kind !== 'host') {
      raise('cert_not_host', 'critical', key, `${what} that is a USER certificate: ssh refuses it as a host key. A user certificate in sshd's HostCertificate line is a mistake or an impersonation attempt; replace it with one signed with ssh-keygen -h.`)
      continue
    }
    if (!cert.signatureValid) {
      raise('cert_bad_signature', 'critical', key, `${what} whose CA signature does not verify (${cert.signatureAlgorithm || 'unreadable signature'}): it was altered or forged and no client accepts it. Treat the host as untrusted until it presents a certificate its CA really signed.`)
      continue
    }
    const validity = describeCertificateValidity(cert, policy.now)
    if (validity.kind === 'expired') {
      raise('cert_expired', 'critical', key, `${what} that expired on ${day(cert.validBefore!)}${validity.daysAgo > 0 ? ` (${validity.daysAgo} days ago)` : ''}: clients that trust the CA refuse it. Sign a new one (ssh-keygen -s CA -h -I ID -n NAMES -V +52w) and reload sshd.`)
    } else if (validity.kind === 'not-yet-valid') {
      raise('cert_not_yet_valid', 'warning', key, `${what} that is valid only from ${cert.validAfter!.toISOString()} (in ${validity.daysUntil} days): clients refuse it until then. Check the signer's clock and the -V range it was signed with.`)
    } else if (cert.validBefore === null) {
      raise('cert_no_expiry', 'warning', key, `${what} that never expires: if the host key leaks, the certificate cannot age out and must be revoked everywhere. Sign it with a validity period (ssh-keygen -V +52w).`)
    } else if (cert.validBefore.getTime() - policy.now.getTime() <= policy.warnDays * DAY_MS) {
      raise('cert_expiring', 'warning', key, `${what} that expires on ${day(cert.validBefore)}, in ${validity.kind === 'valid' ? validity.daysLeft : 0} days (warning at ${policy.warnDays}, --cert-warn-days). Renew it before then.`)
    }
    // A host the inventory knows only by address: people reach it by some name we cannot know, so a
    // certificate naming DNS names is not evidence ssh would refuse it (a /24 of certified hosts would
    // otherwise raise one warning each). A principal that is an address is still checked.
    const named = host.names.some((name) => !isIpLiteral(name))
    if ((named || cert.principals.some(isIpLiteral)) && !principalNames(cert, host.names)) {
      raise(
        'cert_principal_mismatch',
        'warning',
        key,
        `${what} for ${cert.principals.join(', ')}, none of which is a name or address of this host (${host.names.join(', ')}): ssh connecting by those names refuses the certificate. Re-sign it with -n naming the host.`,
      )
    }
    if (context.trust !== null) {
      const byCa = context.trust.filter((t) => t.sha256 === cert.ca.sha256)
      // A CA trusted for some patterns, at a host known only by address: whether a name it goes by is
      // among them cannot be told, so only a CA trusted for nothing at all is said to be untrusted.
      const judged = byCa.length === 0 || named
      if (judged && !byCa.some((t) => matchesHostPatterns(t.patterns, host.names, host.port))) {
        raise(
          'cert_untrusted_ca',
          'warning',
          key,
          byCa.length === 0
            ? `${what} signed by a CA no trusted list names: clients with the fleet's @cert-authority lines do not accept it. If the CA is yours, trust it (hostkeys ca trust CA.pub --names PATTERNS); if not, find out who signed it.`
            : `${what} signed by a CA trusted only for ${byCa.flatMap((t) => t.patterns).join(',')}, which does not name this host: clients do not accept it for it. Widen the CA's patterns (hostkeys ca trust CA.pub --names ...) or sign with the CA meant for this host.`,
        )
      }
    }
    if (before) {
      if (before.trustedCaSha256 !== null && before.trustedCaSha256 !== cert.ca.sha256) {
        raise(
          'ca_changed',
          'critical',
          key,
          `${what}, but its certificates were signed by CA ${before.trustedCaSha256}. If the fleet's CA was rotated, run \`${hostkeysCommand('accept', host.host)}\`; if not, a host or interceptor with another CA is answering for ${host.host}.`,
          before.trustedCaSha256,
        )
      } else if (before.caSha256 === cert.ca.sha256 && before.keySha256 === key.sha256 && before.serial !== cert.serial) {
        raise(
          'cert_renewed',
          'info',
          key,
          `${host.host} renewed the certificate of its ${key.type} key: serial ${before.serial} -> ${cert.serial}, ${cert.validBefore ? `valid until ${day(cert.validBefore)}` : 'no expiry'}${before.validBefore ? ` (was ${day(before.validBefore)})` : ''}.`,
        )
      }
    }
  }
  return findings
}
