import { echoInput, echoQuoted } from '../domain/echo.js'
import type { Finding } from '../domain/finding.js'
import type { KeyType } from '../domain/host-key.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import type { HostHistory } from '../domain/sighting.js'

/* Findings about a host as a whole, not one of its keys: new_host; for a host a scan did not reach,
 * host_unresolvable, keys_withheld, never_reached or host_unreachable; partial_scan for one it
 * reached in part. */

/** Spelled out field by field, not spread: V8 gave each spread copy a hidden class of its own (~300 bytes
 * more a finding, ~30 MB for the 100,000 new_host findings of a first scan). */
export function finding(partial: Omit<Finding, 'hosts'> & { hosts?: readonly string[] }): Finding {
  return {
    kind: partial.kind,
    severity: partial.severity,
    host: partial.host,
    hosts: partial.hosts ?? [partial.host],
    keyType: partial.keyType,
    fingerprint: partial.fingerprint,
    previous: partial.previous,
    message: partial.message,
  }
}

/** new_host: a host seen for the first time, serving keys of these types. */
export function newHostFinding(host: string, types: readonly KeyType[]): Finding {
  return finding({
    kind: 'new_host',
    severity: 'info',
    host,
    keyType: null,
    fingerprint: null,
    previous: null,
    // Joined, not a template literal: a template leaves a tree of concatenation nodes (~350 bytes
    // here, twice the text) that lives as long as the finding. join() builds one flat string.
    message: [
      host,
      ' was seen for the first time, serving ',
      types.length,
      types.length === 1 ? ' key (' : ' keys (',
      types.join(', '),
      '); they are now trusted on first use.',
    ].join(''),
  })
}

/**
 * The new_host findings of a scan, held until it reports as what their message is made of: the host
 * and its key types (one list per distinct combination). A first scan of 100,000 hosts reports
 * 100,000 of them; as Finding objects they were ~300 bytes each for the whole recording, and V8 let
 * the heap grow to ~3x what was live.
 */
export class NewHostFindings {
  private hosts: string[] = []
  private types: (readonly KeyType[])[] = []
  private readonly combinations = new Map<string, readonly KeyType[]>()

  get size(): number {
    return this.hosts.length
  }

  add(host: string, types: readonly KeyType[]): void {
    const name = types.join(',')
    let shared = this.combinations.get(name)
    if (!shared) this.combinations.set(name, (shared = [...types]))
    this.hosts.push(host)
    this.types.push(shared)
  }

  /** The findings, as newHostFinding made them when they were recorded. */
  findings(): Finding[] {
    const out = this.hosts.map((host, i) => newHostFinding(host, this.types[i]!))
    this.hosts = []
    this.types = []
    return out
  }
}

/** How a host that did not answer is judged. */
export interface UnreachablePolicy {
  /** Consecutive failed scans after which host_unreachable is a warning, not info (`--unreachable-after`). */
  readonly unreachableAfter: number
}

export const DEFAULT_UNREACHABLE_AFTER = 7

/** The host answered SSH and then gave no key: its KEXINIT was read (it named the host key algorithms
 * it has), yet every key exchange stalled or broke off. Not reached (its keys are kept unchanged), but
 * not silent either: it is there, withholding its keys from this scanner. */
export function withholdsKeys(scanned: Pick<ScannedHost, 'reached' | 'offered'>): boolean {
  return !scanned.reached && scanned.offered !== null
}

/** keys_withheld (warning, from the first scan): a host that answered SSH and withheld every key. It
 * needs no history: `scan --no-store` raises it too. */
export function keysWithheldFinding(scanned: Pick<ScannedHost, 'host' | 'status' | 'error' | 'banner' | 'offered'>): Finding {
  const host = scanned.host
  const why = scanned.error ? `${scanned.status}: ${scanned.error}` : scanned.status
  const algorithms = scanned.offered?.serverHostKey ?? []
  const greeting = scanned.banner !== null ? `its banner ${echoQuoted(scanned.banner, 80)} and ` : ''
  return finding({
    kind: 'keys_withheld',
    severity: 'warning',
    host,
    keyType: null,
    fingerprint: null,
    previous: null,
    message:
      `${host} answered SSH (${greeting}a key exchange offer naming ${algorithms.length} host key algorithm(s): ` +
      `${echoInput(algorithms.join(','), 120)}) but gave no host key (${why}): it withholds every key from this scanner, ` +
      `so none was checked this scan and its recorded keys are kept unchanged. Something that lets the clear-text greeting ` +
      `through and stalls the key exchange can be an interceptor or a filtering firewall; an overloaded sshd or a deadline ` +
      `too short for its key exchange can do it too. Scan it again with a longer deadline (-T SECONDS); if it still withholds ` +
      `its keys, check sshd's log on the host and the path to it, and trust no key for it until a scan gets one.`,
  })
}

/** The finding for a host this scan did not reach: why it matters depends on what the history knows. */
export function notReachedFinding(history: HostHistory | null, scanned: ScannedHost, policy: UnreachablePolicy): Finding {
  const host = scanned.host
  const why = scanned.error ? `${scanned.status}: ${scanned.error}` : scanned.status
  const base = { host, keyType: null, fingerprint: null, previous: null }
  // It answered SSH: "check that sshd runs there" would send people looking in the wrong place.
  if (withholdsKeys(scanned)) return keysWithheldFinding(scanned)
  if (scanned.status === 'dns-error') {
    return finding({
      ...base,
      kind: 'host_unresolvable',
      severity: 'warning',
      message:
        `${host} cannot be resolved (${scanned.error ?? 'no address'}), so it was not scanned. ` +
        `Fix the name in the inventory or in DNS, or remove the host from the inventory if it was retired.`,
    })
  }
  if (!history?.everReached) {
    return finding({
      ...base,
      kind: 'never_reached',
      severity: 'warning',
      message:
        `${host} has never answered since it entered the inventory (${why}). ` +
        `Check its address and port (${scanned.port}) in the inventory and that sshd runs there; until a scan reaches it, nothing protects it.`,
    })
  }
  const failures = history.failedScans + 1
  const long = failures >= policy.unreachableAfter
  return finding({
    ...base,
    kind: 'host_unreachable',
    severity: long ? 'warning' : 'info',
    message:
      `${host} did not answer (${why})${failures > 1 ? `, ${failures} scans in a row` : ''}; its recorded keys are kept unchanged. ` +
      `Check that it is up and reachable on port ${scanned.port}, or remove it from the inventory if it was retired.`,
  })
}

/** partial_scan: some families were not checked this scan; say so, or a stalled probe goes unseen. */
export function partialScanFinding(scanned: ScannedHost): Finding {
  const families = [...scanned.failedFamilies].join(', ')
  return finding({
    kind: 'partial_scan',
    severity: 'warning',
    host: scanned.host,
    keyType: null,
    fingerprint: null,
    previous: null,
    message:
      `${scanned.host} answered, but its ${families} key could not be fetched (${scanned.error ?? 'probe failed'}): ` +
      `that family was not checked this scan and its recorded key is kept. A path that stalls one key family ` +
      `while answering the others can be an interceptor; do not accept this host's keys until a complete scan.`,
  })
}
