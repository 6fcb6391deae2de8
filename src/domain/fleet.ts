import type { Severity } from './finding.js'
import type { KeyFamily, KeyType, Md5Fingerprint, Sha256Fingerprint } from './host-key.js'
import type { StoredFinding, TrustedAuthority } from './history.js'
import type { LedgerState } from './trust.js'

/* fleet snapshot : everything the history says about every host at one moment, read at once, for the
 *                  pages people read instead of the CLI: `publish` (fingerprints to hand out) and
 *                  `report` (the fleet's state). The store makes it from rows; report/ renders it.
 * verified       : a scan saw the host serve the key; when (the sighting's last_seen) and from where
 *                  (that scan's vantage) is what a fingerprint page vouches for.
 * fleet summary  : the numbers the fleet report shows (analysis/fleet-summary.ts computes them):
 *   served key   : a key a host served at its last scan that reached it (sighting current), trusted or not
 *   key age      : since the history first saw the host serve it (the sighting's first_seen)
 *   raised       : a finding counts on the UTC day it was first seen
 *   ahead        : host certificates still presented that end within the horizon, or have ended */

/** One key a host serves or served, with what its sighting says. */
export interface FleetKey {
  readonly type: KeyType
  readonly bits: number
  readonly blob: Buffer
  readonly sha256: Sha256Fingerprint
  readonly md5: Md5Fingerprint
  /** Its state in the trust ledger (domain/trust.ts): only trusted keys are vouched for. */
  readonly trust: LedgerState
  /** The host served it at the last scan that reached it and asked for its family. */
  readonly current: boolean
  readonly source: 'scan' | 'import'
  /** When the history first had it for this host. */
  readonly firstSeen: Date
  /** When a scan last saw the host serve it; null for an imported key no scan has seen. */
  readonly lastVerified: Date | null
  /** Where that scan ran from (`--vantage`); null when it was pruned or the key was only imported. */
  readonly verifiedFrom: string | null
  /** The address and port the host served it on then. */
  readonly address: string | null
  readonly port: number | null
}

/** The last host certificate a host presented for one key family. */
export interface FleetCertificate {
  readonly family: KeyFamily
  readonly keySha256: Sha256Fingerprint
  readonly ca: { readonly sha256: Sha256Fingerprint; readonly type: KeyType; readonly bits: number; readonly blob: Buffer }
  readonly keyId: string
  readonly serial: string
  readonly principals: readonly string[]
  readonly validAfter: Date | null
  /** null: valid forever. */
  readonly validBefore: Date | null
  readonly signatureValid: boolean
  readonly lastSeen: Date
  /** The host has since served the family's key without a certificate. */
  readonly removed: boolean
}

export interface FleetHost {
  /** The identity: `name`, or `[name]:port` off port 22. */
  readonly host: string
  readonly port: number
  /** Other names, then addresses, the host is known by or answered on. */
  readonly aliases: readonly string[]
  readonly addresses: readonly string[]
  readonly firstSeen: Date
  readonly lastReached: Date | null
  readonly lastStatus: string | null
  /** The identification line it sent last (network input: printable, but anyone's words). */
  readonly lastBanner: string | null
  readonly keys: readonly FleetKey[]
  readonly certificates: readonly FleetCertificate[]
}

/** One scan as the history keeps it (until pruned). */
export interface FleetScan {
  readonly id: number
  readonly startedAt: Date
  readonly finishedAt: Date
  readonly vantage: string
  readonly hostsAsked: number
  readonly hostsReached: number
  readonly findings: number
}

export interface FleetSnapshot {
  /** By identity. */
  readonly hosts: readonly FleetHost[]
  /** Every finding with its status, newest first. */
  readonly findings: readonly StoredFinding[]
  /** Oldest first. */
  readonly scans: readonly FleetScan[]
  /** Trusted CAs, one entry per pattern list. */
  readonly authorities: readonly TrustedAuthority[]
}

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
  /** One entry per day of the last `raisedByDay.length` days, oldest first, zeros included. */
  readonly raisedByDay: readonly DayCounts[]
  /** How far ahead certificatesAhead looks, in days. */
  readonly certificateHorizonDays: number
  readonly certificatesAhead: readonly CertificateAhead[]
  /** Presented certificates valid forever (cert_no_expiry): they never show up as ending. */
  readonly certificatesWithoutExpiry: number
  /** Open critical and warning findings, most severe first. */
  readonly needsAction: readonly StoredFinding[]
  /** Findings a waiver (`hostkeys waive`) keeps out of the reports while it lasts: listed, never hidden. */
  readonly waived: readonly StoredFinding[]
}
