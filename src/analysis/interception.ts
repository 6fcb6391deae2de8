import type { Finding } from '../domain/finding.js'
import type { HostKey, Sha256Fingerprint } from '../domain/host-key.js'
import { listHosts } from './host-list.js'
import type { ShareGroups } from './share-groups.js'

/** One host's key_changed in this scan: the key it serves now. */
export interface KeyChange {
  readonly host: string
  readonly key: Pick<HostKey, 'type' | 'sha256'>
  /** The host's new server configuration when it changed in the same scan, else null. */
  readonly config: { readonly id: number; readonly banner: string | null; readonly hassh: string } | null
  /** The address the host answered on in this scan, when known. */
  readonly address?: string | null
}

/**
 * interception: several hosts changed keys in this scan and now serve the same new key, the
 * signature of a middlebox re-keying connections. One critical finding per shared key, naming every
 * host, in addition to their key_changed. Hosts declared to share keys (an HA pair rotated together)
 * do not count as an interception among themselves.
 */
export function findInterception(changes: Iterable<KeyChange>, groups: ShareGroups): Finding[] {
  const byKey = new Map<
    Sha256Fingerprint,
    { key: Pick<HostKey, 'type' | 'sha256'>; hosts: Set<string>; configs: KeyChange['config'][]; addresses: (string | null)[] }
  >()
  for (const { host, key, config, address } of changes) {
    let entry = byKey.get(key.sha256)
    if (!entry) byKey.set(key.sha256, (entry = { key, hosts: new Set(), configs: [], addresses: [] }))
    if (!entry.hosts.has(host)) {
      entry.configs.push(config)
      entry.addresses.push(address ?? null)
    }
    entry.hosts.add(host)
  }
  const findings: Finding[] = []
  for (const [fingerprint, { key, hosts, configs, addresses }] of byKey) {
    const names = [...hosts].sort()
    if (names.length < 2 || groups.allMayShare(names)) continue
    const sameAddress = oneAddress(addresses)
    findings.push({
      kind: 'interception',
      severity: 'critical',
      host: names[0]!,
      hosts: names,
      keyType: key.type,
      fingerprint,
      previous: null,
      message:
        `${names.length} hosts changed their keys in this scan and all now serve the same ${key.type} key ` +
        `${fingerprint}: ${listHosts(names)}. ${sameNewConfig(configs)}${sameAddress}` +
        `${sameAddress ? 'If not, a' : 'A'} middlebox may be intercepting SSH on the path from this vantage point; ` +
        `verify the keys from the hosts' consoles before accepting any of them.`,
    })
  }
  return findings
}

/** When every host also changed its banner and algorithms to one same configuration in this scan: one
 * program answering for all of them looks exactly like that, so the finding says it. */
function sameNewConfig(configs: readonly KeyChange['config'][]): string {
  const first = configs[0]
  if (!first || configs.some((c) => c?.id !== first.id)) return ''
  return (
    `They also all changed their SSH configuration to the same new one (banner ${JSON.stringify(first.banner)}, HASSH ${first.hassh}): ` +
    `one program answering for all of them, which strengthens the case. `
  )
}

/** When every host answered on one same address: their names now lead to one server, which a DNS
 * change (a migration, a consolidation) does as well as a hijack; the finding says to look there first. */
function oneAddress(addresses: readonly (string | null)[]): string {
  const first = addresses[0]
  if (!first || addresses.some((a) => a !== first)) return ''
  return (
    `All of them answered on one address, ${first}: if their names were pointed at one server on purpose (a migration, a consolidation), ` +
    `that server's key is what they serve now; check DNS first. `
  )
}
