import type { StoredFinding } from '../store/store.js'

/** `findings --format json`: the scan JSON's finding fields plus the lifecycle. */
export function renderFindingsJson(findings: readonly StoredFinding[]): string {
  return JSON.stringify(
    {
      findings: findings.map((f) => ({
        kind: f.kind,
        severity: f.severity,
        host: f.host,
        hosts: f.hosts,
        keyType: f.keyType,
        fingerprint: f.fingerprint,
        previous: f.previous,
        message: f.message,
        status: f.status,
        firstSeen: f.firstSeen.toISOString(),
        lastSeen: f.lastSeen.toISOString(),
        resolvedAt: f.resolvedAt?.toISOString() ?? null,
        acceptedAt: f.acceptedAt?.toISOString() ?? null,
        acceptedBy: f.acceptedBy,
        acceptReason: f.acceptReason,
      })),
    },
    null,
    2,
  )
}

/** One line per finding: when, status, severity, kind, then the sentence. */
export function renderStoredFindingText(f: StoredFinding): string {
  const accepted = f.status === 'accepted' ? ` (accepted by ${f.acceptedBy}${f.acceptReason ? `: ${f.acceptReason}` : ''})` : ''
  return `${f.lastSeen.toISOString().slice(0, 19)}Z  ${f.status}${accepted}  ${f.severity}  ${f.kind}  ${f.message}`
}
