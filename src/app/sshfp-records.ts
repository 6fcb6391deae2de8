import { isIP } from 'node:net'
import { UserError } from '../domain/errors.js'
import type { HostKey } from '../domain/host-key.js'
import { hostIdentity, parseIdentity } from '../domain/target.js'
import { describeHostNameProblem, sameDnsName, toAbsoluteName } from '../domain/dns-name.js'
import type { SshfpAnswer, SshfpResolver } from '../dns/sshfp-answer.js'
import { expectedRecords } from '../domain/fingerprint/sshfp-record.js'
import { sameRecord, sshfpAlgorithmOf, type SshfpDigestType } from '../domain/fingerprint/sshfp-record.js'
import { compareKeys, describeKey } from '../domain/fingerprint/key-blob.js'
import type { HostSshfpRecords, HostSshfpState } from '../report/sshfp-zone.js'
import type { Store } from '../store/store.js'
import { echoInput, echoQuoted } from '../domain/echo.js'

/* `hostkeys sshfp`: the SSHFP records the history says each host should have.
 * owner name : the bare name of an identity (`web1.example.com` for `[web1.example.com]:2222`), since
 *              SSHFP has no port (RFC 4255 §3: records live at the host's name); identities that share
 *              a bare name share one RRset, so their records are merged.
 * wanted     : records for the host's trusted keys, not what it served last: a key_changed not yet
 *              accepted must not be published, or DNS would vouch for a possible man in the middle. */

export interface SshfpRecordsRequest {
  /** HOST arguments: identities or bare names; empty means every host whose identity is a DNS name. */
  readonly hosts: readonly string[]
  readonly digests: readonly SshfpDigestType[]
  /** `--origin`: every owner name must lie inside this zone. */
  readonly origin?: string | null
}

export interface SshfpRecordsResult {
  /** One entry per owner name, sorted by name; records deduplicated. */
  readonly hosts: readonly HostSshfpRecords[]
  /** Owner names whose merged records hold two keys of one SSHFP algorithm, and the identities involved. */
  readonly conflicts: readonly { readonly name: string; readonly identities: readonly string[] }[]
}

interface OwnerKeys {
  name: string
  identities: Set<string>
  keys: Map<string, HostKey>
}

/** The bare DNS name of an identity, or null when it is an IP literal (OpenSSH never looks those up). */
function bareName(identity: string): string | null {
  const { name } = parseIdentity(identity)
  const unbracketed = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name
  if (isIP(unbracketed.split('%')[0]!) !== 0) return null
  return name
}

function canonical(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase()
}

/** `[Web1.Example.com.]:2222` as the history spells it: lowercase, no final dot. */
function canonicalIdentity(text: string): string {
  const { name, port } = parseIdentity(text)
  return hostIdentity(canonical(name), port)
}

function checkHostArgument(text: string): void {
  const name = parseIdentity(text).name
  if (bareName(text) === null) {
    throw new UserError(`${echoInput(text)} is an IP address; SSHFP records live at DNS names, so name the host by its DNS name`)
  }
  const problem = describeHostNameProblem(name)
  if (problem !== null) throw new UserError(`host ${echoQuoted(text)} cannot be used as a DNS name: ${problem}`)
}

function checkInsideOrigin(name: string, origin: string): void {
  const zone = toAbsoluteName(origin)
  const absolute = toAbsoluteName(name)
  if (sameDnsName(absolute, zone) || absolute.toLowerCase().endsWith(`.${zone.toLowerCase()}`)) return
  throw new UserError(`host ${name} is outside the zone ${zone} given with --origin; leave --origin off, or name only hosts in that zone`)
}

/** Refuses HOST arguments and an --origin that cannot be DNS names; cheap, so callers run it before opening the store. */
export function checkSshfpRequest(request: SshfpRecordsRequest): void {
  for (const host of request.hosts) checkHostArgument(host)
  if (request.origin != null) toAbsoluteName(request.origin)
}

