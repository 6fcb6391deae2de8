import type { Finding } from '../domain/finding.js'
import { KEY_TYPES, type HostKey, type KeyType, type Sha256Fingerprint } from '../domain/host-key.js'
import { parseIdentity } from '../domain/target.js'
import type { SshfpAnswer } from './sshfp-answer.js'
import {
  formatSshfpRdata,
  recordMatchesKey,
  sha256FingerprintOfRecord,
  hasSshfpAlgorithm,
  sshfpAlgorithmOf,
  type SshfpAlgorithm,
  type SshfpRecord,
} from '../domain/fingerprint/sshfp-record.js'

/* How served keys and published SSHFP records are compared (issue 4), per SSHFP algorithm:
 *   records for the algorithm, none matches any served key of it  -> sshfp_mismatch, one per served key
 *   no record for the algorithm                                   -> sshfp_missing, one per host, listing each such key
 *   records that match no served key, beside matching ones, or
 *   for an algorithm the host does not serve                      -> sshfp_stale, one per algorithm
 *   any records, AD bit clear                                     -> sshfp_insecure, once
 *   lookup failed                                                 -> dns_error, once, and nothing else
 * A record "matches" a key when algorithm and digest agree for the record's own digest type (RFC 4255 §3.1);
 * one matching digest type is enough, as for OpenSSH's verify_host_key_dns().
 *
 * ECDSA: RFC 6594 gives every curve algorithm 3, so a digest cannot say which curve a record is for. A host
 * serving nistp256 and nistp384 keys with records for nistp256 only is *not* a mismatch for the nistp384 key:
 * DNS does describe this host's ECDSA key, just not that one. It is listed in the host's sshfp_missing, with
 * words that say why adding the record does not help: OpenSSH fails the DNS check when any record of the
 * negotiated algorithm and digest length differs from the key (dns.c, "If any fingerprint failed to validate,
 * return failure"), so with two ECDSA keys published, every ECDSA check fails. Only when no algorithm-3
 * record matches any served ECDSA key is each ECDSA key a mismatch.
 *
 * sshfp_missing is about the host, not one key (issue 7): a host with no records at all would otherwise raise
 * one finding per key, night after night. Its keyType and fingerprint are null, so its identity (kind|host|,
 * analysis/finding-lifecycle.ts) stays the same while the set of unpublished keys changes: a scan that finds
 * two keys missing, then one, updates the one finding's message instead of opening another. */

const ALGORITHM_NAMES: Record<SshfpAlgorithm, string> = { 1: 'RSA', 2: 'DSA', 3: 'ECDSA', 4: 'Ed25519' }

/** A single key type for an algorithm, when there is one (ECDSA curves share algorithm 3). */
const KEY_TYPE_OF_ALGORITHM: Record<SshfpAlgorithm, KeyType | null> = { 1: 'ssh-rsa', 2: 'ssh-dss', 3: null, 4: 'ssh-ed25519' }

function finding(
  kind: Finding['kind'],
  severity: Finding['severity'],
  host: string,
  keyType: KeyType | null,
  fingerprint: Sha256Fingerprint | null,
  previous: Sha256Fingerprint | null,
  message: string,
): Finding {
  return { kind, severity, host, hosts: [host], keyType, fingerprint, previous, message }
}

const FAILURE_ADVICE: Record<string, string> = {
  timeout: 'check that the resolver is reachable (or name one with --resolver ADDR[:PORT]) and scan again',
  servfail:
    'the resolver could not get an answer; from a validating resolver this often means broken DNSSEC signatures for the zone, so check them (dig +cd shows the data without validation)',
  refused: 'the resolver refuses our queries; allow this host to query it, or name another with --resolver',
  malformed: 'the answer could not be decoded safely and was not used; check the zone data with dig, and scan again',
  rcode: 'check the zone and the resolver with dig',
  network: 'check that the resolver is reachable (or name one with --resolver ADDR[:PORT]) and scan again',
  'bad-name': 'the host identity is not a name DNS can hold',
}

/** A served key DNS has no SSHFP record for; publishedFor: the other keys of its algorithm that DNS does
 * describe (only ECDSA, whose curves share algorithm 3, can have any). */
interface UnpublishedKey {
  readonly key: HostKey
  readonly algorithm: SshfpAlgorithm
  readonly publishedFor: readonly KeyType[]
}

