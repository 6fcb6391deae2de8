import { UserError } from '../domain/errors.js'
import { sameDnsName, toAbsoluteName } from '../domain/dns-name.js'
import { formatSshfpRdata, sameRecord, SSHFP_DIGEST_OCTETS, type SshfpRecord } from '../domain/fingerprint/sshfp-record.js'

/* Renderers for SSHFP records (RFC 4255 §3.2 presentation format). Pure: records in, text out.
 * Output form, decided once:
 *   - owner names are absolute, with the final dot (`web1.example.com.`): a name without it inside a zone
 *     file is relative to $ORIGIN (RFC 1035 §5.1), the classic `web1.example.com.example.com` mistake.
 *     `ssh-keygen -r NAME` prints NAME as given; given `web1.example.com.` it prints exactly our lines.
 *   - with `origin`, names inside the zone are written relative to it (`web1`, `@` for the apex).
 *   - digests in lowercase hex, SHA-1 before SHA-256 for each key, as `ssh-keygen -r` prints them.
 *   - a TTL, when given, goes between owner and class: `NAME TTL IN SSHFP ...`.
 * Every owner name is validated first (dns-name.ts): a name that could break or inject zone text is
 * refused with a UserError and nothing is rendered. */

/** The SSHFP records one host should have (from trusted keys, `expectedRecords`). */
export interface HostSshfpRecords {
  readonly host: string
  readonly records: readonly SshfpRecord[]
}

/** A host's wanted records beside what DNS serves now; `served` null when the lookup failed (then the RRset is replaced whole). */
export interface HostSshfpState extends HostSshfpRecords {
  readonly served: readonly SshfpRecord[] | null
}

export interface ZoneRenderOptions {
  /** `--origin ZONE`: write names relative to this zone; names outside it are refused. */
  readonly origin?: string | null
  /** `--ttl N`: written on every line; else the zone's $TTL applies. */
  readonly ttl?: number | null
  /** RFC 3597 §5 generic form `TYPE44 \# LEN HEX`, for software that does not know SSHFP. */
  readonly generic?: boolean
  /**
   * Owner names exactly as given, without the final dot: the lines `ssh-keygen -r NAME` and `ssh-keyscan -D`
   * print (in a zone file such a name is relative to $ORIGIN). Not with `origin`, which decides names itself.
   */
  readonly namesAsGiven?: boolean
}

export interface NsupdateRenderOptions {
  /** TTL of added records; nsupdate needs one (default 3600). */
  readonly ttl?: number | null
  /** Emits a `server ADDR PORT` line first. */
  readonly server?: { readonly address: string; readonly port: number } | null
  /** Emits a `zone ZONE` line first, instead of letting nsupdate find the zone by SOA query. */
  readonly zone?: string | null
}

export const DEFAULT_NSUPDATE_TTL = 3600

/** RFC 2181 §8: a TTL is an unsigned 31-bit number of seconds. */
function validTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) {
    throw new UserError(`TTL ${ttl} is not a whole number of seconds from 0 to 2147483647 (RFC 2181 §8)`)
  }
  return ttl
}

/** Records are built by our own code; a bad one is a bug upstream, and must not reach zone text either. */
function checkedRdata(record: SshfpRecord): string {
  const octets = SSHFP_DIGEST_OCTETS[record.digestType]
  if (!/^[0-9a-fA-F]*$/.test(record.fingerprint) || record.fingerprint.length !== octets * 2 || !Number.isInteger(record.algorithm)) {
    throw new Error(`refusing to render an invalid SSHFP record (${record.algorithm} ${record.digestType} ${record.fingerprint.slice(0, 80)})`)
  }
  return formatSshfpRdata(record)
}

function genericRdata(record: SshfpRecord): string {
  checkedRdata(record)
  const hex = (n: number) => n.toString(16).padStart(2, '0')
  // Spacing as `ssh-keygen -r -g` prints it: `\# 34 04 02 <digest>`.
  return `\\# ${2 + record.fingerprint.length / 2} ${hex(record.algorithm)} ${hex(record.digestType)} ${record.fingerprint.toLowerCase()}`
}

