import type { Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { listHosts } from './host-list.js'
import type { ShareGroups } from './share-groups.js'

/** Every host of the whole inventory that currently serves one key (after this scan). */
export interface KeyHolders {
  readonly fingerprint: Sha256Fingerprint
  readonly keyType: KeyType
  readonly hosts: readonly string[]
}

/**
 * duplicate_key for each key served by more than one host, unless every pair of them may share it.
 * One finding per key, about its first host in name order, naming all of them.
 */
export function findDuplicateKeys(holders: Iterable<KeyHolders>, groups: ShareGroups): Finding[] {
  const findings: Finding[] = []
  for (const { fingerprint, keyType, hosts } of holders) {
    const distinct = [...new Set(hosts)].sort()
    if (distinct.length < 2 || groups.allMayShare(distinct)) continue
    findings.push({
      kind: 'duplicate_key',
      severity: 'warning',
      host: distinct[0]!,
      hosts: distinct,
      keyType,
      fingerprint,
      previous: null,
      message:
        `${distinct.length} hosts serve the same ${keyType} key ${fingerprint}: ${listHosts(distinct)}. ` +
        `Cloned machines need their own host keys (delete /etc/ssh/ssh_host_* and run ssh-keygen -A); ` +
        `if they legitimately share it, run 'hostkeys allow-shared ${distinct.join(' ')}'.`,
    })
  }
  return findings
}
