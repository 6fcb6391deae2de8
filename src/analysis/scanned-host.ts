import type { HostKey, KeyFamily, Sha256Fingerprint } from '../domain/host-key.js'
import type { HostStatus, Observation } from '../domain/observation.js'

/* scanned host : everything one scan saw of one identity, merged over its observations. A host that
 *                answers on several addresses of its own (v4 and v6, two inventory lines) is one host:
 *                its keys are the union, and it was reached if any address answered. */

export interface ScannedHost {
  readonly host: string
  readonly reached: boolean
  /** `ok` if any observation was; else the first failure's status. */
  readonly status: HostStatus
  readonly error: string | null
  /** The address that answered (or was tried), and its port. */
  readonly address: string | null
  readonly port: number
  readonly banner: string | null
  /** Every other name and address this host was known by in this scan. */
  readonly aliases: readonly string[]
  readonly addresses: readonly string[]
  /** Distinct keys, in observation order. */
  readonly keys: readonly HostKey[]
}

/** Groups a scan's observations by host identity, in first-seen order. */
export function mergeObservations(observations: Iterable<Observation>): ScannedHost[] {
  const byHost = new Map<string, Observation[]>()
  for (const o of observations) {
    const list = byHost.get(o.target.host)
    if (list) list.push(o)
    else byHost.set(o.target.host, [o])
  }
  const hosts: ScannedHost[] = []
  for (const [host, list] of byHost) {
    const ok = list.filter((o) => o.status === 'ok')
    const main = ok[0] ?? list[0]!
    const keys = new Map<Sha256Fingerprint, HostKey>()
    for (const o of ok) for (const k of o.keys) if (!keys.has(k.sha256)) keys.set(k.sha256, k)
    const aliases = new Set<string>()
    const addresses = new Set<string>()
    for (const o of list) {
      for (const a of o.target.aliases) if (a !== host) aliases.add(a)
      if (o.target.address !== host) addresses.add(o.target.address)
      if (o.address && o.address !== host) addresses.add(o.address)
    }
    hosts.push({
      host,
      reached: ok.length > 0,
      status: main.status,
      error: main.error,
      address: main.address ?? main.target.address,
      port: main.target.port,
      banner: main.banner,
      aliases: [...aliases],
      addresses: [...addresses],
      keys: [...keys.values()],
    })
  }
  return hosts
}

/** The families a scan asked for; null in a request means every family. */
export function askedFamilies(requested: readonly KeyFamily[] | null, all: readonly KeyFamily[]): ReadonlySet<KeyFamily> {
  return new Set(requested && requested.length > 0 ? requested : all)
}
