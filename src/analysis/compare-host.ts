import type { Finding } from '../domain/finding.js'
import { KEY_FAMILIES, type KeyFamily, type Sha256Fingerprint } from '../domain/host-key.js'
import type { HostHistory, Sighting, SightingTrust } from '../domain/sighting.js'
import { finding, newHostFinding, notReachedFinding, partialScanFinding, DEFAULT_UNREACHABLE_AFTER, type UnreachablePolicy } from './host-findings.js'
import { findWeakKeys } from './weak-keys.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'
import { isAddressIdentity } from '../domain/target.js'
import { hostkeysCommand } from '../domain/shell-quote.js'

/* Comparison is per key FAMILY (ed25519, ecdsa, rsa, dsa), as ssh-keyscan -t and the issue define it.
 * ECDSA: the curves are one family. A host that had a trusted nistp256 key and now serves a nistp384
 * key raises key_changed (critical), not key_removed + key_added (warnings): a man in the middle
 * holding a key of another curve must not get away with a warning. The cost is a key_changed when a
 * host adds a second curve next to its first; accept it. key_removed is per key type, so a host that
 * keeps nistp256 but drops nistp384 still says so.
 *
 * Trust (domain/trust.ts): only the first scan of a host that has no trusted or pending key at all
 * trusts what it serves (trust on first use). After that a scan never makes a key trusted: a key that
 * is not trusted is pending, and stays so until `accept`. A pending key of a family the host has no
 * trusted key of is key_added (warning) while the host still serves a trusted family; while it
 * withholds every trusted family it was asked for (an interceptor that offers only its own key of
 * another family: ssh, which asks for the family it knows first, would refuse it, but an export that
 * added the new line would make ssh accept it), it is key_changed (critical). */

export interface HostComparison {
  readonly findings: readonly Finding[]
  /** The trust each served key has after this scan (new keys included). */
  readonly trust: ReadonlyMap<Sha256Fingerprint, SightingTrust>
  /** Keys served in place of a trusted key of their family: the interception candidates. */
  readonly changed: readonly ScannedKey[]
}

const recent = (a: Sighting, b: Sighting) =>
  Number(b.current) - Number(a.current) || (b.lastSeen?.getTime() ?? 0) - (a.lastSeen?.getTime() ?? 0)

/** The trusted key a change replaced: same type if there is one, else the family's most recent. */
function replacedKey(trusted: readonly Sighting[], key: ScannedKey): Sighting {
  const sameType = trusted.filter((t) => t.type === key.type).sort(recent)
  return sameType[0] ?? [...trusted].sort(recent)[0]!
}

/** Whether the first scan of this host may trust what it serves: nothing was ever trusted or pending. */
export function isFirstUse(sightings: readonly Sighting[]): boolean {
  return !sightings.some((s) => s.trust === 'trusted' || s.trust === 'pending')
}

/**
 * What one host's scan result means against its history: new_host, key_added, key_changed,
 * key_removed (only for families this scan asked for and collected), weak_key; for a host not
 * reached, host_unresolvable, never_reached or host_unreachable (never a removal).
 */