/** The SSHFP records for the trusted keys of the named hosts (or of all hosts with DNS names). */
export async function trustedSshfpRecords(store: Pick<Store, 'trustedKeys'>, request: SshfpRecordsRequest): Promise<SshfpRecordsResult> {
  checkSshfpRequest(request)

  // Trusted keys by identity, then identities by owner name.
  const byIdentity = new Map<string, Map<string, HostKey>>()
  const refused: string[] = []
  for (const trusted of await store.trustedKeys()) {
    const name = bareName(trusted.host)
    if (name === null) continue
    if (describeHostNameProblem(name) !== null) {
      refused.push(trusted.host)
      continue
    }
    const described = describeKey(trusted.blob)
    const keys = byIdentity.get(trusted.host) ?? new Map<string, HostKey>()
    byIdentity.set(trusted.host, keys.set(described.sha256, described))
  }
  const identitiesByName = new Map<string, string[]>()
  for (const identity of byIdentity.keys()) {
    const name = canonical(parseIdentity(identity).name)
    identitiesByName.set(name, [...(identitiesByName.get(name) ?? []), identity])
  }

  const picked = new Map<string, OwnerKeys>()
  const pick = (name: string, identity: string) => {
    const owner = picked.get(name) ?? { name, identities: new Set<string>(), keys: new Map<string, HostKey>() }
    picked.set(name, owner)
    owner.identities.add(identity)
    for (const [sha, key] of byIdentity.get(identity)!) owner.keys.set(sha, key)
  }
  if (request.hosts.length === 0) {
    if (refused.length > 0) {
      // Never written, and not silently dropped either: the zone would lack them without a word.
      const shown = [...new Set(refused)].slice(0, 5).map((h) => JSON.stringify(h)).join(', ')
      throw new UserError(
        `the history holds host names that cannot be DNS names (${shown}${refused.length > 5 ? ', ...' : ''}); name the hosts to print explicitly`,
      )
    }
    for (const [name, identities] of identitiesByName) for (const identity of identities) pick(name, identity)
  } else {
    for (const host of request.hosts) {
      const name = canonical(parseIdentity(host).name)
      // `web1` names every identity at that name; `[web1]:2222` only that one.
      const identities = (identitiesByName.get(name) ?? []).filter((i) => !host.startsWith('[') || canonicalIdentity(i) === canonicalIdentity(host))
      if (identities.length === 0) {
        throw new UserError(`no trusted keys for ${host}: it is not in the history, or no scan has reached it yet (scan it first)`)
      }
      for (const identity of identities) pick(name, identity)
    }
  }
  const chosen = [...picked.values()]

  if (request.origin != null) for (const owner of chosen) checkInsideOrigin(owner.name, request.origin)
  chosen.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

  const hosts: HostSshfpRecords[] = []
  const conflicts: { name: string; identities: string[] }[] = []
  for (const owner of chosen) {
    const keys = [...owner.keys.values()].sort(compareKeys)
    const records = expectedRecords(keys, request.digests).filter(
      (record, i, all) => all.findIndex((other) => sameRecord(other, record)) === i,
    )
    hosts.push({ host: owner.name, records })
    const algorithms = keys.map((k) => sshfpAlgorithmOf(k.type)).filter((a) => a !== null)
    if (new Set(algorithms).size < algorithms.length) conflicts.push({ name: owner.name, identities: [...owner.identities].sort() })
  }
  return { hosts, conflicts }
}

/** Lookup failures met while reading what DNS serves, for the CLI to report. */
export interface PublishedLookupFailure {
  readonly name: string
  readonly detail: string
}

export interface SshfpDiffPlan {
  readonly states: readonly HostSshfpState[]
  /** Hosts whose records differ from what DNS serves, or whose lookup failed. */
  readonly hostsToChange: number
  readonly failures: readonly PublishedLookupFailure[]
}

/** Upper bound on SSHFP lookups in flight: enough to hide latency, few enough to be polite to one resolver. */
const DIFF_LOOKUPS_IN_FLIGHT = 32

/** Reads what DNS serves for each host, beside the records wanted, for `--diff`. */
export async function planSshfpDiff(hosts: readonly HostSshfpRecords[], resolver: SshfpResolver): Promise<SshfpDiffPlan> {
  const answers: SshfpAnswer[] = new Array(hosts.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const index = next++
      answers[index] = await resolver.lookupSshfp(hosts[index]!.host)
    }
  }
  await Promise.all(Array.from({ length: Math.min(DIFF_LOOKUPS_IN_FLIGHT, hosts.length) }, worker))

  const failures: PublishedLookupFailure[] = []
  let hostsToChange = 0
  const states = hosts.map((host, i): HostSshfpState => {
    const answer = answers[i]!
    if (answer.kind === 'error') {
      // A failed lookup is never "no records" (RFC 2308): the renderer replaces the whole RRset instead.
      failures.push({ name: host.host, detail: `${answer.status}: ${answer.detail}` })
      hostsToChange++
      return { ...host, served: null }
    }
    const served = answer.records
    const differs =
      served.some((r) => !host.records.some((w) => sameRecord(w, r))) || host.records.some((w) => !served.some((r) => sameRecord(w, r)))
    if (differs) hostsToChange++
    return { ...host, served }
  })
  return { states, hostsToChange, failures }
}
