import { compareFindings, type Severity } from '../domain/finding.js'
import type { FleetSnapshot, FleetSummary, KeyTypeCount, OldKey } from '../domain/fleet.js'
import type { KeyType } from '../domain/host-key.js'
import { MIN_RSA_BITS } from './weak-keys.js'
import { shortKeyTypeName } from '../domain/fingerprint/randomart.js'

/* The fleet summary (domain/fleet.ts) of one snapshot of the history: pure counting, for `report`. */

export const REPORT_DAYS = 30
export const CERTIFICATE_HORIZON_DAYS = 90
export const OLDEST_KEYS_SHOWN = 10

const DAY_MS = 86_400_000

/** `2026-11-30`: the UTC day. */
function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10)
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
  for (let i = REPORT_DAYS - 1; i >= 0; i--) raisedByDay.push({ day: utcDay(new Date(today - i * DAY_MS)), counts: zeroCounts() })
  const dayIndex = new Map(raisedByDay.map((d, i) => [d.day, i]))
  for (const f of snapshot.findings) {
    const i = dayIndex.get(utcDay(f.firstSeen))
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

  const needsAction = open.filter((f) => f.severity !== 'info').sort(compareFindings)

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
    certificateHorizonDays: CERTIFICATE_HORIZON_DAYS,
    certificatesAhead,
    certificatesWithoutExpiry: presented.filter(({ c }) => c.validBefore === null).length,
    needsAction,
    waived: snapshot.findings.filter((f) => f.status === 'waived').sort(compareFindings),
  }
}
