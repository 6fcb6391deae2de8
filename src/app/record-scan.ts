import { findDuplicateKeys } from '../analysis/duplicate-keys.js'
import { firstFindings, reconcileFindings } from '../analysis/finding-lifecycle.js'
import { findInterception, type KeyChange } from '../analysis/interception.js'
import { compareHost } from '../analysis/compare-host.js'
import { DEFAULT_UNREACHABLE_AFTER, NewHostFindings, type UnreachablePolicy } from '../analysis/host-findings.js'
import { revokedKeyFindings } from '../analysis/revoked-keys.js'
import { oobMismatchFindings, statementNames } from '../analysis/oob-mismatch.js'
import { algorithmFindings } from '../analysis/algorithm-findings.js'
import { policyFindings, type AlgorithmPolicy } from '../analysis/policy.js'
import { KnownBadKeys } from './known-bad-keys.js'
import { compromisedKeyFindings } from '../analysis/compromised-keys.js'
import { certificateFindings, DEFAULT_CERT_WARN_DAYS, isTrustedCertificate, type CertificatePolicy } from '../analysis/certificate-findings.js'
import type { AuthorityTrust, RecordedCertificate } from '../domain/certificate-history.js'
import { parseIdentity } from '../domain/target.js'
import type { CertificateWrite } from '../store/certificate-writer.js'
import { mergeSameServer } from '../analysis/same-server.js'
import { identifyServers } from './identify-servers.js'
import type { KeptObservation } from '../analysis/packed-observations.js'
import { askedFamilies, mergeObservations } from '../analysis/scanned-host.js'
import { shareGroups } from '../analysis/share-groups.js'
import { compareFindings, type Finding } from '../domain/finding.js'
import { KEY_FAMILIES, type KeyFamily, type KeyType } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import { isAddressIdentity } from '../domain/target.js'
import type { HostWrite, RecordingSession, ScanMeta, Store, StoredHost } from '../store/store.js'
import { configDigest, describeConfigChangeBesidesKeys, type ServerConfig } from '../domain/server-config.js'
import { hasshServer } from '../domain/fingerprint/hassh.js'
import { finding } from '../analysis/host-findings.js'
import type { Server as IdentifiedServer } from './identify-servers.js'
import type { ScannedHost } from '../domain/scanned-host.js'

export interface RecordScanResult {
  readonly scanId: number
  /** What this scan found, most severe first; findings accepted earlier are not repeated. */
  readonly findings: readonly Finding[]
  /** new_host findings raised (in `findings` too unless the options asked for `newHostReport: 'count'`). */
  readonly newHosts: number
}

export interface RecordScanOptions {
  /** Hosts per chunk: bounds memory and statement size on a 100,000-host scan. */
  readonly chunkSize?: number
  /** Findings computed elsewhere (e.g. SSHFP checks) to keep with the scan's, about scanned hosts. */
  readonly additionalFindings?: readonly Finding[]
  /** How hosts that do not answer are judged (`--unreachable-after`). */
  readonly unreachable?: UnreachablePolicy
  /** When a certificate's end is near enough to warn (`--cert-warn-days`); the clock is the scan's end. */
  readonly certWarnDays?: number
  /** `--policy`: its policy_violation findings; without it, open ones are left as they are. */
  readonly policy?: AlgorithmPolicy
  /** Known-bad key checks, with the `--blocklist` if one was given; default the checks alone. */
  readonly knownBadKeys?: KnownBadKeys
  /** Runs each transaction that writes: the scan's, then its shared-prime check's (the CLI makes each
   * a critical section). */
  readonly write?: <T>(stage: RecordingStage, fn: () => Promise<T>) => Promise<T>
  /** new_host findings in the result: each one (default), or only their count, for a caller that reads
   * them back from the history (a distributed run's judge: a first night of 1,000,000 hosts would hold
   * 1,000,000 findings). They are recorded either way. */
  readonly newHostReport?: 'findings' | 'count'
  /** Told after each chunk: observations recorded so far, and the findings raised among them (before
   * the live findings are reconciled and the findings across hosts added, at the end). */
  readonly onProgress?: (progress: { readonly hosts: number; readonly findings: number }) => void
}

/** What a write of recordScan records: the scan, or its shared-prime check once the scan is recorded. */
export type RecordingStage = 'scan' | 'shared-primes'

