import type { Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { finding } from './host-findings.js'

/* vantage : where a worker scans from (`hostkeys worker --vantage NAME`): a network path to the fleet.
 *
 * A run that asks for several vantages scans every host from each of them. A host whose key of one
 * type differs between two vantages in the same run is being answered in its name on one of the
 * paths: an intercepting firewall or proxy re-keys the connections that cross it. A scanner inside
 * that firewall only ever sees the substitute key, consistently, and never raises key_changed; a
 * second vantage outside it sees the real one. Only keys of the same type are compared: a family one
 * vantage did not collect (a failed probe, a timeout) says nothing. */

/** What one vantage saw of one host in a run. */
export interface VantageView {
  readonly vantage: string
  readonly keys: readonly { readonly type: KeyType; readonly sha256: Sha256Fingerprint }[]
  /** The address the vantage connected to, when known: a name may resolve differently per vantage. */
  readonly address?: string | null
  /** When the vantage probed the host: a run's vantages scan it at different times. */
  readonly seenAt?: Date
}

/**
 * vantage_mismatch findings for one host: each key type that another vantage saw with a different key
 * than the judged vantage (the first view) did. The finding's fingerprint is the other vantage's key,
 * previous the judged vantage's, so one finding stands for one disagreeing key.
 */
export function vantageMismatchFindings(host: string, views: readonly VantageView[]): Finding[] {
  const [judged, ...others] = views
  if (!judged) return []
  const out: Finding[] = []
  for (const key of judged.keys) {
    for (const other of others) {
      const theirs = other.keys.find((k) => k.type === key.type)
      if (!theirs || theirs.sha256 === key.sha256) continue
      out.push(
        finding({
          kind: 'vantage_mismatch',
          severity: 'critical',
          host,
          keyType: key.type,
          fingerprint: theirs.sha256,
          previous: key.sha256,
          message: mismatchMessage(host, key.type, judged, key.sha256, other, theirs.sha256),
        }),
      )
    }
  }
  return out
}

/* The message says what else than interception can make two vantages disagree, from what the run
 * itself knows: the addresses each reached (split-horizon DNS, a name on several servers) and when
 * each probed (keys regenerated between the two probes). */
function mismatchMessage(
  host: string,
  type: KeyType,
  judged: VantageView,
  ours: Sha256Fingerprint,
  other: VantageView,
  theirs: Sha256Fingerprint,
): string {
  const seen = (view: VantageView, key: Sha256Fingerprint) =>
    `${key} to vantage ${view.vantage}` +
    (view.address ? ` at ${view.address}` : '') +
    (view.seenAt ? ` (${view.seenAt.toISOString().replace(/\.\d{3}Z$/, 'Z')})` : '')
  const head = `${host} served ${type} ${seen(judged, ours)} and ${seen(other, theirs)} in the same run: `
  const ask = `Ask the host for its own fingerprints (hostkeys self-report) to tell which path is intercepted.`
  if (judged.address && other.address && judged.address !== other.address) {
    return (
      head +
      `the name reached different addresses from the two vantages: split-horizon DNS (one server behind NAT) or different servers under one name. ` +
      `If both addresses are this host, something on one of those paths answers in its name (an intercepting firewall or proxy); ` +
      `if they are different servers, scan them by address. ${ask}`
    )
  }
  const apart = judged.seenAt && other.seenAt ? Math.abs(judged.seenAt.getTime() - other.seenAt.getTime()) : 0
  const rebuilt =
    apart >= 60_000
      ? ` The two probes were ${describeInterval(apart)} apart: if the host's keys were regenerated in between, the next run agrees.`
      : ''
  return (
    head +
    `something on one of those network paths answers in the host's name (an intercepting firewall or proxy), ` +
    `or the address is shared by servers that do not share keys (a load balancer). ${ask}${rebuilt}`
  )
}

function describeInterval(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  return minutes < 120 ? `${minutes} minutes` : `${Math.round(minutes / 60)} hours`
}
