import type { KeyType } from './host-key.js'
import type { OfferedAlgorithms } from './observation.js'

/* The fleet view of `hostkeys audit`: what every host offers, side by side.
 *
 * configuration : a server's banner and its ten KEXINIT name-lists, in the order sent (order is
 *                 preference, RFC 4253 §7.1, and HASSH depends on it). Hosts that send the same are
 *                 one configuration, named by a ConfigurationId.
 * group         : the hosts whose banner names the same software, `SSH-2.0-<software>` (RFC 4253
 *                 §4.2: softwareversion and comments), e.g. `OpenSSH_9.2p1 Debian-2+deb12u3`; hosts
 *                 with no banner are the group whose software is null ("unknown").
 * majority      : the configuration more than half of a group's hosts share. A group where none does
 *                 (two configurations of 2 hosts each, three of 1) has no majority.
 * deviant       : a host of a group with a majority whose configuration is another one. */

/** A key that sorts host names as people expect with a plain string compare: each run of digits becomes
 * its length (one character below any printable one) and its digits, so web2 < web10, 127.0.0.2 <
 * 127.0.0.10, and digits sort before letters. Made once per host: Intl.Collator's numeric compare cost
 * ~0.6 s to sort 100,000 names, this ~0.1 s. */
export function hostSortKey(name: string): string {
  return name.replace(/\d+/g, (digits) => {
    const significant = digits.replace(/^0+(?=\d)/, '')
    return String.fromCharCode(1 + Math.min(significant.length, 0x1e)) + significant
  })
}

/** Host names in hostSortKey's order; ties (web01, web1) broken by the names, so the order is total. */
export function compareHostNames(a: string, b: string): number {
  const ka = hostSortKey(a)
  const kb = hostSortKey(b)
  return ka < kb ? -1 : ka > kb ? 1 : a < b ? -1 : a > b ? 1 : 0
}

export const AUDIT_LISTS = ['kex', 'hostkey', 'ciphers', 'macs', 'compression'] as const
export type AuditList = (typeof AUDIT_LISTS)[number]

/** `both` when every host (or both configurations compared) sends the list the same both ways. */
export type AuditDirection = 'both' | 'client-to-server' | 'server-to-client'

/** `<first 8 hex of HASSH>-<first 8 hex of SHA-256 over the whole configuration>`: two configurations with
 * the same first half have the same HASSH (what Zeek or Suricata log) and differ elsewhere (banner, host
 * key list, client-to-server lists). Longer halves only if two configurations of one audit collide. */
export type ConfigurationId = string

export interface AuditedHost {
  readonly host: string
  readonly banner: string | null
  readonly offered: OfferedAlgorithms
  readonly keys: readonly { readonly type: KeyType; readonly bits: number }[]
}

export interface AlgorithmUsage {
  readonly name: string
  /** Hosts offering it, sorted (numbers in names in numeric order). */
  readonly hosts: readonly string[]
  /** Why algorithm-findings calls it weak, or null. */
  readonly weak: string | null
  /** A post-quantum hybrid key exchange. */
  readonly postQuantum: boolean
  /** A kex-list marker (ext-info-s, kex-strict-s-v00@openssh.com), not a method. */
  readonly marker: boolean
}

export interface ListUsage {
  readonly list: AuditList
  readonly direction: AuditDirection
  /** Most offered first, then by name. */
  readonly algorithms: readonly AlgorithmUsage[]
}

export interface KeyUsage {
  readonly type: KeyType
  readonly bits: number
  readonly hosts: readonly string[]
}

export interface Configuration {
  readonly id: ConfigurationId
  /** Salesforce's HASSH server fingerprint of it (fingerprint/hassh.ts). */
  readonly hassh: string
  readonly banner: string | null
  /** The group it belongs to: the banner's software and comments; null without a banner. */
  readonly software: string | null
  readonly offered: OfferedAlgorithms
  readonly hosts: readonly string[]
}

export interface SoftwareGroup {
  readonly software: string | null
  readonly hostCount: number
  /** Its configurations and how many of its hosts have each, most common first. */
  readonly configurations: readonly { readonly id: ConfigurationId; readonly hostCount: number }[]
  /** The configuration more than half its hosts share; null when none does. */
  readonly majority: ConfigurationId | null
}

export interface ListDifference {
  readonly list: AuditList
  readonly direction: AuditDirection
  /** Names the deviant offers and the majority does not. */
  readonly added: readonly string[]
  /** Names the majority offers and the deviant does not. */
  readonly missing: readonly string[]
  /** Same names, another order (another preference). */
  readonly reordered: boolean
}

export interface Deviant {
  readonly host: string
  readonly software: string | null
  readonly configuration: ConfigurationId
  readonly majority: ConfigurationId
  /** The banners differ (same software, another protocol version). */
  readonly bannerDiffers: boolean
  readonly differences: readonly ListDifference[]
}

export interface FleetSummary {
  /** Hosts offering at least one algorithm algorithm-findings calls weak. */
  readonly weak: readonly string[]
  /** Hosts offering no post-quantum hybrid key exchange. */
  readonly noPostQuantumKex: readonly string[]
  /** Hosts open to Terrapin (CVE-2023-48795): chacha20 or CBC with an -etm MAC, without strict kex. */
  readonly terrapin: readonly string[]
}

export interface FleetAudit {
  readonly hostCount: number
  readonly summary: FleetSummary
  readonly lists: readonly ListUsage[]
  readonly keys: readonly KeyUsage[]
  /** Most hosts first, then by id. */
  readonly configurations: readonly Configuration[]
  /** Most hosts first; the no-banner group last. */
  readonly groups: readonly SoftwareGroup[]
  /** By group as listed, then by host. */
  readonly deviants: readonly Deviant[]
}