/* Hosts per chunk. Everything a chunk holds (its history, comparisons, column arrays, the statements'
 * parameters) lives across several round trips, so it outlives the young generation and is promoted,
 * to be collected only by a full GC; V8 lets the old generation grow to ~3x the live heap before one
 * while a process mostly waits on the database. 5,000-host chunks took a 100,000-host rescan to ~400 MB
 * RSS; 1,000 keep it under 300 MB for ~10 statements more per 1,000 hosts (bench/store.ts). */
const DEFAULT_CHUNK_HOSTS = 1_000

/** A scan's observations as the collector made them, or as a judge kept them (ObservationKeeper). */
export type ScanObservations =
  | Iterable<Observation | KeptObservation>
  | AsyncIterable<Observation | KeptObservation>

/** Groups a stream of observations into chunks of at most `size` hosts (a host's observations that
 * arrive together stay together). */
async function* hostChunks(observations: ScanObservations, size: number): AsyncGenerator<(Observation | KeptObservation)[]> {
  let chunk: (Observation | KeptObservation)[] = []
  let hosts = new Set<string>()
  for await (const observation of observations) {
    const host = 'target' in observation ? observation.target.host : observation.host
    if (!hosts.has(host) && hosts.size >= size) {
      yield chunk
      chunk = []
      hosts = new Set()
    }
    hosts.add(host)
    chunk.push(observation)
  }
  if (chunk.length > 0) yield chunk
}

/**
 * Records one scan in the history and returns its findings. The scan is one transaction under the
 * store's recording lock: the history is read, compared and written host chunk by host chunk as the
 * observations stream in (an array works too); then duplicates (fleet-wide, from the written state),
 * interception and the findings' lifecycle. A failure there leaves the history as it was. Once it is
 * committed, the shared-prime check of the RSA keys batch GCD has not compared yet runs outside it
 * (KnownBadKeys.sharedPrimes) and its findings join the scan's; if that fails, the scan stands, the
 * keys stay pending and SharedPrimeCheckFailed is thrown.
 *
 * A host whose observations arrive in two chunks (its identity listed twice, far apart) is compared
 * twice: the second time against the state the first wrote, without key_removed.
 */
