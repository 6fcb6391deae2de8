import type { Finding } from '../domain/finding.js'
import { hostkeysCommand } from '../domain/shell-quote.js'
import { listHosts } from './host-list.js'
import type { ShareGroups } from './share-groups.js'
import type { KeyHolder, KeyHolders } from '../domain/key-holders.js'

/* server   : what answers on one endpoint (address and port). Several names of one endpoint are one
 *            server, whatever the inventory calls them: `[10.0.0.5]:2222` and `[web1]:2222` resolving
 *            to 10.0.0.5 are the same sshd, and SSH has no name-based virtual hosting.
 * duplicate: one key served by different servers: different addresses or ports. */



/** How many different servers the holders are: hosts sharing an endpoint count once (union-find). */
function serverCount(holders: readonly KeyHolder[]): number {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let root = x
    while (parent.get(root) !== root) root = parent.get(root)!
    parent.set(x, root)
    return root
  }
  const union = (a: string, b: string) => parent.set(find(a), find(b))
  for (const { host, endpoint } of holders) {
    if (!parent.has(`h:${host}`)) parent.set(`h:${host}`, `h:${host}`)
    if (endpoint === null) continue
    if (!parent.has(`e:${endpoint}`)) parent.set(`e:${endpoint}`, `e:${endpoint}`)
    union(`h:${host}`, `e:${endpoint}`)
  }
  return new Set([...parent.keys()].filter((k) => k.startsWith('h:')).map(find)).size
}

/**
 * duplicate_key for each key served by more than one server, unless every pair of its hosts may
 * share it. One finding per key, about its first host in name order, naming all of them.
 */
export function findDuplicateKeys(keys: Iterable<KeyHolders>, groups: ShareGroups): Finding[] {
  const findings: Finding[] = []
  for (const { fingerprint, keyType, holders } of keys) {
    const distinct = [...new Set(holders.map((h) => h.host))].sort()
    if (distinct.length < 2 || serverCount(holders) < 2 || groups.allMayShare(distinct)) continue
    findings.push({
      kind: 'duplicate_key',
      severity: 'warning',
      host: distinct[0]!,
      hosts: distinct,
      keyType,
      fingerprint,
      previous: null,
      message:
        `${distinct.length} hosts on different addresses or ports serve the same ${keyType} key ${fingerprint}: ${listHosts(distinct)}. ` +
        `Cloned machines need their own host keys (delete /etc/ssh/ssh_host_* and run ssh-keygen -A); ` +
        `if they legitimately share it, run \`${hostkeysCommand('allow-shared', ...distinct)}\`.${everydayReading(holders)}`,
    })
  }
  return findings
}

/** What else than clones the holders' endpoints can mean, when they show it: one dual-stack server
 * listed by its IPv4 and IPv6 addresses on one port (the finding says how to list it once), or one
 * address on several ports (one sshd with several Port lines, or a NAT forwarding ports to clones). */
function everydayReading(holders: readonly KeyHolder[]): string {
  const endpoints = holders.flatMap((h) => (h.endpoint ? [h.endpoint.split(' ') as [string, string]] : []))
  const addresses = new Set(endpoints.map(([address]) => address))
  const ports = new Set(endpoints.map(([, port]) => port))
  const v4 = endpoints.find(([address]) => !address.includes(':'))?.[0]
  const v6 = endpoints.find(([address]) => address.includes(':'))?.[0]
  if (ports.size === 1 && v4 && v6) {
    return (
      ` It is served on IPv4 and IPv6 addresses on one port: if these are one dual-stack server, ` +
      `list it once, as an inventory line '${v4},${v6} NAME', and it is one host.`
    )
  }
  if (endpoints.length >= 2 && endpoints.length === holders.length && addresses.size === 1 && ports.size >= 2) {
    return (
      ` All of them are ${[...addresses][0]} on different ports: one sshd listening on several ports (several Port lines) serves one key on all ` +
      `of them, and then allow-shared is right; if the address forwards its ports to several machines (NAT), those machines are clones.`
    )
  }
  return ''
}
