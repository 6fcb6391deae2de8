import type { HostKey, KeyFamily } from '../domain/host-key.js'
import type { HostStatus, Observation, OfferedAlgorithms } from '../domain/observation.js'
import { isIpLiteral, type Target } from '../domain/target.js'
import { compareKeys } from '../domain/fingerprint/key-blob.js'
import { ConnectionLimiter, type ReleaseSlot } from './connection-limiter.js'
import { groupsForFamilies, isGroupOffered, type ProbeGroup } from './probe-groups.js'
import { probeHostKey, probeStream, type ProbeResult } from './probe-host-key.js'
import type { ProbePath } from './probe-path.js'
import { resolveAddress, systemLookup, type AddressLookup } from './resolve-address.js'

/* Scanning one host takes as few connections as there are keys to fetch:
 *   1. the first connection offers every algorithm asked for, best first; the server answers
 *      with its best key (RFC 4253 §7.1), and its clear-text KEXINIT says which others it has;
 *   2. one more connection per other group the KEXINIT names, in parallel.
 * A family the host does not offer costs no connection; a host offering none costs one. */

export interface ScanOptions {
  /** Families to collect; null (or empty) for every family the host offers. */
  readonly families: readonly KeyFamily[] | null
  /** Deadline of each connection (connect, banner, key exchange), and of the name lookup. */
  readonly timeoutMs: number
  /** Name resolution; default the system resolver. */
  readonly lookup?: AddressLookup
  /** Aborting ends every connection in flight at once. */
  readonly signal?: AbortSignal
}

export interface ScanHostContext {
  /** Shared cap on connections in flight; default unlimited. */
  readonly limiter?: ConnectionLimiter
  /** A slot the caller already holds for this host's lookup and first connection. */
  readonly heldSlot?: ReleaseSlot
  /** How to reach the host when not directly: channels through jump hosts. The last jump host
   * resolves a name, so there is no lookup here. */
  readonly path?: ProbePath
}

const UNLIMITED = Number.MAX_SAFE_INTEGER

/** Collects the host keys of one target. Never rejects: a failing host is an observation. */
export async function scanHost(target: Target, options: ScanOptions, context: ScanHostContext = {}): Promise<Observation> {
  const limiter = context.limiter ?? new ConnectionLimiter(UNLIMITED)
  const startedAt = new Date()
  const started = performance.now()
  const base = { target, startedAt }
  const elapsed = (): number => Math.round(performance.now() - started)

  const groups = groupsForFamilies(options.families?.length ? options.families : null)
  const path = context.path
  const probe = (address: string, probeGroups: readonly ProbeGroup[]): Promise<ProbeResult> =>
    path ? probeThrough(path, address, target.port, probeGroups, options) : probeHostKey(probeRequest(address, target.port, probeGroups, options))
  const firstSlot = context.heldSlot ?? (await limiter.acquire('same-host'))
  let address: string
  let first: ProbeResult
  try {
    if (path) {
      address = target.address
    } else {
      const resolution = await resolveAddress(target.address, options.lookup ?? systemLookup, options.timeoutMs)
      if (!resolution.ok) {
        return { ...base, address: null, status: 'dns-error', error: resolution.error, failedFamilies: [], banner: null, offered: null, keys: [], connections: 0, durationMs: elapsed() }
      }
      address = resolution.address
    }
    first = await probe(address, groups)
  } finally {
    firstSlot()
  }
  // Through a jump host a name is resolved over there: the address connected to is not known here.
  const connectedTo = path && !isIpLiteral(address) ? null : address
  const banner = first.hello.banner
  const offered: OfferedAlgorithms | null = first.hello.kind === 'kexinit' ? first.hello.offered : null
  const observe = (rest: { status: HostStatus; error: string | null; keys: HostKey[]; connections: number; failedFamilies?: KeyFamily[] }): Observation => ({
    ...base,
    address: connectedTo,
    banner,
    offered,
    ...rest,
    failedFamilies: rest.failedFamilies ?? [],
    keys: [...rest.keys].sort(compareKeys),
    durationMs: elapsed(),
    ...(path ? { via: path.via } : {}),
  })

  if (first.kind === 'failed') return observe({ status: first.status, error: first.detail, keys: [], connections: 1 })
  // The host speaks SSH but has none of the families asked for: reached, nothing to collect.
  if (first.kind === 'not-offered') return observe({ status: 'ok', error: null, keys: [], connections: 1 })

  const keys = [first.key]
  const remaining = groups.filter((group) => group.keyType !== first.key.type && (offered === null || isGroupOffered(group, offered.serverHostKey)))
  const results = await Promise.all(
    remaining.map(async (group) => {
      const release = await limiter.acquire('same-host')
      try {
        return { group, result: await probe(address, [group]) }
      } finally {
        release()
      }
    }),
  )

  // A key that could not be fetched makes the host partial, never failed: the keys that did come back
  // are judged (an interceptor that stalls one family must not hide the keys it substituted for the
  // others), and the failed families are neither removed nor resolved in the history.
  const failures: string[] = []
  const failedFamilies = new Set<KeyFamily>()
  for (const { group, result } of results) {
    if (result.kind === 'key') {
      keys.push(result.key)
      continue
    }
    failedFamilies.add(group.family)
    failures.push(
      result.kind === 'failed'
        ? `${group.keyType}: ${result.status}: ${result.detail}`
        : `${group.keyType}: offered in the first KEXINIT but not on a later connection (different servers behind one address?)`,
    )
  }
  if (failures.length === 0) return observe({ status: 'ok', error: null, keys, connections: 1 + remaining.length })
  return observe({
    status: 'partial',
    error: failures.join('; '),
    keys,
    connections: 1 + remaining.length,
    failedFamilies: [...failedFamilies],
  })
}

const NOTHING_READ = { kind: 'incomplete', banner: null } as const

/** One probe over a channel of `path`; the channel's opening is spent from the probe's deadline. */
async function probeThrough(path: ProbePath, address: string, port: number, groups: readonly ProbeGroup[], options: ScanOptions): Promise<ProbeResult> {
  const opened = await path.open(address, port, options.timeoutMs, options.signal)
  if (!opened.ok) return { kind: 'failed', status: opened.status, detail: opened.detail, hello: NOTHING_READ }
  const timeoutMs = Math.max(1, options.timeoutMs - opened.elapsedMs)
  return probeStream(opened.stream, { groups, timeoutMs, ...(options.signal ? { signal: options.signal } : {}) })
}

function probeRequest(address: string, port: number, groups: readonly ProbeGroup[], options: ScanOptions) {
  return { address, port, groups, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }
}
