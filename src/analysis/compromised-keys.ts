import type { Finding } from '../domain/finding.js'
import { hostkeysCommand } from '../domain/shell-quote.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import { finding } from './host-findings.js'
import { listHosts } from './host-list.js'

/* compromised_key (critical): a served key whose private key anyone can compute, or that a list of
 * leaked keys names. The checks are in bad-keys.ts, batch-gcd.ts and blocklist.ts; the verdicts are
 * kept with each key (app/known-bad-keys.ts). */

/** What makes a key bad: the check's name and what it found. */
export interface KeyVerdict {
  readonly check: string
  readonly detail: string
}

/** The verdict of a key a blocklist names (blocklist.ts's hit). */
export function blocklistVerdict(path: string, hit: { readonly list: string; readonly digest: string }): KeyVerdict {
  return { check: 'blocklist', detail: `it is on the blocklist ${path} (${hit.list}; badkeys hash ${hit.digest})` }
}

/** The verdict of an RSA key whose modulus shares a prime with these keys' (batch-gcd.ts's hit). */
export function sharedPrimeVerdict(partners: readonly Sha256Fingerprint[], how?: string): KeyVerdict {
  const keys = `RSA key${partners.length === 1 ? '' : 's'} ${partners.join(', ')}`
  return { check: 'shared-prime', detail: `its modulus shares a prime with the ${keys} (${how ? `${how}: ` : ''}batch GCD, Heninger et al. 2012)` }
}

/** compromised_key for each key this host serves that is known bad. */
export function compromisedKeyFindings(host: ScannedHost, bad: ReadonlyMap<Sha256Fingerprint, KeyVerdict>): Finding[] {
  if (bad.size === 0) return []
  return host.keys.flatMap((key) => {
    const verdict = bad.get(key.sha256)
    return verdict ? [compromisedKeyFinding(host.host, key, verdict, [host.host])] : []
  })
}

export function compromisedKeyFinding(host: string, key: { type: KeyType; sha256: Sha256Fingerprint }, verdict: KeyVerdict, servedBy: readonly string[]): Finding {
  const others = servedBy.filter((h) => h !== host)
  return finding({
    kind: 'compromised_key',
    severity: 'critical',
    host,
    keyType: key.type,
    fingerprint: key.sha256,
    previous: null,
    message:
      `${host} serves the ${key.type} key ${key.sha256}, which is known to be compromised (${verdict.check}): ${verdict.detail}. ` +
      `Its private key can be computed by anyone who sees the public key, so anyone can impersonate this host. ` +
      `Make new host keys on it (remove /etc/ssh/ssh_host_*key*, run ssh-keygen -A, restart sshd), ` +
      `then accept them with \`${hostkeysCommand('accept', host)}\`.${others.length > 0 ? ` ${listHosts(others)} serve${others.length === 1 ? 's' : ''} it too.` : ''}`,
  })
}

