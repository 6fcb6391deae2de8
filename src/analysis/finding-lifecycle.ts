import type { Finding, FindingKind } from '../domain/finding.js'
import { familyOfType, KEY_FAMILIES, type KeyFamily } from '../domain/host-key.js'
import type { LiveFinding, Reconciliation } from '../domain/finding-plan.js'
import { FINDING_CATALOGUE } from '../domain/finding-catalogue.js'

/* lifecycle : what each kind is (condition, event, note) and what ends it is the finding catalogue's
 *             (domain/finding-catalogue.ts); this module applies it to one scan.
 * identity  : kind|host|fingerprint. While a finding with that identity is live (open, accepted or
 *             waived), the same condition seen again updates it rather than adding a row; an accepted
 *             or waived one is not reported again while its waiver lasts. A condition is resolved by
 *             the first scan that could have seen it (its `gone` scope) and did not; an event stays
 *             open until accepted; a note is recorded resolved. An accepted finding stays accepted: it
 *             is the record of who accepted what, and why. A waived finding whose condition ends is
 *             resolved; one whose waiver expired is open again and reported. */

export function findingIdentity(f: Pick<Finding, 'kind' | 'host' | 'fingerprint'>): string {
  // One flat string (a template would be a tree of concatenation nodes): a scan holds one per finding.
  return [f.kind, f.host, f.fingerprint ?? ''].join('|')
}

export interface ReconcileScope {
  readonly reachedHosts: ReadonlySet<string>
  /** Hosts whose name resolved this scan (reached or not): host_unresolvable is gone for them. */
  readonly resolvedHosts?: ReadonlySet<string>
  readonly askedFamilies: ReadonlySet<KeyFamily>
  /** Per host, families whose probe failed this scan (status partial): nothing about them is resolved. */
  readonly failedFamilies?: ReadonlyMap<string, ReadonlySet<KeyFamily>>
  /** The scan checked SSHFP records (scan without --no-dns); default false. */
  readonly dnsChecked?: boolean
  /** The scan applied a policy (--policy); default false. */
  readonly policyChecked?: boolean
  /** Waivers in force at this scan, as `kind|host` (waiverKey). */
  readonly waivers?: ReadonlySet<string>
}

/** How a waiver names what it covers: every finding of one kind about one host. */
export function waiverKey(kind: FindingKind, host: string): string {
  return `${kind}|${host}`
}

function conditionGone(live: LiveFinding, scope: ReconcileScope): boolean {
  if (live.status === 'accepted') return false
  const spec = FINDING_CATALOGUE[live.kind]
  if (spec.lifecycle !== 'condition') return false
  const reached = scope.reachedHosts.has(live.host)
  switch (spec.gone) {
    case 'dns':
      if (!scope.dnsChecked) return false
      break
    case 'policy':
      if (!scope.policyChecked) return false
      break
    case 'host':
      return reached
    case 'all-families':
      return reached && !scope.failedFamilies?.has(live.host)
    case 'name':
      return scope.resolvedHosts?.has(live.host) ?? reached
    case 'holders':
      return [live.host, ...live.hosts].some((h) => scope.reachedHosts.has(h))
    default:
      break
  }
  // One sshfp_missing per host lists every key without records: only a scan that asked for every
  // family and fetched them all can say none lacks a record any more.
  if (live.kind === 'sshfp_missing' && live.keyType === null) {
    return scope.askedFamilies.size === KEY_FAMILIES.length && !scope.failedFamilies?.has(live.host) && reached
  }
  if (live.keyType) {
    const family = familyOfType(live.keyType)
    if (!scope.askedFamilies.has(family) || scope.failedFamilies?.get(live.host)?.has(family)) return false
  }
  return reached
}

/** Matches this scan's findings against the live ones: what to report, insert, touch and resolve. */
export function reconcileFindings(
  live: readonly LiveFinding[],
  raised: readonly Finding[],
  scope: ReconcileScope,
): Reconciliation {
  const byIdentity = new Map(live.map((l) => [l.identity, l]))
  const report: Finding[] = []
  const insert: { finding: Finding; identity: string; resolved: boolean; waived?: boolean }[] = []
  const touch: { id: number; finding: Finding }[] = []
  const reopen: number[] = []
  const seen = new Set<string>()
  for (const finding of raised) {
    const identity = findingIdentity(finding)
    if (seen.has(identity)) continue
    seen.add(identity)
    const existing = byIdentity.get(identity)
    const waived = scope.waivers?.has(waiverKey(finding.kind, finding.host)) ?? false
    if (existing) {
      touch.push({ id: existing.id, finding })
      if (existing.status === 'open') report.push(finding)
      else if (existing.status === 'waived' && !waived) {
        // The waiver expired (or was withdrawn) while the condition lasts: it is news again.
        reopen.push(existing.id)
        report.push(finding)
      }
    } else if (waived) {
      insert.push({ finding, identity, resolved: false, waived: true })
    } else {
      insert.push({ finding, identity, resolved: FINDING_CATALOGUE[finding.kind].lifecycle === 'note' })
      report.push(finding)
    }
  }
  const resolve = live.filter((l) => !seen.has(l.identity) && conditionGone(l, scope)).map((l) => l.id)
  return { report, insert, touch, resolve, reopen }
}

/** The findings of hosts the history has no row for: no live finding can share their identity (it
 * names the host), so each is inserted (new_host resolved at birth) and reported. */
export function firstFindings(raised: readonly Finding[]): Reconciliation {
  const report: Finding[] = []
  const insert: { finding: Finding; identity: string; resolved: boolean; waived?: boolean }[] = []
  const seen = new Set<string>()
  for (const finding of raised) {
    const identity = findingIdentity(finding)
    if (seen.has(identity)) continue
    seen.add(identity)
    insert.push({ finding, identity, resolved: FINDING_CATALOGUE[finding.kind].lifecycle === 'note' })
    report.push(finding)
  }
  return { report, insert, touch: [], resolve: [], reopen: [] }
}