function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`
}

/** The host's one sshfp_missing: every unpublished key, and what to publish (or, for a second ECDSA curve, not). */
function missingFinding(host: string, unpublished: readonly UnpublishedKey[]): Finding {
  // KEY_TYPES order, not probe arrival order: the message a scan writes over the stored one only changes
  // when the set of keys does.
  const sorted = [...unpublished].sort((a, b) => KEY_TYPES.indexOf(a.key.type) - KEY_TYPES.indexOf(b.key.type))
  const name = parseIdentity(host).name
  const listed = sorted.map((u) => `${u.key.type} ${u.key.sha256}`).join(', ')
  const sentences = [
    sorted.length === 1
      ? `${host} serves a host key DNS has no SSHFP record for: ${listed}.`
      : `${host} serves ${sorted.length} host keys DNS has no SSHFP records for: ${listed}.`,
  ]
  const absent = sorted.filter((u) => u.publishedFor.length === 0)
  if (absent.length > 0) {
    const algorithms = [...new Set(absent.map((u) => u.algorithm))].map((a) => `${ALGORITHM_NAMES[a]} (algorithm ${a})`)
    const pronoun = absent.length === 1 ? 'it' : 'them'
    const which = absent.length === sorted.length ? pronoun : `the ${listWords(absent.map((u) => u.key.type))} key${absent.length === 1 ? '' : 's'}`
    sentences.push(
      `If clients should verify ${which} with VerifyHostKeyDNS, publish SSHFP records for ${listWords(algorithms)} at ${name}: hostkeys sshfp --format nsupdate --diff ${name} prints the update; ssh-keygen -r ${name}, run on the host, prints the records.`,
    )
  }
  const otherCurves = sorted.filter((u) => u.publishedFor.length > 0)
  if (otherCurves.length > 0) {
    const types = listWords(otherCurves.map((u) => u.key.type))
    const others = listWords([...new Set(otherCurves.flatMap((u) => u.publishedFor))])
    sentences.push(
      `Of its ECDSA keys, DNS has records for ${others} only. SSHFP gives every ECDSA curve algorithm 3 (RFC 6594), and OpenSSH rejects the DNS match when any algorithm-3 record differs from the key it got, so clients that negotiate ${types} see a mismatch, and publishing ${otherCurves.length === 1 ? 'that key' : 'those keys'} too would break the check for ${others}: serve a single ECDSA key.`,
    )
  }
  return finding('sshfp_missing', 'info', host, null, null, null, sentences.join(' '))
}

/** Findings from comparing the keys a host served with its SSHFP answer. Unreachable hosts (no keys) get none. */
export function compareSshfp(host: string, served: readonly HostKey[], answer: SshfpAnswer): Finding[] {
  // Security-key host keys have no SSHFP algorithm: DNS can say nothing about them.
  const servedKeys = served.filter(hasSshfpAlgorithm)
  if (servedKeys.length === 0) return []
  if (answer.kind === 'error') {
    return [
      finding(
        'dns_error',
        'warning',
        host,
        null,
        null,
        null,
        `The SSHFP lookup for ${host} failed (${answer.status}: ${answer.detail}), so its DNS records were not checked: ${FAILURE_ADVICE[answer.status] ?? 'check the resolver'}.`,
      ),
    ]
  }
  const findings: Finding[] = []
  const records = answer.records
  const servedAlgorithms = [...new Set(servedKeys.map((k) => sshfpAlgorithmOf(k.type)!))]
  const mismatchedAlgorithms = new Set<SshfpAlgorithm>()
  const unpublished: UnpublishedKey[] = []

  for (const algorithm of servedAlgorithms) {
    const keys = servedKeys.filter((k) => sshfpAlgorithmOf(k.type) === algorithm)
    const published = records.filter((r) => r.algorithm === algorithm)
    const matched = keys.filter((k) => published.some((r) => recordMatchesKey(r, k)))
    for (const key of keys) {
      if (matched.includes(key)) continue
      if (published.length === 0 || matched.length > 0) {
        unpublished.push({ key, algorithm, publishedFor: matched.map((k) => k.type) })
      } else {
        mismatchedAlgorithms.add(algorithm)
        const previous = published.map(sha256FingerprintOfRecord).find((f) => f !== null) ?? null
        const shown = published.map((r) => `${host} SSHFP ${formatSshfpRdata(r)}`).join(', ')
        findings.push(
          finding(
            'sshfp_mismatch',
            'critical',
            host,
            key.type,
            key.sha256,
            previous,
            `DNS publishes SSHFP records for ${ALGORITHM_NAMES[algorithm]} (algorithm ${algorithm}) at ${host}, but none matches the ${key.type} key ${key.sha256} the host serves, so ssh with VerifyHostKeyDNS reports a changed host key. If the host was rebuilt, replace the records (hostkeys sshfp --format nsupdate --diff ${host}); if it was not, find out who is answering for ${host}. Published: ${shown}.`,
          ),
        )
      }
    }
  }

  if (unpublished.length > 0) findings.push(missingFinding(host, unpublished))

  const staleByAlgorithm = new Map<SshfpAlgorithm, SshfpRecord[]>()
  for (const record of records) {
    if (mismatchedAlgorithms.has(record.algorithm)) continue // already reported, with these records, as a mismatch
    if (servedKeys.some((k) => recordMatchesKey(record, k))) continue
    staleByAlgorithm.set(record.algorithm, [...(staleByAlgorithm.get(record.algorithm) ?? []), record])
  }
  for (const [algorithm, stale] of staleByAlgorithm) {
    const served = servedAlgorithms.includes(algorithm)
    const shown = stale.map((r) => `${host} SSHFP ${formatSshfpRdata(r)}`).join(', ')
    const why = served
      ? `Because ${host} also serves a ${ALGORITHM_NAMES[algorithm]} key, OpenSSH clients using VerifyHostKeyDNS treat ${stale.length === 1 ? 'this extra record' : 'these extra records'} as a mismatch`
      : `${host} serves no ${ALGORITHM_NAMES[algorithm]} key, so ${stale.length === 1 ? 'it is' : 'they are'} left over from a key that is gone`
    findings.push(
      finding(
        'sshfp_stale',
        'warning',
        host,
        KEY_TYPE_OF_ALGORITHM[algorithm],
        stale.map(sha256FingerprintOfRecord).find((f) => f !== null) ?? null,
        null,
        `${stale.length === 1 ? 'An SSHFP record' : `${stale.length} SSHFP records`} at ${host} match${stale.length === 1 ? 'es' : ''} no key the host serves (${shown}). ${why}: delete ${stale.length === 1 ? 'it' : 'them'} (hostkeys sshfp --format nsupdate --diff ${host}).`,
      ),
    )
  }

  if (records.length > 0 && !answer.authenticated) {
    findings.push(
      finding(
        'sshfp_insecure',
        'info',
        host,
        null,
        null,
        null,
        `The SSHFP records for ${host} were not DNSSEC-validated (AD bit clear in the answer from ${answer.server}), so ssh with VerifyHostKeyDNS=yes will not trust them on their own: sign the zone, or query through a validating resolver.`,
      ),
    )
  }
  return findings
}
