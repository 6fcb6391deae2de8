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
          message:
            `${host} served ${key.type} ${key.sha256} to vantage ${judged.vantage} and ${theirs.sha256} to vantage ${other.vantage} in the same run: ` +
            `something on one of those network paths answers in the host's name (an intercepting firewall or proxy). ` +
            `Ask the host for its own fingerprints (hostkeys self-report) to tell which path is intercepted.`,
        }),
      )
    }
  }
  return out
}
