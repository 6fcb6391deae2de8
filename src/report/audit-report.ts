import { compareHostNames, type AuditDirection, type Deviant, type FleetAudit, type ListDifference, type ListUsage } from '../domain/fleet-audit.js'
import type { OfferedAlgorithms } from '../domain/observation.js'
import type { Finding } from '../domain/finding.js'
import { echoInput } from '../domain/echo.js'

/* What `hostkeys audit` prints. The text is read at a terminal: sections in capitals, columns as wide as
 * their widest cell (the whole audit is in hand, nothing streams), host lists cut to HOSTS_SHOWN names
 * with the count of the rest ("all" when every host is in it). The JSON is the whole FleetAudit, every
 * host named, with field names documented in README: arrays of hosts are `hosts`, their sizes `count`.
 * Banners are printable already (ssh/kexinit.ts escapes what servers send), as are algorithm names
 * (RFC 4251 §6, checked by the KEXINIT reader). */

/** How many host names a text row shows before "… and N more". */
export const HOSTS_SHOWN = 4
/** How many deviant hosts of one configuration the text names: they are what to act on, so more. */
export const DEVIANTS_SHOWN = 20

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

/** Rows as columns as wide as their widest cell, the last column left ragged. */
function aligned(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
}

/** Which hosts, as briefly as they can be named: `all`, the names, `all but` the few others, or the first few and how many more. */
function hostList(hosts: readonly string[], fleet: readonly string[]): string {
  if (hosts.length === fleet.length && fleet.length > 1) return 'all'
  if (hosts.length <= HOSTS_SHOWN) return hosts.join(', ')
  if (fleet.length - hosts.length <= HOSTS_SHOWN) {
    const named = new Set(hosts)
    return `all but ${fleet.filter((h) => !named.has(h)).join(', ')}`
  }
  return `${hosts.slice(0, HOSTS_SHOWN).join(', ')} … and ${hosts.length - HOSTS_SHOWN} more`
}

/** Every host of the audit, in the audit's host order. */
function fleetHosts(audit: FleetAudit): string[] {
  return audit.configurations.flatMap((c) => c.hosts).sort(compareHostNames)
}

function directionLabel(direction: AuditDirection): string {
  return direction === 'both' ? '' : ` (${direction.replace(/-/g, ' ')})`
}

/** `hostkeys audit`: summary, algorithms, host keys, configurations, groups and deviants. */
export function renderAuditText(audit: FleetAudit): string {
  const total = audit.hostCount
  if (total === 0) return 'hostkeys audit: no host with a recorded key exchange offer (KEXINIT) to audit; scan some first'
  const out: string[] = [
    `hostkeys audit: ${plural(total, 'host')}, ${plural(audit.configurations.length, 'configuration')}, ` +
      `${plural(audit.groups.length, 'software group')}, ${plural(audit.deviants.length, 'deviant')}`,
    '',
    'SUMMARY',
  ]
  const fleet = fleetHosts(audit)
  const { summary } = audit
  const weakNames = new Map<string, string>()
  for (const section of audit.lists) for (const a of section.algorithms) if (a.weak !== null) weakNames.set(a.name, a.weak)
  const summaryRows: [string, readonly string[]][] = [
    ['weak algorithms', summary.weak],
    ['no post-quantum kex', summary.noPostQuantumKex],
    ['Terrapin (CVE-2023-48795)', summary.terrapin],
  ]
  const summaryLines = aligned(summaryRows.map(([what, hosts]) => [what, `${hosts.length}/${total}`, hostList(hosts, fleet)]))
  // Which names are weak, and why, right under the count of hosts offering them.
  out.push(summaryLines[0]!, ...aligned([...weakNames].map(([name, why]) => [name, why]), '      '), ...summaryLines.slice(1))

  out.push('', 'ALGORITHMS (hosts offering each)')
  const rows = audit.lists.flatMap((section) => section.algorithms.map((a) => [a.name, a.weak !== null ? 'weak' : a.postQuantum ? 'pq' : a.marker ? 'marker' : '', `${a.hosts.length}/${total}`, hostList(a.hosts, fleet)]))
  // One alignment for every list, so the columns line up down the whole section.
  const formatted = aligned(rows, '    ')
  let next = 0
  for (const section of audit.lists) {
    out.push(`  ${sectionTitle(section)}`)
    out.push(...formatted.slice(next, next + section.algorithms.length))
    next += section.algorithms.length
  }

  out.push('', 'HOST KEYS')
  out.push(...aligned(audit.keys.map((k) => [`${k.type} ${k.bits}`, `${k.hosts.length}/${total}`, hostList(k.hosts, fleet)])))

  out.push('', 'CONFIGURATIONS (banner and algorithm lists, most common first)')
  const configurationRows = [['ID', 'HOSTS', 'HASSH', 'BANNER'], ...audit.configurations.map((c) => [c.id, String(c.hosts.length), c.hassh, c.banner ?? '(none)'])]
  const configurationLines = aligned(configurationRows)
  out.push(configurationLines[0]!)
  audit.configurations.forEach((c, i) => {
    out.push(configurationLines[i + 1]!)
    out.push(`      ${hostList(c.hosts, fleet)}`)
  })

  out.push('', 'SOFTWARE GROUPS (hosts whose banner names the same software)')
  out.push(
    ...aligned(
      audit.groups.map((g) => {
        const majority = g.majority === null ? null : g.configurations.find((c) => c.id === g.majority)!
        const verdict =
          g.majority === null
            ? `no majority: its ${g.configurations.length} configurations have ${andList(g.configurations.map((c) => String(c.hostCount)))} hosts`
            : g.configurations.length === 1
              ? `one configuration, ${g.majority}`
              : `majority ${g.majority} (${majority!.hostCount} of ${g.hostCount})`
        return [g.software ?? 'unknown (no banner)', plural(g.hostCount, 'host'), verdict]
      }),
    ),
  )

  out.push('', 'DEVIANTS (hosts configured unlike the majority of their group)')
  if (audit.deviants.length === 0) out.push('  none')
  // Hosts sharing a deviant configuration share what differs: said once, after their names.
  const byConfiguration = new Map<string, Deviant[]>()
  for (const d of audit.deviants) {
    const same = byConfiguration.get(d.configuration)
    if (same) same.push(d)
    else byConfiguration.set(d.configuration, [d])
  }
  for (const [configuration, deviants] of byConfiguration) {
    const d = deviants[0]!
    const names = deviants.slice(0, DEVIANTS_SHOWN).map((x) => x.host)
    const more = deviants.length > DEVIANTS_SHOWN ? ` … and ${deviants.length - DEVIANTS_SHOWN} more (--format json names them all)` : ''
    out.push(`  ${names.join(', ')}${more}: ${configuration}, majority ${d.majority} (${d.software ?? 'unknown'})`)
    if (d.bannerDiffers) {
      const own = audit.configurations.find((c) => c.id === configuration)?.banner ?? '(none)'
      const theirs = audit.configurations.find((c) => c.id === d.majority)?.banner ?? '(none)'
      out.push(`      banner: ${own} (majority: ${theirs})`)
    }
    for (const difference of d.differences) out.push(`      ${renderDifference(difference)}`)
  }
  return out.join('\n')
}

