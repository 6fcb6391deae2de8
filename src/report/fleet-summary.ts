import { compareFindings, SEVERITIES, type Severity } from '../domain/finding.js'
import type { FleetSnapshot } from '../domain/fleet.js'
import type { StoredFinding } from '../domain/history.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { MIN_RSA_BITS } from '../analysis/weak-keys.js'
import { shortKeyTypeName } from '../fingerprint/randomart.js'
import { actionFor, type FindingAction } from './finding-actions.js'
import { formatDay } from './site/page-text.js'

/* fleet summary : the numbers the fleet report shows, computed from one snapshot of the history:
 *   served key   : a key a host served at its last scan that reached it (sighting current), trusted or not
 *   key age      : since the history first saw the host serve it (the sighting's first_seen)
 *   raised       : a finding counts on the UTC day it was first seen
 *   ahead        : host certificates still presented that end within the horizon, or have ended */

export const REPORT_DAYS = 30
export const CERTIFICATE_HORIZON_DAYS = 90
export const OLDEST_KEYS_SHOWN = 10

const DAY_MS = 86_400_000

export interface KeyTypeCount {
  /** `ED25519 256`. */
  readonly label: string
  readonly type: KeyType
  readonly bits: number
  readonly count: number
  /** RSA under 2048 bits or DSA: what weak_key reports. */
  readonly weak: boolean
}

export interface OldKey {
  readonly host: string
  readonly label: string
  readonly sha256: Sha256Fingerprint
  readonly firstSeen: Date
  readonly ageDays: number
}

export interface DayCounts {
  /** `2026-11-30`. */
  readonly day: string
  readonly counts: Readonly<Record<Severity, number>>
}

export interface CertificateAhead {
  readonly host: string
  readonly family: string
  readonly keyId: string
  readonly validBefore: Date
  /** Negative once ended. */
  readonly daysLeft: number
}

export interface ActionItem {
  readonly finding: StoredFinding
  readonly action: FindingAction | null
}

export interface FleetSummary {
  readonly generatedAt: Date
  readonly hosts: number
  /** Hosts some scan ever reached. */
  readonly reachedHosts: number
  readonly servedKeys: number
  readonly scans: number
  readonly lastScan: { readonly finishedAt: Date; readonly vantage: string } | null
  readonly openBySeverity: Readonly<Record<Severity, number>>
  readonly keyTypes: readonly KeyTypeCount[]
  readonly oldestKeys: readonly OldKey[]
  /** One entry per day of the last REPORT_DAYS, oldest first, zeros included. */
  readonly raisedByDay: readonly DayCounts[]
  readonly certificatesAhead: readonly CertificateAhead[]
  /** Presented certificates valid forever (cert_no_expiry): they never show up as ending. */
  readonly certificatesWithoutExpiry: number
  /** Open critical and warning findings, most severe first, each with the command that resolves it. */
  readonly actions: readonly ActionItem[]
}

function zeroCounts(): Record<Severity, number> {
  return { info: 0, warning: 0, critical: 0 }
}

function isWeak(type: KeyType, bits: number): boolean {
  return type === 'ssh-dss' || (type === 'ssh-rsa' && bits < MIN_RSA_BITS)
}

/** The report's numbers for a snapshot, as of `now`. */
export function summarizeFleet(snapshot: FleetSnapshot, now: Date): FleetSummary {
  const open = snapshot.findings.filter((f) => f.status === 'open')
  const openBySeverity = zeroCounts()
  for (const f of open) openBySeverity[f.severity]++

  const served = snapshot.hosts.flatMap((host) => host.keys.filter((k) => k.current).map((key) => ({ host: host.host, key })))
  const types = new Map<string, KeyTypeCount>()
  for (const { key } of served) {
    const label = `${shortKeyTypeName(key.type)} ${key.bits}`
    const known = types.get(label)
    types.set(label, { label, type: key.type, bits: key.bits, count: (known?.count ?? 0) + 1, weak: isWeak(key.type, key.bits) })
  }
  const keyTypes = [...types.values()].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label))

  const oldestPerHost = new Map<string, OldKey>()
  for (const { host, key } of served) {
    const known = oldestPerHost.get(host)
    if (known && known.firstSeen <= key.firstSeen) continue
    oldestPerHost.set(host, {
      host,
      label: `${shortKeyTypeName(key.type)} ${key.bits}`,
      sha256: key.sha256,
      firstSeen: key.firstSeen,
      ageDays: Math.max(0, Math.floor((now.getTime() - key.firstSeen.getTime()) / DAY_MS)),
    })
  }
  const oldestKeys = [...oldestPerHost.values()]
    .sort((a, b) => a.firstSeen.getTime() - b.firstSeen.getTime() || a.host.localeCompare(b.host))
    .slice(0, OLDEST_KEYS_SHOWN)

  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const raisedByDay: { day: string; counts: Record<Severity, number> }[] = []
  for (let i = REPORT_DAYS - 1; i >= 0; i--) raisedByDay.push({ day: formatDay(new Date(today - i * DAY_MS)), counts: zeroCounts() })
  const dayIndex = new Map(raisedByDay.map((d, i) => [d.day, i]))
  for (const f of snapshot.findings) {
    const i = dayIndex.get(formatDay(f.firstSeen))
    if (i !== undefined) raisedByDay[i]!.counts[f.severity]++
  }

  const presented = snapshot.hosts.flatMap((host) => host.certificates.filter((c) => !c.removed).map((c) => ({ host: host.host, c })))
  const certificatesAhead = presented
    .filter(({ c }) => c.validBefore !== null && c.validBefore.getTime() - now.getTime() <= CERTIFICATE_HORIZON_DAYS * DAY_MS)
    .map(({ host, c }) => ({
      host,
      family: c.family,
      keyId: c.keyId,
      validBefore: c.validBefore!,
      daysLeft: Math.floor((c.validBefore!.getTime() - now.getTime()) / DAY_MS),
    }))
    .sort((a, b) => a.validBefore.getTime() - b.validBefore.getTime() || a.host.localeCompare(b.host))

  const actions = open
    .filter((f) => f.severity !== 'info')
    .sort(compareFindings)
    .map((finding) => ({ finding, action: actionFor(finding) }))

  const last = snapshot.scans.at(-1)
  return {
    generatedAt: now,
    hosts: snapshot.hosts.length,
    reachedHosts: snapshot.hosts.filter((h) => h.lastReached !== null).length,
    servedKeys: served.length,
    scans: snapshot.scans.length,
    lastScan: last ? { finishedAt: last.finishedAt, vantage: last.vantage } : null,
    openBySeverity,
    keyTypes,
    oldestKeys,
    raisedByDay,
    certificatesAhead,
    certificatesWithoutExpiry: presented.filter(({ c }) => c.validBefore === null).length,
    actions,
  }
}

/** Severities from the most to the least severe, for tables and legends. */
export const SEVERITIES_DOWN: readonly Severity[] = [...SEVERITIES].reverse()
