import type { KeyFamily, KeyType, Sha256Fingerprint } from './host-key.js'

/* sighting : a key at a host over time: first seen, last seen, whether the host still serves it, and
 *            its state in the trust ledger (domain/trust.ts)
 * current  : the host served it at the last scan that reached it and asked for its family */

export { SIGHTING_TRUSTS, type SightingTrust } from './trust.js'
import type { SightingTrust } from './trust.js'

export interface Sighting {
  readonly sha256: Sha256Fingerprint
  readonly type: KeyType
  readonly family: KeyFamily
  readonly bits: number
  readonly trust: SightingTrust
  readonly current: boolean
  /** `import`: came from a known_hosts file and may not have been seen by a scan yet. */
  readonly source: 'scan' | 'import'
  readonly firstSeen: Date
  /** Last scan that saw it; null for an imported key no scan has seen. */
  readonly lastSeen: Date | null
  /** The address a scan last saw it at; null or absent when unknown (imported, not loaded). */
  readonly address?: string | null
}

/** What the history knows about one host before a scan. */
export interface HostHistory {
  readonly host: string
  /** Some earlier scan reached it. */
  readonly everReached: boolean
  /** Consecutive scans before this one that asked for it and did not reach it. */
  readonly failedScans: number
  readonly sightings: readonly Sighting[]
}
