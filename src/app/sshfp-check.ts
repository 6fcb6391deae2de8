import type { Finding } from '../domain/finding.js'
import { isReached, type Observation } from '../domain/observation.js'
import { parseIdentity, type Target } from '../domain/target.js'
import { isDnsName } from '../domain/dns-name.js'
import { createSshfpResolver, DEFAULT_DNS_ATTEMPTS, DEFAULT_DNS_TIMEOUT_MS } from '../dns/sshfp-resolver.js'
import type { SshfpAnswer, SshfpResolver } from '../dns/sshfp-answer.js'
import type { SshfpAlgorithm } from '../domain/fingerprint/sshfp-record.js'
import { KEY_FAMILIES, type KeyFamily } from '../domain/host-key.js'
import { compareSshfp } from '../dns/sshfp.js'
import { parseNameserver, readResolvConf } from '../dns/nameserver.js'

/* SSHFP checks during a scan. The lookup starts when the scan takes the target, so DNS runs
 * alongside the SSH probes; the comparison waits for the host's keys. As OpenSSH does, only
 * identities that are DNS names are looked up (SSHFP has no port: `[web1]:2222` asks for web1),
 * and a host that was not reached is not compared. */

export type DnsCheck = (observation: Observation) => Promise<readonly Finding[]>

const SSHFP_ALGORITHM_OF_FAMILY: Record<KeyFamily, SshfpAlgorithm | null> = { rsa: 1, dsa: 2, ecdsa: 3, ed25519: 4, 'ed25519-sk': null, 'ecdsa-sk': null }

/**
 * Only the records a scan can judge: with `-t ed25519`, the host's RSA and ECDSA records are neither
 * right nor stale, since the scan never asked for those keys.
 */
export function recordsForFamilies(answer: SshfpAnswer, families: readonly KeyFamily[] | null): SshfpAnswer {
  if (answer.kind !== 'records' || families === null || families.length === 0) return answer
  const algorithms = new Set(families.map((f) => SSHFP_ALGORITHM_OF_FAMILY[f]))
  return { ...answer, records: answer.records.filter((r) => algorithms.has(r.algorithm)) }
}

/** The scan's `checkDns` dependency over a resolver, for a scan of these key families (null: all). */
export function sshfpCheckFor(
  resolver: SshfpResolver,
  families: readonly KeyFamily[] | null,
): (target: Target) => DnsCheck | null {
  return (target) => {
    const { name } = parseIdentity(target.host)
    if (!isDnsName(name)) return null
    const answer = resolver.lookupSshfp(name)
    return async (observation) => {
      if (!isReached(observation.status) || observation.keys.length === 0) return []
      // A family whose probe failed (partial) is not judged: its records are neither stale nor matched.
      const judged = observation.failedFamilies.length === 0 ? families
        : (families ?? KEY_FAMILIES).filter((f) => !observation.failedFamilies.includes(f))
      return compareSshfp(target.host, observation.keys, recordsForFamilies(await answer, judged))
    }
  }
}

/**
 * A resolver over `--resolver` addresses, else the system's resolv.conf nameservers and options;
 * `timeoutMs` (`--dns-timeout`) overrides resolv.conf's `options timeout:` when given.
 */
export async function resolverFromSettings(resolvers: readonly string[], timeoutMs: number | null = null): Promise<SshfpResolver> {
  if (resolvers.length > 0) {
    return createSshfpResolver({ nameservers: resolvers.map(parseNameserver), timeoutMs: timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS })
  }
  const conf = await readResolvConf()
  return createSshfpResolver({
    nameservers: conf.nameservers,
    timeoutMs: timeoutMs ?? conf.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
    attempts: conf.attempts ?? DEFAULT_DNS_ATTEMPTS,
  })
}
