import { compareFindings, type Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import { findDuplicateKeys } from './duplicate-keys.js'
import { keysWithheldFinding } from './host-findings.js'
import { shareGroups } from './share-groups.js'
import { findWeakKeys } from './weak-keys.js'
import { algorithmFindings } from './algorithm-findings.js'
import { policyFindings, type AlgorithmPolicy } from './policy.js'
import { checkQuietly, rsaModulus, type BadKeyVerdict } from './bad-keys.js'
import { sharedFactors } from './batch-gcd.js'
import { blocklistDigest } from './blocklist.js'
import { blocklistVerdict, compromisedKeyFinding, sharedPrimeVerdict, type KeyVerdict } from './compromised-keys.js'
import { certificateFindings, DEFAULT_CERT_WARN_DAYS } from './certificate-findings.js'
import { parseIdentity } from '../domain/target.js'
import { endpointOf, type KeyHolder } from '../domain/key-holders.js'

/**
 * What a scan can say with no history (`--no-store`): weak keys, keys served by several hosts of
 * this scan, and hosts that answered SSH but withheld every key (keys_withheld). Changes, new and
 * vanished hosts need a history and are not raised.
 *
 * It takes observations one at a time and keeps only which hosts hold which fingerprint, so a
 * 100,000-host scan without a database holds no observation in memory. An identity seen on several
 * addresses is one host, as in the history; several identities on one address and port are one
 * server, never duplicates of each other.
 */
export class StandaloneJudgement {
  private readonly holders = new Map<Sha256Fingerprint, { keyType: KeyType; holders: Map<string, KeyHolder> }>()
  private readonly weak = new Map<string, Finding>()
  private readonly certificates = new Map<string, Finding>()
  /** Hosts that answered SSH on some address and gave no key there, until an address of theirs is reached. */
  private readonly withheld = new Map<string, Finding>()
  private readonly reached = new Set<string>()
  private readonly certWarnDays: number
  private readonly policy: AlgorithmPolicy | null
  /** Each distinct key once: its per-key verdict, and what the blocklist and batch GCD need of it. */
  private readonly checked = new Map<Sha256Fingerprint, { verdict: BadKeyVerdict | null; digest: Buffer; modulus: bigint | null }>()

  constructor(options: { certWarnDays?: number; policy?: AlgorithmPolicy | null } = {}) {
    this.certWarnDays = options.certWarnDays ?? DEFAULT_CERT_WARN_DAYS
    this.policy = options.policy ?? null
  }

  observe(observation: Observation): void {
    const host = observation.target.host
    if (!isReached(observation.status)) {
      // The same test as the judge with a history (host-findings.ts withholdsKeys), per identity.
      if (observation.offered !== null && !this.reached.has(host) && !this.withheld.has(host)) {
        const { status, error, banner, offered } = observation
        this.withheld.set(host, keysWithheldFinding({ host, status, error, banner, offered }))
      }
      return
    }
    this.reached.add(host)
    this.withheld.delete(host)
    const holder = { host, endpoint: endpointOf(observation.address, observation.target.port) }
    for (const finding of findWeakKeys(host, observation.keys)) this.weak.set(`${host} ${finding.fingerprint}`, finding)
    if (observation.offered) {
      for (const finding of algorithmFindings(host, observation.offered)) this.weak.set(`${finding.kind} ${host}`, finding)
      if (this.policy) for (const finding of policyFindings(host, observation.offered, observation.keys, this.policy)) this.weak.set(`${finding.kind} ${host}`, finding)
    }
    if (observation.keys.some((k) => k.certificate)) {
      const target = observation.target
      const names = [parseIdentity(host).name, ...target.aliases, target.address, ...(observation.address ? [observation.address] : [])]
      const certified = { host, names: [...new Set(names)], port: target.port, keys: observation.keys }
      // No trust list without a history: whether the CA is trusted is not judged here.
      for (const finding of certificateFindings(certified, { now: new Date(), warnDays: this.certWarnDays }, { trust: null, previous: null })) {
        this.certificates.set(`${finding.kind} ${host} ${finding.fingerprint}`, finding)
      }
    }
    for (const key of observation.keys) {
      if (!this.checked.has(key.sha256)) {
        const verdict = checkQuietly(key)
        this.checked.set(key.sha256, { verdict, digest: blocklistDigest(key), modulus: key.type === 'ssh-rsa' && !verdict ? rsaModulus(key.blob) : null })
      }
      let entry = this.holders.get(key.sha256)
      if (!entry) this.holders.set(key.sha256, (entry = { keyType: key.type, holders: new Map() }))
      entry.holders.set(`${host} ${holder.endpoint}`, holder)
    }
  }

  /** compromised_key for every host serving a known-bad key: the per-key checks, the blocklist if one
   * is given, and shared primes among the RSA keys of this scan (without a history, only these). */
  async knownBadKeyFindings(blocklist: { lookupDigest(digest: Buffer): Promise<{ list: string; digest: string } | null>; readonly path: string } | null): Promise<Finding[]> {
    const bad = new Map<Sha256Fingerprint, KeyVerdict>()
    for (const [sha256, { verdict, digest }] of this.checked) {
      if (verdict) bad.set(sha256, verdict)
      else if (blocklist) {
        const hit = await blocklist.lookupDigest(digest)
        if (hit) bad.set(sha256, blocklistVerdict(blocklist.path, hit))
      }
    }
    const rsa = [...this.checked].filter(([sha256, c]) => c.modulus !== null && !bad.has(sha256))
    const shared = sharedFactors([], rsa.map(([, c]) => c.modulus!))
    for (const hit of shared.hits) {
      const partners = hit.sharesWith.map((ref) => rsa[ref.index]![0])
      bad.set(rsa[hit.fresh]![0], sharedPrimeVerdict(partners))
    }
    const findings: Finding[] = []
    for (const [sha256, verdict] of bad) {
      const entry = this.holders.get(sha256)!
      const hosts = [...new Set([...entry.holders.values()].map((h) => h.host))]
      for (const host of hosts) findings.push(compromisedKeyFinding(host, { type: entry.keyType, sha256 }, verdict, hosts))
    }
    return findings
  }

  findings(): Finding[] {
    const holders = [...this.holders].map(([fingerprint, { keyType, holders }]) => ({ fingerprint, keyType, holders: [...holders.values()] }))
    return [...this.weak.values(), ...this.certificates.values(), ...this.withheld.values(), ...findDuplicateKeys(holders, shareGroups([]))].sort(compareFindings)
  }
}
