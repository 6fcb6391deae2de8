import type { HostCertificate } from '../domain/certificate.js'

/** The `certificate` object of a key in JSON output (README "JSON"); null for a plain key. */
export function certificateToJson(certificate: HostCertificate | undefined): object | null {
  if (certificate === undefined) return null
  return {
    keyId: certificate.keyId,
    serial: certificate.serial,
    principals: certificate.principals,
    validAfter: certificate.validAfter?.toISOString() ?? null,
    validBefore: certificate.validBefore?.toISOString() ?? null,
    ca: { type: certificate.ca.type, sha256: certificate.ca.sha256 },
    signatureValid: certificate.signatureValid,
    type: certificate.certType,
    kind: certificate.kind,
    signatureAlgorithm: certificate.signatureAlgorithm,
    criticalOptions: certificate.criticalOptions,
    extensions: certificate.extensions,
  }
}

/** The few words the text table adds after a certified key's fingerprint. */
export function certificateSummary(certificate: HostCertificate): string {
  const until = certificate.validBefore === null ? 'no expiry' : `until ${certificate.validBefore.toISOString().slice(0, 10)}`
  const kind = certificate.kind === 'host' ? 'cert' : 'USER cert'
  const signature = certificate.signatureValid ? '' : ', BAD SIGNATURE'
  return `(${kind} "${certificate.keyId}" serial ${certificate.serial}, CA ${certificate.ca.sha256}, ${until}${signature})`
}