/** `1, 2 and 3`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

function sectionTitle(section: ListUsage): string {
  return `${section.list}${directionLabel(section.direction)}`
}

/** `macs: +hmac-sha1 -hmac-sha2-512-etm@openssh.com`, or `kex: same names, another order`. */
function renderDifference(d: ListDifference): string {
  const head = `${d.list}${directionLabel(d.direction)}:`
  if (d.reordered) return `${head} same names, another order`
  return [head, ...d.added.map((n) => `+${n}`), ...d.missing.map((n) => `-${n}`)].join(' ')
}

function offeredJson(offered: OfferedAlgorithms) {
  return {
    kex: offered.kex,
    serverHostKey: offered.serverHostKey,
    ciphers: { clientToServer: offered.ciphers.clientToServer, serverToClient: offered.ciphers.serverToClient },
    macs: { clientToServer: offered.macs.clientToServer, serverToClient: offered.macs.serverToClient },
    compression: { clientToServer: offered.compression.clientToServer, serverToClient: offered.compression.serverToClient },
  }
}

/** JSON indented by two spaces, but an array of strings, numbers or nulls on one line: a list of
 * 100,000 hosts one per line was half the document's bytes in indentation. */
function jsonWithInlineLists(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || typeof item !== 'object')) return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`
    const inner = `${indent}  `
    return `[\n${value.map((item) => inner + jsonWithInlineLists(item, inner)).join(',\n')}\n${indent}]`
  }
  if (value !== null && typeof value === 'object') {
    const inner = `${indent}  `
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{}'
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${jsonWithInlineLists(v, inner)}`).join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value)
}

/** What `audit --policy FILE` adds: the hosts whose configuration or keys the policy refuses. */
export interface PolicyReport {
  readonly source: string
  readonly violations: readonly Pick<Finding, 'host' | 'message'>[]
}

/** The POLICY section of `hostkeys audit --policy FILE`. */
export function renderPolicyText(policy: PolicyReport): string {
  const lines = [`POLICY ${echoInput(policy.source)}: ${policy.violations.length === 0 ? 'every host complies' : `${policy.violations.length} ${policy.violations.length === 1 ? 'host deviates' : 'hosts deviate'}`}`]
  for (const v of policy.violations) lines.push(`  ${v.message}`)
  return lines.join('\n')
}

/** `hostkeys audit --format json`: the whole audit, field by field (README, "Fleet audit"); with
 * `--policy`, a `policy` object naming the file and each deviating host. */
export function renderAuditJson(audit: FleetAudit, policy: PolicyReport | null = null): string {
  return jsonWithInlineLists(
    {
      hostCount: audit.hostCount,
      summary: { weak: audit.summary.weak, noPostQuantumKex: audit.summary.noPostQuantumKex, terrapin: audit.summary.terrapin },
      lists: audit.lists.map((section) => ({
        list: section.list,
        direction: section.direction,
        algorithms: section.algorithms.map((a) => ({ name: a.name, count: a.hosts.length, hosts: a.hosts, weak: a.weak, postQuantum: a.postQuantum, marker: a.marker })),
      })),
      keys: audit.keys.map((k) => ({ type: k.type, bits: k.bits, count: k.hosts.length, hosts: k.hosts })),
      configurations: audit.configurations.map((c) => ({
        id: c.id,
        hassh: c.hassh,
        banner: c.banner,
        software: c.software,
        count: c.hosts.length,
        hosts: c.hosts,
        offered: offeredJson(c.offered),
      })),
      groups: audit.groups.map((g) => ({
        software: g.software,
        count: g.hostCount,
        majority: g.majority,
        configurations: g.configurations.map((c) => ({ id: c.id, count: c.hostCount })),
      })),
      deviants: audit.deviants.map((d) => ({
        host: d.host,
        software: d.software,
        configuration: d.configuration,
        majority: d.majority,
        bannerDiffers: d.bannerDiffers,
        differences: d.differences.map((x) => ({ list: x.list, direction: x.direction, added: x.added, missing: x.missing, reordered: x.reordered })),
      })),
      ...(policy ? { policy: { source: policy.source, violations: policy.violations.map((v) => ({ host: v.host, message: v.message })) } } : {}),
    },
  )
}
