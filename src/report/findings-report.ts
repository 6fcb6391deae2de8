import { findingToJson } from './scan-json.js'
import type { StoredFinding } from '../domain/history.js'

/** `findings --format json`: the scan JSON's finding fields plus the lifecycle. */
export function renderFindingsJson(findings: readonly StoredFinding[]): string {
  return JSON.stringify(
    {
      findings: findings.map((f) => ({
        ...findingToJson(f),
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
  const accepted =
    f.status === 'accepted' ? ` (accepted by ${f.acceptedBy}${f.acceptReason ? `: ${f.acceptReason}` : ''})`
    : f.status === 'waived' ? ` (${f.acceptedBy}${f.acceptReason ? `: ${f.acceptReason}` : ''})`
    : ''
  return `${f.lastSeen.toISOString().slice(0, 19)}Z  ${f.status}${accepted}  ${f.severity}  ${f.kind}  ${f.message}`
}

/** What `findings` says when nothing matches its filter: `no findings`, `no open findings since 2026-01-01`. */
export function renderNoFindings(filter: { readonly openOnly: boolean; readonly since: Date | null }): string {
  const since = filter.since === null ? '' : ` since ${shownDate(filter.since)}`
  return `no ${filter.openOnly ? 'open ' : ''}findings${since}`
}

/** A date as the user most likely typed it: `2026-01-01` for midnight UTC, else the ISO time to the second. */
function shownDate(date: Date): string {
  const iso = date.toISOString()
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace(/\.\d{3}Z$/, 'Z')
}
