import { randomInt } from 'node:crypto'
import { describeHostNameProblem } from '../domain/dns-name.js'
import { exchangeTcp, exchangeUdp, type ExchangeOutcome } from './dns-exchange.js'
import { formatNameserver, type Nameserver } from './nameserver.js'
import type { DnsFailureStatus, SshfpAnswer, SshfpResolver } from './sshfp-answer.js'
import { answersQuery, encodeSshfpQuery, MalformedMessageError, RCODE_NAMES, readSshfpResponse } from './sshfp-message.js'

export interface SshfpResolverOptions {
  /** Tried in order, round after round (resolv.conf(5) semantics); at least one. */
  readonly nameservers: readonly Nameserver[]
  /** Per query and transport (UDP, then TCP after truncation). Default 2000 ms. */
  readonly timeoutMs?: number
  /** Rounds over the nameserver list; at most `attempts × nameservers` queries per name. Default 2. */
  readonly attempts?: number
}

export const DEFAULT_DNS_TIMEOUT_MS = 2000
export const DEFAULT_DNS_ATTEMPTS = 2

type QueryOutcome = { kind: 'answer'; answer: SshfpAnswer & { kind: 'records' } } | { kind: 'failure'; status: DnsFailureStatus; detail: string }

/** A stub resolver for SSHFP on UDP with TCP fallback, EDNS0 and DO; it trusts the recursive resolver's AD bit. */
export class DnsSshfpResolver implements SshfpResolver {
  private readonly nameservers: readonly Nameserver[]
  private readonly timeoutMs: number
  private readonly attempts: number

  constructor(options: SshfpResolverOptions) {
    if (options.nameservers.length === 0) throw new RangeError('an SSHFP resolver needs at least one nameserver')
    this.nameservers = [...options.nameservers]
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS
    this.attempts = Math.max(1, options.attempts ?? DEFAULT_DNS_ATTEMPTS)
  }

  /** The SSHFP records at `name` (queried as an absolute name: no search list, as OpenSSH's getrrsetbyname()). */
  async lookupSshfp(name: string): Promise<SshfpAnswer> {
    const problem = describeHostNameProblem(name)
    if (problem !== null) return { kind: 'error', name, status: 'bad-name', detail: `cannot query ${JSON.stringify(name)}: ${problem}` }
    const failures: { status: DnsFailureStatus; detail: string }[] = []
    for (let round = 0; round < this.attempts; round++) {
      for (const server of this.nameservers) {
        let outcome: QueryOutcome
        try {
          outcome = await this.queryOnce(server, name)
        } catch (e) {
          // Defensive: nothing below should throw, but one name must never take the scan down.
          outcome = { kind: 'failure', status: 'malformed', detail: `${formatNameserver(server)}: ${(e as Error).message}` }
        }
        if (outcome.kind === 'answer') return outcome.answer
        failures.push(outcome)
      }
    }
    const last = failures[failures.length - 1]!
    return { kind: 'error', name, status: last.status, detail: failures.map((f) => f.detail).join('; ') }
  }

  private async queryOnce(server: Nameserver, name: string): Promise<QueryOutcome> {
    // RFC 5452 §4.3: an unpredictable ID per query (with the random source port, ~32 bits to guess).
    const id = randomInt(0, 0x10000)
    const query = encodeSshfpQuery(id, name)
    const accepts = (message: Buffer) => answersQuery(message, id, name)
    let reply: ExchangeOutcome = await exchangeUdp(server, query, accepts, this.timeoutMs)
    let transport = 'UDP'
    if (reply.kind === 'reply' && this.truncated(reply.message)) {
      // RFC 1035 §4.2.1, RFC 7766 §5: a truncated answer is retried over TCP with the same server.
      reply = await exchangeTcp(server, query, accepts, this.timeoutMs)
      transport = 'TCP'
    }
    if (reply.kind !== 'reply') return { kind: 'failure', status: reply.kind, detail: reply.detail }
    const where = `${formatNameserver(server)} over ${transport}`
    let response
    try {
      response = readSshfpResponse(reply.message, name)
    } catch (e) {
      if (!(e instanceof MalformedMessageError)) throw e
      return { kind: 'failure', status: 'malformed', detail: `${where} sent a malformed answer: ${e.message}` }
    }
    if (response.truncated && transport === 'TCP') {
      return { kind: 'failure', status: 'malformed', detail: `${where} sent a truncated answer over TCP` }
    }
    const rcodeName = RCODE_NAMES[response.rcode] ?? `RCODE ${response.rcode}`
    switch (response.rcode) {
      case 0:
      case 3:
        return {
          kind: 'answer',
          answer: {
            kind: 'records',
            name,
            // RFC 2308 §2.1: NXDOMAIN carries no records; anything in its answer section is not for our name.
            records: response.rcode === 3 ? [] : response.records,
            authenticated: response.authenticated,
            rcode: response.rcode === 0 ? 'NOERROR' : 'NXDOMAIN',
            ignored: response.rcode === 3 ? 0 : response.ignored,
            server: formatNameserver(server),
          },
        }
      case 2:
        return { kind: 'failure', status: 'servfail', detail: `${where} answered SERVFAIL` }
      case 5:
        return { kind: 'failure', status: 'refused', detail: `${where} answered REFUSED` }
      default:
        return { kind: 'failure', status: 'rcode', detail: `${where} answered ${rcodeName}` }
    }
  }

  private truncated(message: Buffer): boolean {
    return message.length >= 4 && (message.readUInt16BE(2) & 0x0200) !== 0
  }
}

/** Convenience for the app layer: a resolver over the given nameservers. */
export function createSshfpResolver(options: SshfpResolverOptions): SshfpResolver {
  return new DnsSshfpResolver(options)
}