function ownerName(host: string, origin: string | null, asGiven: boolean): string {
  const absolute = toAbsoluteName(host) // validates the name whichever way it is written
  if (origin === null) return asGiven ? host : absolute
  if (sameDnsName(absolute, origin)) return '@'
  const suffix = `.${origin}`
  if (absolute.toLowerCase().endsWith(suffix.toLowerCase())) return absolute.slice(0, absolute.length - suffix.length)
  throw new UserError(`host ${host} is outside the zone ${origin} given with --origin; leave --origin off to write absolute names`)
}

/** Master-file lines, one per record: `web1.example.com. IN SSHFP 4 2 <hex>` (or relative, with TTL, generic). */
export function renderSshfpZone(hosts: readonly HostSshfpRecords[], options: ZoneRenderOptions = {}): string {
  const origin = options.origin == null ? null : toAbsoluteName(options.origin)
  const ttl = options.ttl == null ? null : validTtl(options.ttl)
  if (origin !== null && options.namesAsGiven) throw new Error('renderSshfpZone: namesAsGiven and origin exclude each other')
  const lines: string[] = []
  for (const { host, records } of hosts) {
    const owner = ownerName(host, origin, !!options.namesAsGiven)
    const prefix = ttl === null ? `${owner} IN` : `${owner} ${ttl} IN`
    for (const record of records) {
      lines.push(options.generic ? `${prefix} TYPE44 ${genericRdata(record)}` : `${prefix} SSHFP ${checkedRdata(record)}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

function nsupdateHeader(options: NsupdateRenderOptions): string[] {
  const header: string[] = []
  if (options.server) header.push(`server ${options.server.address} ${options.server.port}`)
  if (options.zone) header.push(`zone ${toAbsoluteName(options.zone)}`)
  return header
}

/**
 * An nsupdate script that replaces each host's SSHFP RRset (RFC 2136 §2.5.2 delete RRset, §2.5.1 add),
 * one `send` (one atomic update) per host, since hosts may live in different zones.
 */
export function renderSshfpNsupdate(hosts: readonly HostSshfpRecords[], options: NsupdateRenderOptions = {}): string {
  const ttl = validTtl(options.ttl ?? DEFAULT_NSUPDATE_TTL)
  const lines = nsupdateHeader(options)
  for (const { host, records } of hosts) {
    const owner = toAbsoluteName(host)
    lines.push(`update delete ${owner} SSHFP`)
    for (const record of records) lines.push(`update add ${owner} ${ttl} SSHFP ${checkedRdata(record)}`)
    lines.push('send')
  }
  return `${lines.join('\n')}\n`
}

/**
 * Only the nsupdate commands that bring DNS in line with the wanted records: deletes of single records
 * DNS serves but should not (RFC 2136 §2.5.4), adds of missing ones; nothing for hosts already in line,
 * and '' when no host needs a change. A host whose lookup failed gets its whole RRset replaced, which is
 * right whatever DNS holds. Records of algorithms or digest types we do not know are left alone.
 */
export function renderSshfpNsupdateDiff(hosts: readonly HostSshfpState[], options: NsupdateRenderOptions = {}): string {
  const ttl = validTtl(options.ttl ?? DEFAULT_NSUPDATE_TTL)
  const body: string[] = []
  for (const { host, records, served } of hosts) {
    const owner = toAbsoluteName(host)
    const wanted = records.filter((r, i) => records.findIndex((o) => sameRecord(o, r)) === i)
    if (served === null) {
      body.push(`; the SSHFP lookup for ${owner} failed: replacing the whole RRset`, `update delete ${owner} SSHFP`)
      for (const record of wanted) body.push(`update add ${owner} ${ttl} SSHFP ${checkedRdata(record)}`)
      body.push('send')
      continue
    }
    const deletes = served.filter((r) => !wanted.some((w) => sameRecord(w, r)))
    const adds = wanted.filter((w) => !served.some((r) => sameRecord(w, r)))
    if (deletes.length === 0 && adds.length === 0) continue
    for (const record of deletes) body.push(`update delete ${owner} SSHFP ${checkedRdata(record)}`)
    for (const record of adds) body.push(`update add ${owner} ${ttl} SSHFP ${checkedRdata(record)}`)
    body.push('send')
  }
  return body.length === 0 ? '' : `${[...nsupdateHeader(options), ...body].join('\n')}\n`
}