export async function recordScan(
  store: Store,
  meta: ScanMeta,
  observations: ScanObservations,
  options: RecordScanOptions = {},
): Promise<RecordScanResult> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_HOSTS
  const asked = askedFamilies(meta.request.keyFamilies, KEY_FAMILIES)
  const noFamilies: ReadonlySet<KeyFamily> = new Set()
  const at = meta.finishedAt
  const policy: UnreachablePolicy = options.unreachable ?? { unreachableAfter: DEFAULT_UNREACHABLE_AFTER }
  const certPolicy: CertificatePolicy = { now: at, warnDays: options.certWarnDays ?? DEFAULT_CERT_WARN_DAYS }

  const knownBad = options.knownBadKeys ?? (await KnownBadKeys.open(null))
  const write = options.write ?? ((_stage, fn) => fn())
  const recorded = await write('scan', () => store.recording(async (session) => {
    const scanId = await session.insertScan(meta)
    const raised: Finding[] = []
    // Findings about hosts the history had no row for (new_host, weak_key): nothing live can match
    // them, so they are written with their chunk and only kept for the report, new_host as its host
    // and key types (NewHostFindings). On a first scan of 100,000 hosts that spares the end 100,000
    // identities, plan entries and JSON rows, and the recording 100,000 Finding objects.
    const reported: Finding[] = []
    const newHosts = new NewHostFindings()
    let newHostCount = 0
    const changes: KeyChange[] = []
    /* Nothing here is kept a host at a time for every host, so the recording's memory does not grow with
     * the scan: which hosts it has already judged (a repeat) is the history's last_scan_id, which it
     * reached and resolved is read back at the end for the live findings' hosts (scannedHosts). Kept
     * whole: the identities judged under another name than their own (a host known by name listed by
     * address, a rename), the hosts with failed families, the key changes: exceptions, not the fleet. */
    const judgedAs = new Map<string, string>()
    const failedFamilies = new Map<string, ReadonlySet<KeyFamily>>()
    let keysSeen = 0
    let trust: AuthorityTrust[] | null = null
    /** Configurations read back to say what changed, by id; a fleet has a handful. */
    const knownConfigs = new Map<number, ServerConfig>()
    let observed = 0
    for await (const observationChunk of hostChunks(observations, chunkSize)) {
      observed += observationChunk.length
      const { servers, history } = await identifyServers(session, mergeObservations(observationChunk))
      // A certificate's CA can be revoked too: its certificates vouch for nothing.
      const revoked = await session.revokedKeys(servers.flatMap((s) => s.host.keys.flatMap((k) => (k.certificate ? [k.sha256, k.certificate.ca.sha256] : [k.sha256]))))
      const statements = await session.keyStatements(servers.map((s) => ({ id: s.id, names: statementNames(s.host) })))
      // Certificates cost a fleet without any nothing but one EXISTS per scan (lastCertificates).
      const certified = servers.some((s) => s.host.keys.some((k) => k.certificate))
      const lastCertificates = await session.lastCertificates(servers.flatMap((s) => (s.id === null ? [] : [s.id])))
      if (certified && trust === null) trust = await session.authorityTrust()
      const configs = await configsOf(session, servers, history, knownConfigs, at)
      const badKeys = await knownBad.judgeChunk(session, servers.map((s) => s.host))
      const certificateWrites: { host: string; writes: (hostId: number) => CertificateWrite[] }[] = []
      const writes: HostWrite[] = []
      const first: Finding[] = []
      const chunkTypes = new Map<string, readonly KeyType[]>()
      for (const [index, server] of servers.entries()) {
        let stored = server.id === null ? undefined : history.get(server.id)
        let host = server.host
        if (stored && stored.host !== host.host) {
          if (isAddressIdentity(stored.host) && !isAddressIdentity(host.host)) {
            // Known by address until now: the inventory's name becomes its identity.
            await session.renameHost(stored.id, stored.host, host.host, at)
            stored = { ...stored, host: host.host }
          } else {
            host = mergeSameServer([host], stored.host)
          }
        }
        if (stored && server.absorbs?.length) {
          // The history knew this server under its addresses too: one host from now on.
          for (const other of server.absorbs) await session.absorbHost(other, { id: stored.id, name: stored.host }, at)
          stored = (await session.loadHosts([stored.id])).get(stored.id)!
        }
        for (const identity of server.identities) if (identity !== host.host) judgedAs.set(identity, host.host)
        // Written by this scan already (an earlier chunk): a chunk holds each stored host once.
        const repeat = stored !== undefined && stored.lastScanId === scanId
        if (repeat && !host.reached) continue // an earlier address of this host already spoke for it
        if (host.failedFamilies.size > 0) failedFamilies.set(host.host, host.failedFamilies)
        keysSeen += host.keys.length
        const comparison = compareHost(stored ?? null, host, repeat ? noFamilies : withoutFailed(asked, host), policy)
        const findings = [...comparison.findings, ...revokedKeyFindings(host, revoked), ...oobMismatchFindings(host, statements.byClaim[index]!)]
        findings.push(...compromisedKeyFindings(host, badKeys.bad))
        if (host.reached && host.offered) {
          findings.push(...algorithmFindings(host.host, host.offered))
          if (options.policy) findings.push(...policyFindings(host.host, host.offered, host.keys, options.policy))
        }
        const config = configs.get(server) ?? null
        const configBefore = stored?.configId != null && config !== null && stored.configId !== config.id ? knownConfigs.get(stored.configId) : undefined
        const keysChanged = comparison.findings.some((f) => KEY_CHANGE_KINDS.has(f.kind))
        // A host that goes back to a configuration it had (two backends behind one address, a rollback)
        // is not told again: config_changed marks each configuration new to the host once.
        const configChanges = configBefore && config && !config.returning && !keysChanged ? describeConfigChangeBesidesKeys(configBefore, config.config) : []
        if (configChanges.length > 0) findings.push(configChangedFinding(host.host, configChanges))
        const previousCertificates = stored ? (lastCertificates.get(stored.id) ?? null) : null
        if (host.reached && (previousCertificates || host.keys.some((k) => k.certificate))) {
          const names = [parseIdentity(host.host).name, ...host.aliases, ...host.addresses]
          findings.push(...certificateFindings({ host: host.host, names, port: host.port, keys: host.keys }, certPolicy, { trust: trust ?? [], previous: previousCertificates }))
          certificateWrites.push({ host: host.host, writes: (hostId) => certificateWritesOf(hostId, host, previousCertificates) })
        }
        if (stored === undefined) {
          first.push(...findings)
          chunkTypes.set(host.host, host.keys.map((k) => k.type))
        } else raised.push(...findings)
        // Type and fingerprint only: the key's blob is a view into the kept observations' slab, which
        // this would keep alive until the scan ends.
        const newConfig = configBefore && config ? { id: config.id, banner: config.config.banner, hassh: hasshServer(config.config.offered) } : null
        for (const key of comparison.changed) changes.push({ host: host.host, key: { type: key.type, sha256: key.sha256 }, config: newConfig, address: host.address })
        writes.push({ scanned: host, stored, trust: comparison.trust, configId: config?.id ?? null })
      }
      const written = await session.writeHosts(scanId, at, asked, writes, badKeys.verdicts)
      if (statements.unbound.length > 0) await session.bindKeyStatements(statementBindings(statements.unbound, servers, judgedAs, written), at)
      const certificates = certificateWrites.flatMap(({ host, writes }) => writes(written.get(host)!))
      if (certificates.length > 0) await session.writeCertificates(scanId, at, certificates)
      if (first.length > 0) {
        const plan = firstFindings(first)
        await session.writeFindings(scanId, at, plan)
        for (const finding of plan.report) {
          if (finding.kind !== 'new_host') reported.push(finding)
          else if (options.newHostReport === 'count') newHostCount++
          else newHosts.add(finding.host, chunkTypes.get(finding.host)!)
        }
      }
      options.onProgress?.({ hosts: observed, findings: raised.length + reported.length + newHostCount + newHosts.size })
    }
    const groups = shareGroups(await session.loadShareGroups())
    raised.push(...findDuplicateKeys(await session.loadSharedKeys(scanId), groups))
    raised.push(...findInterception(changes, groups))
    // Findings made elsewhere (SSHFP) name the target as scanned: judge them under its host's name (its
    // own, when this scan wrote a host of that name).
    const additional = options.additionalFindings ?? []
    const judgedAsItself = await session.scannedHosts(scanId, additional.filter((f) => !judgedAs.has(f.host)).map((f) => f.host))
    for (const finding of additional) {
      const host = judgedAs.get(finding.host) ?? (judgedAsItself.has(finding.host) ? finding.host : undefined)
      if (host !== undefined) raised.push(host === finding.host ? finding : { ...finding, host, hosts: finding.hosts.map((h) => judgedAs.get(h) ?? h) })
    }

    // Live findings as they were before this scan: not the ones its chunks just wrote.
    const live = await session.loadLiveFindings(scanId)
    // What this scan made of the hosts those findings name (the last status it wrote for each).
    const verdicts = await session.scannedHosts(scanId, live.flatMap((l) => (l.kind === 'duplicate_key' ? [l.host, ...l.hosts] : [l.host])))
    const reached = new Set<string>()
    const resolvedNames = new Set<string>()
    for (const [host, status] of verdicts) {
      if (isReached(status)) reached.add(host)
      if (status !== 'dns-error') resolvedNames.add(host)
    }
    const waivers = await session.activeWaivers(at)
    const plan = reconcileFindings(live, raised, {
      waivers,
      reachedHosts: reached,
      resolvedHosts: resolvedNames,
      askedFamilies: asked,
      failedFamilies,
      dnsChecked: meta.request.dnsChecked === true,
      policyChecked: options.policy !== undefined,
    })
    await session.writeFindings(scanId, at, plan)
    const counts = await session.scanHostCounts(scanId)
    const newHostsRaised = newHostCount + newHosts.size
    await session.finishScan(scanId, {
      hostsAsked: counts.asked,
      hostsReached: counts.reached,
      keysSeen,
      findings: reported.length + newHostsRaised + plan.report.length,
    })
    for (const finding of plan.report) reported.push(finding)
    for (const finding of newHosts.findings()) reported.push(finding)
    return { scanId, findings: reported, newHosts: newHostsRaised }
  }))
  const sharedPrimes = await knownBad.sharedPrimes(store, { scanId: recorded.scanId, at }, (fn) => write('shared-primes', fn))
  for (const finding of sharedPrimes) recorded.findings.push(finding)
  return { ...recorded, findings: recorded.findings.sort(compareFindings) }
}

