import type { KeyFamily, Sha256Fingerprint } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'
import { keptKeys, ObservationKeeper, type KeptObservation } from './packed-observations.js'

/* scanned host : everything one scan saw of one identity, merged over its observations. A host that
 *                answers on several addresses of its own (v4 and v6, two inventory lines) is one host:
 *                its keys are the union, and it was reached if any address answered. Observations
 *                arrive whole or packed (packed-observations.ts); both merge the same way. */

function isKept(o: Observation | KeptObservation): o is KeptObservation {
  return 'kind' in o && o.kind === 'kept'
}

/** Groups a scan's observations (full or kept) by host identity, in first-seen order. */
export function mergeObservations(observations: Iterable<Observation | KeptObservation>): ScannedHost[] {
  const keeper = new ObservationKeeper(64 * 1024)
  const byHost = new Map<string, KeptObservation[]>()
  for (const observation of observations) {
    const o = isKept(observation) ? observation : keeper.keep(observation)
    const list = byHost.get(o.host)
    if (list) list.push(o)
    else byHost.set(o.host, [o])
  }
  const hosts: ScannedHost[] = []
  for (const [host, list] of byHost) {
    const answered = list.filter((o) => isReached(o.status))
    const complete = answered.filter((o) => o.status === 'ok')
    // Of a host no address answered, an address that sent its KEXINIT says more than one that was silent
    // (keys_withheld rather than host_unreachable).
    const main = complete[0] ?? answered[0] ?? list.find((o) => o.offered !== null) ?? list[0]!
    const keys = new Map<Sha256Fingerprint, ScannedKey>()
    // A key one address served with its certificate and another without is one key; keep the certificate.
    for (const o of answered) for (const k of keptKeys(o)) if (!keys.has(k.sha256) || (k.certificate && !keys.get(k.sha256)!.certificate)) keys.set(k.sha256, k)
    // A family counts as failed only if no address that answered gave it completely.
    const failedFamilies = new Set<KeyFamily>(complete.length > 0 ? [] : answered.flatMap((o) => o.failedFamilies))
    const aliases = new Set<string>()
    const addresses = new Set<string>()
    for (const o of list) {
      for (const a of o.aliases) if (a !== host) aliases.add(a)
      if (o.targetAddress !== host) addresses.add(o.targetAddress)
      if (o.address && o.address !== host) addresses.add(o.address)
    }
    hosts.push({
      host,
      reached: answered.length > 0,
      status: main.status,
      failedFamilies,
      error: main.error,
      address: main.address ?? main.targetAddress,
      port: main.port,
      banner: main.banner,
      offered: main.offered,
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
