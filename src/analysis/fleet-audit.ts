import { hash } from 'node:crypto'
import {
  AUDIT_LISTS,
  compareHostNames,
  hostSortKey,
  type AlgorithmUsage,
  type AuditDirection,
  type AuditedHost,
  type AuditList,
  type Configuration,
  type ConfigurationId,
  type Deviant,
  type FleetAudit,
  type KeyUsage,
  type ListDifference,
  type ListUsage,
  type SoftwareGroup,
} from '../domain/fleet-audit.js'
import type { KeyType } from '../domain/host-key.js'
import type { OfferedAlgorithms } from '../domain/observation.js'
import { hasshServer } from '../domain/fingerprint/hassh.js'
import { isTerrapinVulnerable, offersPostQuantumKex, POST_QUANTUM_KEX, weakNames, weaknessOf } from './algorithm-findings.js'
import { isKexMarker } from './policy.js'

/* `hostkeys audit`: the fleet side by side (terms in domain/fleet-audit.ts). Hosts are first folded into
 * their distinct configurations (a fleet has a handful), so the work per host is one string key, and
 * everything else is done once per configuration. */


type Direction = 'clientToServer' | 'serverToClient'
const DIRECTIONS: readonly [Direction, AuditDirection][] = [
  ['clientToServer', 'client-to-server'],
  ['serverToClient', 'server-to-client'],
]

/** The list as sent in one direction (kex and host key lists have one). */
function namesOf(offered: OfferedAlgorithms, list: AuditList, direction: Direction): readonly string[] {
  if (list === 'kex') return offered.kex
  if (list === 'hostkey') return offered.serverHostKey
  return offered[list][direction]
}

function isSymmetric(offered: OfferedAlgorithms, list: AuditList): boolean {
  if (list === 'kex' || list === 'hostkey') return true
  return sameOrder(offered[list].clientToServer, offered[list].serverToClient)
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i])
}

/** The banner's software and comments (RFC 4253 §4.2: SSH-protoversion-softwareversion SP comments). */
export function softwareOf(banner: string | null): string | null {
  if (banner === null) return null
  const match = /^SSH-[^-\s]+-(.+)$/.exec(banner)
  return match ? match[1]! : banner
}

interface Folded {
  readonly canonical: string
  readonly banner: string | null
  readonly software: string | null
  readonly offered: OfferedAlgorithms
  /** Its hosts, in host order (filled by walking the sorted fleet). */
  readonly hosts: string[]
  hassh: string
  id: ConfigurationId
}

/** The eight lists in the order sent, as one string: names joined by commas, lists by newlines (RFC 4251
 * §6: a name is printable US-ASCII without a comma, and the KEXINIT reader checks it). Hosts read from
 * one stored configuration share the object, so the string is made once per object. */
const listsKey = new WeakMap<OfferedAlgorithms, string>()
function listsOf(offered: OfferedAlgorithms): string {
  let key = listsKey.get(offered)
  if (key === undefined) {
    key = [
      offered.kex,
      offered.serverHostKey,
      offered.ciphers.clientToServer,
      offered.ciphers.serverToClient,
      offered.macs.clientToServer,
      offered.macs.serverToClient,
      offered.compression.clientToServer,
      offered.compression.serverToClient,
    ]
      .map((list) => list.join(','))
      .join('\n')
    listsKey.set(offered, key)
  }
  return key
}

/** Short ids, lengthened for every configuration only if two of this audit's would be equal. */
function assignIds(configurations: readonly Folded[]): void {
  const full = configurations.map((c) => ({ c, hassh: hasshServer(c.offered), whole: hash('sha256', c.canonical, 'hex') }))
  for (let length = 8; ; length *= 2) {
    const ids = full.map(({ hassh, whole }) => `${hassh.slice(0, length)}-${whole.slice(0, length)}`)
    if (new Set(ids).size === ids.length || length >= 32) {
      full.forEach(({ c, hassh }, i) => {
        c.hassh = hassh
        c.id = ids[i]!
      })
      return
    }
  }
}