/** Key kinds that mean the keys changed: a configuration change with them is not an upgrade alone. */
const KEY_CHANGE_KINDS: ReadonlySet<string> = new Set(['key_changed', 'key_added', 'key_removed'])

/** The configuration each reached server of a chunk offered, with its id (added to the history when
 * new), and the stored configurations of those whose configuration changed, read into `known`. */
async function configsOf(
  session: RecordingSession,
  servers: readonly IdentifiedServer[],
  history: ReadonlyMap<number, StoredHost>,
  known: Map<number, ServerConfig>,
  at: Date,
): Promise<Map<IdentifiedServer, { id: number; config: ServerConfig; returning: boolean }>> {
  const digests = new Map<IdentifiedServer, string>()
  const distinct = new Map<string, ServerConfig>()
  for (const server of servers) {
    const { reached, offered, banner } = server.host
    if (!reached || offered === null) continue
    const config = { banner, offered }
    const digest = configDigest(config).toString('hex')
    digests.set(server, digest)
    distinct.set(digest, config)
  }
  const out = new Map<IdentifiedServer, { id: number; config: ServerConfig; returning: boolean }>()
  if (distinct.size === 0) return out
  const ids = await session.configIds(distinct, at)
  const before: number[] = []
  const changed: { hostId: number; configId: number }[] = []
  for (const [server, digest] of digests) {
    const id = ids.get(digest)!
    const stored = server.id === null ? undefined : history.get(server.id)?.configId
    if (stored != null && stored !== id) {
      changed.push({ hostId: server.id!, configId: id })
      if (!known.has(stored)) before.push(stored)
    }
  }
  for (const [id, config] of await session.loadConfigs(before)) known.set(id, config)
  const earlier = await session.earlierConfigs(changed)
  for (const [server, digest] of digests) {
    const id = ids.get(digest)!
    out.set(server, { id, config: distinct.get(digest)!, returning: server.id !== null && earlier.has(`${server.id} ${id}`) })
  }
  return out
}

