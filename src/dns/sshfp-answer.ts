import type { SshfpRecord } from '../domain/fingerprint/sshfp-record.js'

/* answer  : what one SSHFP lookup produced for one name: records (possibly none), or a failure.
 * A failure is never "no records": only NXDOMAIN and NOERROR without SSHFP data mean that (RFC 2308). */

export const DNS_FAILURE_STATUSES = [
  'timeout', // no matching answer before the deadline, from any nameserver
  'servfail', // RCODE 2: the resolver could not get an answer (a DNSSEC validation failure looks like this too)
  'refused', // RCODE 5: the nameserver will not answer us
  'malformed', // an answer that matched our query but could not be decoded, or carried an invalid SSHFP
  'rcode', // any other error RCODE (FORMERR, NOTIMP, ...)
  'network', // a socket error: port unreachable, connection reset, TCP closed early
  'bad-name', // the name cannot be queried at all
] as const
export type DnsFailureStatus = (typeof DNS_FAILURE_STATUSES)[number]

export type SshfpAnswer =
  | {
      readonly kind: 'records'
      readonly name: string
      /** Valid SSHFP records for the name (after following CNAMEs in the answer), deduplicated. */
      readonly records: readonly SshfpRecord[]
      /** The AD bit (RFC 4035 §3.2.3): set by a validating resolver when the answer was DNSSEC-validated. */
      readonly authenticated: boolean
      readonly rcode: 'NOERROR' | 'NXDOMAIN'
      /** Well-formed SSHFP records with an algorithm or digest type we do not know (e.g. Ed448, 6), left out of `records`. */
      readonly ignored: number
      /** `ADDR:PORT` of the nameserver that answered. */
      readonly server: string
    }
  | {
      readonly kind: 'error'
      readonly name: string
      readonly status: DnsFailureStatus
      /** What happened, per nameserver tried, in words. */
      readonly detail: string
    }

/** The narrow interface the app layer depends on; tests pass a real resolver or a stub. */
export interface SshfpResolver {
  /** Never rejects: every failure is an `{ kind: 'error' }` answer. */
  lookupSshfp(name: string): Promise<SshfpAnswer>
}
