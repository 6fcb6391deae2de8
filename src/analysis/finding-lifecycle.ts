import type { Finding, FindingKind } from '../domain/finding.js'
import { familyOfType, KEY_FAMILIES, type KeyFamily } from '../domain/host-key.js'
import type { LiveFinding, Reconciliation } from '../domain/finding-plan.js'

/* lifecycle : a finding is open until accepted (`hostkeys accept`) or resolved (its condition is gone).
 * identity  : kind|host|fingerprint. While a finding with that identity is open or accepted, the same
 *             condition seen again updates it rather than adding a row; an accepted one is not reported
 *             again. A condition kind is resolved by a scan that reached the host, asked for the key's
 *             family (for SSHFP kinds and dns_error: that checked DNS) and no longer saw it; an event
 *             kind (key_added, key_removed, interception, cert_removed) stays open until accepted; new_host is informational and recorded resolved. An accepted finding stays
 *             accepted. */


const CONDITIONS: ReadonlySet<FindingKind> = new Set([
  'key_changed',
  'weak_key',
  'duplicate_key',
  'revoked_key',
  'host_unreachable',
  'host_unresolvable',
  'never_reached',
  'partial_scan',
  // A certificate's state: gone once the family's key is served without that problem (or re-keyed).
  'cert_expired',
  'cert_expiring',
  'cert_not_yet_valid',
  'cert_no_expiry',
  'cert_principal_mismatch',
  'cert_untrusted_ca',
  'cert_bad_signature',
  'cert_not_host',
  'ca_changed',
  // What the server's KEXINIT offers: gone once a scan that reached it no longer sees it.
  'terrapin',
  'weak_algorithm',
  'no_pq_kex',
  // A known-bad key: gone once the host no longer serves it.
  'compromised_key',
  // Only a scan that applied a policy (--policy) can see it gone.
  'policy_violation',
  // A served key a statement about the host contradicts: gone once a scan sees the key it states, or a
  // newer statement states the key the scan sees.
  'oob_mismatch',
])
/** Conditions about the host as a whole, gone once a scan reaches it. */
const HOST_CONDITIONS: ReadonlySet<FindingKind> = new Set(['host_unreachable', 'never_reached'])
/* What DNS says is a condition too, but only a scan that looked at DNS (not --no-dns) can see it gone:
 * records fixed after a rebuild, a resolver that answers again. */
const DNS_CONDITIONS: ReadonlySet<FindingKind> = new Set(['sshfp_mismatch', 'sshfp_missing', 'sshfp_stale', 'sshfp_insecure', 'dns_error'])
/* cert_removed is an event, open until accepted; cert_renewed and config_changed are the history's
 * notes of a renewal and an upgrade, informational like new_host. ca_changed is a condition, like key_changed: raised at every scan until
 * an accept makes the new CA the host's. */
const RESOLVED_AT_BIRTH: ReadonlySet<FindingKind> = new Set(['new_host', 'cert_renewed', 'config_changed'])

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
}


function conditionGone(live: LiveFinding, scope: ReconcileScope): boolean {
  // An accepted finding keeps its status: it is the record of who accepted what, and why.
  if (live.status !== 'open') return false
  // ── keys_withheld: its whole classification, in this one place ──────────────────────────────────
  // A condition about the host as a whole (a host that answered SSH and withheld every key): gone once
  // a scan reaches the host, that is gets a key from it (or learns it offers none of the families
  // asked for); a scan that does not reach it leaves it open.
  if (live.kind === 'keys_withheld') return scope.reachedHosts.has(live.host)
  // ────────────────────────────────────────────────────────────────────────────────────────────────
  if (DNS_CONDITIONS.has(live.kind)) {
    if (!scope.dnsChecked) return false
  } else if (!CONDITIONS.has(live.kind)) return false
  if (live.kind === 'policy_violation' && !scope.policyChecked) return false
  if (HOST_CONDITIONS.has(live.kind)) return scope.reachedHosts.has(live.host)
  if (live.kind === 'partial_scan') return scope.reachedHosts.has(live.host) && !scope.failedFamilies?.has(live.host)
  // One sshfp_missing per host lists every key without records: only a scan that asked for every
  // family and fetched them all can say none lacks a record any more.
  if (live.kind === 'sshfp_missing' && live.keyType === null) {
    return scope.askedFamilies.size === KEY_FAMILIES.length && !scope.failedFamilies?.has(live.host) && scope.reachedHosts.has(live.host)
  }
  if (live.kind === 'host_unresolvable') return scope.resolvedHosts?.has(live.host) ?? scope.reachedHosts.has(live.host)
  if (live.keyType) {
    const family = familyOfType(live.keyType)
    if (!scope.askedFamilies.has(family) || scope.failedFamilies?.get(live.host)?.has(family)) return false
  }
  const involved = live.kind === 'duplicate_key' ? live.hosts : [live.host]
  return involved.some((h) => scope.reachedHosts.has(h))
}

/** Matches this scan's findings against the live ones: what to report, insert, touch and resolve. */
export function reconcileFindings(
  live: readonly LiveFinding[],
  raised: readonly Finding[],
  scope: ReconcileScope,
): Reconciliation {
  const byIdentity = new Map(live.map((l) => [l.identity, l]))
  const report: Finding[] = []
  const insert: { finding: Finding; identity: string; resolved: boolean }[] = []
  const touch: { id: number; finding: Finding }[] = []
  const seen = new Set<string>()
  for (const finding of raised) {
    const identity = findingIdentity(finding)
    if (seen.has(identity)) continue
    seen.add(identity)
    const existing = byIdentity.get(identity)
    if (existing) {
      touch.push({ id: existing.id, finding })
      if (existing.status === 'open') report.push(finding)
    } else {
      insert.push({ finding, identity, resolved: RESOLVED_AT_BIRTH.has(finding.kind) })
      report.push(finding)
    }
  }
  const resolve = live.filter((l) => !seen.has(l.identity) && conditionGone(l, scope)).map((l) => l.id)
  return { report, insert, touch, resolve }
}

/** The findings of hosts the history has no row for: no live finding can share their identity (it
 * names the host), so each is inserted (new_host resolved at birth) and reported. */
export function firstFindings(raised: readonly Finding[]): Reconciliation {
  const report: Finding[] = []
  const insert: { finding: Finding; identity: string; resolved: boolean }[] = []
  const seen = new Set<string>()
  for (const finding of raised) {
    const identity = findingIdentity(finding)
    if (seen.has(identity)) continue
    seen.add(identity)
    insert.push({ finding, identity, resolved: RESOLVED_AT_BIRTH.has(finding.kind) })
    report.push(finding)
  }
  return { report, insert, touch: [], resolve: [] }
}