export function compareHost(
  history: HostHistory | null,
  scanned: ScannedHost,
  asked: ReadonlySet<KeyFamily>,
  policy: UnreachablePolicy = { unreachableAfter: DEFAULT_UNREACHABLE_AFTER },
): HostComparison {
  const host = scanned.host
  const findings: Finding[] = []
  const trust = new Map<Sha256Fingerprint, SightingTrust>()
  const changed: ScannedKey[] = []
  const sightings = history?.sightings ?? []

  if (!scanned.reached) {
    findings.push(notReachedFinding(history, scanned, policy))
    return { findings, trust, changed }
  }

  if (isFirstUse(sightings)) {
    for (const key of scanned.keys) trust.set(key.sha256, 'trusted')
    if (scanned.keys.length > 0 && sightings.length === 0) findings.push(newHostFinding(host, scanned.keys.map((k) => k.type)))
    if (scanned.failedFamilies.size > 0) findings.push(partialScanFinding(scanned))
    findings.push(...findWeakKeys(host, scanned.keys))
    return { findings, trust, changed }
  }

  const known = new Map<Sha256Fingerprint, Sighting>(sightings.map((s) => [s.sha256, s]))
  const trustedOf = (family: KeyFamily) => sightings.filter((s) => s.family === family && s.trust === 'trusted')
  // Families the host has trusted keys of, that this scan asked for and collected, and that it served
  // no key of at all: what a family swap withholds.
  const withheld = KEY_FAMILIES.filter(
    (family) => asked.has(family) && !scanned.failedFamilies.has(family) && trustedOf(family).length > 0 && !scanned.keys.some((k) => k.family === family),
  )
  const newFamily: ScannedKey[] = []
  for (const family of KEY_FAMILIES) {
    const served = scanned.keys.filter((k) => k.family === family)
    const trusted = trustedOf(family)
    const newcomers: ScannedKey[] = []
    for (const key of served) {
      if (known.get(key.sha256)?.trust === 'trusted') trust.set(key.sha256, 'trusted')
      else {
        trust.set(key.sha256, 'pending')
        newcomers.push(key)
      }
    }
    if (trusted.length === 0) {
      newFamily.push(...newcomers)
      continue
    }
    for (const key of newcomers) {
      const old = replacedKey(trusted, key)
      changed.push(key)
      findings.push(
        keyChangedFinding(host, key, old, scanned.address,
          `${host} serves a different ${key.type} key: ${key.sha256} instead of the trusted ${old.sha256}. `,
          'If the host was rebuilt or its keys rotated',
          'treat it as a possible man-in-the-middle and do not connect until it is explained.'),
      )
    }
    // A family whose probe failed this time (status partial) says nothing about what the host serves.
    if (newcomers.length === 0 && asked.has(family) && !scanned.failedFamilies.has(family)) {
      const servedTypes = new Set(served.map((k) => k.type))
      for (const gone of trusted.filter((t) => t.current && !servedTypes.has(t.type))) {
        findings.push(
          finding({
            kind: 'key_removed',
            severity: 'warning',
            host,
            keyType: gone.type,
            fingerprint: gone.sha256,
            previous: null,
            message:
              `${host} no longer serves its ${gone.type} key ${gone.sha256}; it stays trusted until the removal is accepted. ` +
              `If the key was retired on purpose, run \`${acceptCommand(host)}\`; otherwise check its sshd configuration (HostKey lines).`,
          }),
        )
      }
    }
  }
  for (const key of newFamily) {
    if (withheld.length > 0) {
      const old = [...sightings.filter((s) => s.trust === 'trusted' && withheld.includes(s.family))].sort(recent)[0]!
      changed.push(key)
      findings.push(
        keyChangedFinding(host, key, old, scanned.address,
          `${host} serves a ${key.type} key (${key.sha256}) it has never had trusted, and withholds its trusted ` +
            `${withheld.join(', ')} key${withheld.length > 1 ? 's' : ''} (${old.sha256}): ssh would refuse this host, and the new key is not vouched for. `,
          'If the host was rebuilt with other key types',
          'something else answers in its name: do not connect until it is explained.'),
      )
    } else {
      findings.push(
        finding({
          kind: 'key_added',
          severity: 'warning',
          host,
          keyType: key.type,
          fingerprint: key.sha256,
          previous: null,
          message:
            `${host} also serves a ${key.type} key (${key.sha256}) of a family it has no trusted key of; it stays pending and is not ` +
            `exported until accepted. If it is expected, confirm the fingerprint with the host's owner and run ` +
            `\`${acceptCommand(host)}\`; if nobody changed its sshd configuration, find out who did.`,
        }),
      )
    }
  }
  if (scanned.failedFamilies.size > 0) findings.push(partialScanFinding(scanned))
  findings.push(...findWeakKeys(host, scanned.keys))
  return { findings, trust, changed }
}

/** key_changed: a pending key served where a trusted one was (`old`); the message says what was seen,
 * the innocent reading (`innocent`) with the command that accepts it, and what to do otherwise. */
function keyChangedFinding(host: string, key: ScannedKey, old: Sighting, address: string | null, seen: string, innocent: string, otherwise: string): Finding {
  return finding({
    kind: 'key_changed',
    severity: 'critical',
    host,
    keyType: key.type,
    fingerprint: key.sha256,
    previous: old.sha256,
    message:
      seen +
      movedAddress(host, old.address, address) +
      `${innocent}, confirm the new fingerprint with its owner, then run \`${acceptCommand(host)}\`; otherwise ${otherwise}`,
  })
}

/** The accept command for a host, safe to paste. */
function acceptCommand(host: string): string {
  return hostkeysCommand('accept', host, '--reason', 'WHY')
}

/** For a host known by name, when the trusted key was last seen at another address than the one that
 * answered now: a name moved to another server on purpose (a DNS change, a migration) looks exactly
 * like DNS spoofing, and the message gives both addresses to tell them apart. */
function movedAddress(host: string, before: string | null | undefined, now: string | null): string {
  if (!before || !now || before === now || isAddressIdentity(host)) return ''
  return (
    `The name answered at ${now}; the trusted key was last seen at ${before}. If the name was pointed at another server on purpose ` +
    `(a DNS change, a migration), that explains it; if not, its DNS answer may be spoofed. `
  )
}
