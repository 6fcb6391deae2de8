import type { Finding } from '../domain/finding.js'
import { familyOfType, type KeyFamily, type KeyType, type Sha256Fingerprint } from '../domain/host-key.js'
import { finding } from './host-findings.js'

/* vantage : where a worker scans from (`hostkeys worker --vantage NAME`): a network path to the fleet.
 *
 * A run that asks for several vantages scans every host from each of them. A host whose key of one
 * type differs between two vantages in the same run is being answered in its name on one of the
 * paths: an intercepting firewall or proxy re-keys the connections that cross it. A scanner inside
 * that firewall only ever sees the substitute key, consistently, and never raises key_changed; a
 * second vantage outside it sees the real one.
 *
 * Two disagreements are told apart:
 *   - a key type both vantages saw, with different keys;
 *   - a key family one vantage saw and the other, which reached the host and collected that family (its
 *     probe for it did not fail), was not served at all: an interceptor answers with the keys it has,
 *     say an RSA key of its own where the host has only Ed25519 (a family swap), so the key types never
 *     meet. A vantage that did not reach the host, or whose probe of that family failed (a timeout, a
 *     reset), says nothing about it. */

/** What one vantage saw of one host in a run. */
export interface VantageView {
  readonly vantage: string
  readonly keys: readonly { readonly type: KeyType; readonly sha256: Sha256Fingerprint }[]
  /** The address the vantage connected to, when known: a name may resolve differently per vantage. */
  readonly address?: string | null
  /** When the vantage probed the host: a run's vantages scan it at different times. */
  readonly seenAt?: Date
  /** Whether the vantage reached the host (status ok or partial): one that did not says nothing. */
  readonly reached: boolean
  /** Families whose probe failed at this vantage (status partial): it says nothing about them. */
  readonly failedFamilies: readonly KeyFamily[]
}

/**
 * vantage_mismatch findings for one host: each key type that another vantage saw with a different key
 * than the judged vantage (the first view) did, and each key of a family that one of the two saw and
 * the other, having reached the host and collected that family, was not served. The finding's
 * fingerprint is the disagreeing key (the other vantage's, for a type both saw; previous then the
 * judged vantage's), so one finding stands for one disagreeing key.
 */
export function vantageMismatchFindings(host: string, views: readonly VantageView[]): Finding[] {
  const [judged, ...others] = views
  if (!judged) return []
  const out: Finding[] = [...differentKeys(host, judged, others)]
  const told = new Set(out.map((f) => f.fingerprint))
  for (const other of others) {
    for (const [seer, blind] of [[judged, other], [other, judged]] as const) {
      for (const { key, family } of withheldFamilies(seer, blind)) {
        if (told.has(key.sha256)) continue
        told.add(key.sha256)
        out.push(mismatchFinding(host, key.type, key.sha256, null, withheldMessage(host, family, key, seer, blind)))
      }
    }
  }
  return out
}

/** One vantage_mismatch: the key one vantage saw (`fingerprint`), and the other's of that type, if any. */
function mismatchFinding(host: string, keyType: KeyType, fingerprint: Sha256Fingerprint, previous: Sha256Fingerprint | null, message: string): Finding {
  return finding({ kind: 'vantage_mismatch', severity: 'critical', host, keyType, fingerprint, previous, message })
}

/** The keys `seer` saw of each family `blind` collected and was served no key of, both having reached the host. */
function withheldFamilies(seer: VantageView, blind: VantageView): { key: VantageView['keys'][number]; family: KeyFamily }[] {
  if (!seer.reached || !blind.reached) return []
  const blindSaw = new Set(blind.keys.map((k) => familyOfType(k.type)))
  const out: { key: VantageView['keys'][number]; family: KeyFamily }[] = []
  for (const key of seer.keys) {
    const family = familyOfType(key.type)
    if (blindSaw.has(family) || blind.failedFamilies.includes(family)) continue
    out.push({ key, family })
  }
  return out
}

/** Each key type the judged vantage and another both saw, with different keys. */
function differentKeys(host: string, judged: VantageView, others: readonly VantageView[]): Finding[] {
  const out: Finding[] = []
  for (const key of judged.keys) {
    for (const other of others) {
      const theirs = other.keys.find((k) => k.type === key.type)
      if (!theirs || theirs.sha256 === key.sha256) continue
      out.push(mismatchFinding(host, key.type, theirs.sha256, key.sha256, mismatchMessage(host, key.type, judged, key.sha256, other, theirs.sha256)))
    }
  }
  return out
}

/** How one vantage saw the host: the key (when it was served one), where and when. */
function seenBy(view: VantageView, key?: Sha256Fingerprint): string {
  return (
    `${key ? `${key} to ` : ''}vantage ${view.vantage}` +
    (view.address ? ` at ${view.address}` : '') +
    (view.seenAt ? ` (${view.seenAt.toISOString().replace(/\.\d{3}Z$/, 'Z')})` : '')
  )
}

const ASK = `Ask the host for its own fingerprints (hostkeys self-report) to tell which path is intercepted.`

/** Why the two probes may disagree without interception, from the addresses and times the run knows. */
function innocentCauses(a: VantageView, b: VantageView, what: string): string {
  if (a.address && b.address && a.address !== b.address) {
    return (
      `the name reached different addresses from the two vantages: split-horizon DNS (one server behind NAT) or different servers under one name. ` +
      `If both addresses are this host, something on one of those paths answers in its name (an intercepting firewall or proxy); ` +
      `if they are different servers, scan them by address. ${ASK}`
    )
  }
  const apart = a.seenAt && b.seenAt ? Math.abs(a.seenAt.getTime() - b.seenAt.getTime()) : 0
  const rebuilt = apart >= 60_000 ? ` The two probes were ${describeInterval(apart)} apart: if the host's ${what} in between, the next run agrees.` : ''
  return (
    `something on one of those network paths answers in the host's name (an intercepting firewall or proxy), ` +
    `or the address is shared by servers that do not share keys (a load balancer). ${ASK}${rebuilt}`
  )
}

/** A family one vantage was served and the other, which reached the host, was not. */
function withheldMessage(host: string, family: KeyFamily, key: VantageView['keys'][number], seer: VantageView, blind: VantageView): string {
  return (
    `${host} served ${key.type} ${seenBy(seer, key.sha256)} but no ${family} key to ${seenBy(blind)}, which reached it in the same run` +
    (blind.keys.length > 0 ? ` and was served ${[...new Set(blind.keys.map((k) => k.type))].join(', ')}` : ' and was served no key') +
    `: an interceptor answers with the key families it has, not the host's. ` +
    innocentCauses(seer, blind, `keys were added or removed`)
  )
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
  return `${host} served ${type} ${seenBy(judged, ours)} and ${seenBy(other, theirs)} in the same run: ` + innocentCauses(judged, other, 'keys were regenerated')
}

function describeInterval(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  return minutes < 120 ? `${minutes} minutes` : `${Math.round(minutes / 60)} hours`
}