/** The fleet view: algorithm usage, distinct configurations, software groups and their deviants. */
export function auditFleet(hosts: readonly AuditedHost[]): FleetAudit {
  // The fleet is sorted once; every host list below is filled by walking it, so each comes out sorted
  // without sorting it (100,000 hosts, ~40 names each: one sort instead of forty).
  const ordered = hosts
    .map((h) => ({ h, key: hostSortKey(h.host) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.h.host < b.h.host ? -1 : a.h.host > b.h.host ? 1 : 0))
    .map(({ h }) => h)
  const folded = new Map<string, Folded>()
  const configurationOf: Folded[] = []
  const keyHosts = new Map<string, { type: KeyType; bits: number; hosts: string[] }>()
  for (const h of ordered) {
    // The banner as JSON first: its closing quote ends it, so no banner can run into the lists.
    const canonical = `${JSON.stringify(h.banner)}\n${listsOf(h.offered)}`
    let entry = folded.get(canonical)
    if (!entry) folded.set(canonical, (entry = { canonical, banner: h.banner, software: softwareOf(h.banner), offered: h.offered, hosts: [], hassh: '', id: '' }))
    entry.hosts.push(h.host)
    configurationOf.push(entry)
    const seen = new Set<string>()
    for (const key of h.keys) {
      const label = `${key.type} ${key.bits}`
      if (seen.has(label)) continue
      seen.add(label)
      let usage = keyHosts.get(label)
      if (!usage) keyHosts.set(label, (usage = { type: key.type, bits: key.bits, hosts: [] }))
      usage.hosts.push(h.host)
    }
  }
  const all = [...folded.values()]
  assignIds(all)
  all.sort((a, b) => b.hosts.length - a.hosts.length || (a.id < b.id ? -1 : 1))

  const configurations: Configuration[] = all.map((c) => ({ id: c.id, hassh: c.hassh, banner: c.banner, software: c.software, offered: c.offered, hosts: c.hosts }))
  const keys: KeyUsage[] = [...keyHosts.values()].sort((a, b) => b.hosts.length - a.hosts.length || a.type.localeCompare(b.type) || a.bits - b.bits)
  const where = (test: (offered: OfferedAlgorithms) => boolean): string[] => {
    const verdicts = new Map(all.map((c) => [c, test(c.offered)]))
    return ordered.filter((_, i) => verdicts.get(configurationOf[i]!)).map((h) => h.host)
  }
  return {
    hostCount: hosts.length,
    summary: {
      weak: where((o) => weakNames(o).length > 0),
      noPostQuantumKex: where((o) => !offersPostQuantumKex(o)),
      terrapin: where(isTerrapinVulnerable),
    },
    lists: listUsage(all, ordered, configurationOf),
    keys,
    configurations,
    ...groupsAndDeviants(all, ordered, configurationOf),
  }
}

/** One section per list; ciphers, MACs and compression split by direction only if some host sends them differently. */
function listUsage(configurations: readonly Folded[], ordered: readonly AuditedHost[], configurationOf: readonly Folded[]): ListUsage[] {
  const sections: { list: AuditList; direction: AuditDirection; usage: Map<string, string[]> }[] = []
  // Per configuration, the host lists each of its hosts goes into: one per name it offers, in every section.
  const targets = new Map<Folded, string[][]>(configurations.map((c) => [c, []]))
  for (const list of AUDIT_LISTS) {
    const symmetric = configurations.every((c) => isSymmetric(c.offered, list))
    const directions: [Direction, AuditDirection][] = symmetric ? [['serverToClient', 'both']] : [...DIRECTIONS]
    for (const [direction, label] of directions) {
      const usage = new Map<string, string[]>()
      for (const c of configurations) {
        for (const name of new Set(namesOf(c.offered, list, direction))) {
          let hosts = usage.get(name)
          if (!hosts) usage.set(name, (hosts = []))
          targets.get(c)!.push(hosts)
        }
      }
      sections.push({ list, direction: label, usage })
    }
  }
  ordered.forEach((h, i) => {
    for (const hosts of targets.get(configurationOf[i]!)!) hosts.push(h.host)
  })
  return sections.map(({ list, direction, usage }) => {
    const algorithms: AlgorithmUsage[] = [...usage].map(([name, hosts]) => ({
      name,
      hosts,
      weak: weaknessOf(name),
      postQuantum: list === 'kex' && POST_QUANTUM_KEX.includes(name),
      marker: list === 'kex' && isKexMarker(name),
    }))
    algorithms.sort((a, b) => b.hosts.length - a.hosts.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    return { list, direction, algorithms }
  })
}

function groupsAndDeviants(
  configurations: readonly Folded[],
  ordered: readonly AuditedHost[],
  configurationOf: readonly Folded[],
): { groups: SoftwareGroup[]; deviants: Deviant[] } {
  const bySoftware = new Map<string | null, Folded[]>()
  for (const c of configurations) {
    const members = bySoftware.get(c.software)
    if (members) members.push(c)
    else bySoftware.set(c.software, [c])
  }
  const count = (members: readonly Folded[]) => members.reduce((sum, c) => sum + c.hosts.length, 0)
  const groupOrder = [...bySoftware].sort(
    ([a, am], [b, bm]) => (a === null ? 1 : 0) - (b === null ? 1 : 0) || count(bm) - count(am) || compareHostNames(a ?? '', b ?? ''),
  )
  const groups: SoftwareGroup[] = []
  // For each deviant configuration, the majority it departs from, what differs, and its group's deviants.
  const departures = new Map<Folded, { majority: Folded; differences: ListDifference[]; found: Deviant[] }>()
  const foundByGroup: Deviant[][] = []
  for (const [software, members] of groupOrder) {
    // members keep the configurations' order: most hosts first, then id.
    const total = count(members)
    const top = members[0]!
    const majority = top.hosts.length * 2 > total ? top : null
    groups.push({ software, hostCount: total, configurations: members.map((c) => ({ id: c.id, hostCount: c.hosts.length })), majority: majority?.id ?? null })
    const found: Deviant[] = []
    foundByGroup.push(found)
    if (!majority) continue
    for (const c of members) if (c !== majority) departures.set(c, { majority, differences: compareConfigurations(c.offered, majority.offered), found })
  }
  ordered.forEach((h, i) => {
    const c = configurationOf[i]!
    const departure = departures.get(c)
    if (!departure) return
    const { majority, differences, found } = departure
    found.push({ host: h.host, software: c.software, configuration: c.id, majority: majority.id, bannerDiffers: c.banner !== majority.banner, differences })
  })
  return { groups, deviants: foundByGroup.flat() }
}

/** What a deviant offers that the majority does not, and the reverse, list by list. */
export function compareConfigurations(deviant: OfferedAlgorithms, majority: OfferedAlgorithms): ListDifference[] {
  const differences: ListDifference[] = []
  for (const list of AUDIT_LISTS) {
    const directions: [Direction, AuditDirection][] =
      isSymmetric(deviant, list) && isSymmetric(majority, list) ? [['serverToClient', 'both']] : [...DIRECTIONS]
    for (const [direction, label] of directions) {
      const mine = namesOf(deviant, list, direction)
      const theirs = namesOf(majority, list, direction)
      const added = [...new Set(mine.filter((n) => !theirs.includes(n)))]
      const missing = [...new Set(theirs.filter((n) => !mine.includes(n)))]
      const reordered = added.length === 0 && missing.length === 0 && !sameOrder(mine, theirs)
      if (added.length > 0 || missing.length > 0 || reordered) differences.push({ list, direction: label, added, missing, reordered })
    }
  }
  return differences
}