/** config_changed: the server's banner or algorithms changed while its keys did not (an upgrade, or a
 * new sshd_config). Information for the history, resolved when recorded. */
function configChangedFinding(host: string, changes: readonly string[]): Finding {
  return finding({
    kind: 'config_changed',
    severity: 'info',
    host,
    keyType: null,
    fingerprint: null,
    previous: null,
    message: `${host} changed its SSH configuration while keeping its keys (an upgrade or a new sshd_config): ${changes.join('; ')}.`,
  })
}

/** What to record of a host's certificates: each one served, and each family that had one and is now
 * served without. */
function certificateWritesOf(hostId: number, host: ScannedHost, previous: ReadonlyMap<KeyFamily, RecordedCertificate> | null): CertificateWrite[] {
  const writes: CertificateWrite[] = []
  for (const key of host.keys) {
    if (key.certificate) {
      const trusted = isTrustedCertificate(key.certificate, previous?.get(key.family))
      writes.push({ kind: 'served', hostId, key: { ...key, certificate: key.certificate }, trusted })
    }
    else if (previous?.get(key.family)?.removed === false) writes.push({ kind: 'removed', hostId, family: key.family })
  }
  return writes
}

/** Statements kept by name until now, with the host this scan wrote for the server that bears the name. */
function statementBindings(
  unbound: readonly { statementId: number; claim: number }[],
  servers: readonly { host: ScannedHost; id: number | null }[],
  judgedAs: ReadonlyMap<string, string>,
  written: ReadonlyMap<string, number>,
): { statementId: number; hostId: number }[] {
  return unbound.flatMap(({ statementId, claim }) => {
    const server = servers[claim]!
    const hostId = server.id ?? written.get(judgedAs.get(server.host.host) ?? server.host.host)
    return hostId === undefined ? [] : [{ statementId, hostId }]
  })
}

/** The families asked for that this host's probes actually collected. */
function withoutFailed(asked: ReadonlySet<KeyFamily>, host: ScannedHost): ReadonlySet<KeyFamily> {
  if (host.failedFamilies.size === 0) return asked
  return new Set([...asked].filter((f) => !host.failedFamilies.has(f)))
}
