import type { Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import type { Observation } from '../domain/observation.js'
import { compareFindings } from './analyze-scan.js'
import { findDuplicateKeys } from './duplicate-keys.js'
import { shareGroups } from './share-groups.js'
import { findWeakKeys } from './weak-keys.js'

/**
 * What a scan can say with no history (`--no-store`): weak keys, and keys served by several hosts of
 * this scan. Changes, new and vanished hosts need a history and are not raised.
 *
 * It takes observations one at a time and keeps only which hosts hold which fingerprint, so a
 * 100,000-host scan without a database holds no observation in memory. An identity seen on several
 * addresses is one host, as in the history.
 */
export class StandaloneJudgement {
  private readonly holders = new Map<Sha256Fingerprint, { keyType: KeyType; hosts: Set<string> }>()
  private readonly weak = new Map<string, Finding>()

  observe(observation: Observation): void {
    if (observation.status !== 'ok') return
    const host = observation.target.host
    for (const finding of findWeakKeys(host, observation.keys)) this.weak.set(`${host} ${finding.fingerprint}`, finding)
    for (const key of observation.keys) {
      const entry = this.holders.get(key.sha256)
      if (entry) entry.hosts.add(host)
      else this.holders.set(key.sha256, { keyType: key.type, hosts: new Set([host]) })
    }
  }

  findings(): Finding[] {
    const holders = [...this.holders].map(([fingerprint, { keyType, hosts }]) => ({ fingerprint, keyType, hosts: [...hosts] }))
    return [...this.weak.values(), ...findDuplicateKeys(holders, shareGroups([]))].sort(compareFindings)
  }
}
