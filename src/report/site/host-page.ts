import { UserError } from '../../domain/errors.js'
import type { FleetCertificate, FleetHost, FleetKey } from '../../domain/fleet.js'
import type { TrustedAuthority } from '../../domain/history.js'
import { KEY_TYPES, type KeyType, type Md5Fingerprint, type Sha256Fingerprint } from '../../domain/host-key.js'
import { matchesHostPatterns } from '../../domain/host-patterns.js'
import { isIpLiteral, parseIdentity } from '../../domain/target.js'
import { describeKey } from '../../domain/fingerprint/key-blob.js'
import { randomart, shortKeyTypeName } from '../../domain/fingerprint/randomart.js'
import { expectedRecords } from '../../domain/fingerprint/sshfp-record.js'
import { renderCertAuthorityLine, renderKnownHostsLines } from '../known-hosts.js'
import { renderSshfpZone } from '../sshfp-zone.js'
import { hostPageStem } from './page-files.js'

/* host page : what a published site says about one host, the same in HTML and in Markdown. Only
 *             keys the trust ledger vouches for (domain/trust.ts) get fingerprints, known_hosts and
 *             SSHFP lines, as `known-hosts` and `sshfp` do: a pending key may be a man in the middle,
 *             so it is listed apart, with a warning and nothing to paste; a revoked or compromised key
 *             is listed as refused, with its @revoked line. */

export interface PublishedKey {
  readonly type: KeyType
  readonly bits: number
  /** `ED25519 256`, as ssh-keygen -l ends its line. */
  readonly label: string
  readonly sha256: Sha256Fingerprint
  readonly md5: Md5Fingerprint
  /** `ssh-keygen -lv -E sha256` and `-E md5` pictures. */
  readonly artSha256: string
  readonly artMd5: string
  readonly firstSeen: Date
  readonly lastVerified: Date | null
  readonly verifiedFrom: string | null
  /** Served at the last scan that reached the host and asked for its family. */
  readonly current: boolean
  readonly source: 'scan' | 'import'
}

export interface PublishedCertificate {
  readonly family: string
  readonly keyId: string
  readonly serial: string
  readonly principals: readonly string[]
  readonly validAfter: Date | null
  readonly validBefore: Date | null
  readonly caSha256: Sha256Fingerprint
  /** A trusted CA whose patterns name this host signed it. */
  readonly caTrusted: boolean
  readonly signatureValid: boolean
  readonly removed: boolean
}

export type SshfpLines = { readonly kind: 'lines'; readonly lines: readonly string[] } | { readonly kind: 'none'; readonly why: string }

export interface HostPage {
  readonly host: string
  /** File name of its page without extension (page-files.ts). */
  readonly stem: string
  readonly aliases: readonly string[]
  readonly addresses: readonly string[]
  readonly lastReached: Date | null
  readonly lastStatus: string | null
  readonly banner: string | null
  /** Trusted keys, ed25519 first. */
  readonly keys: readonly PublishedKey[]
  /** Keys the host served at its last scan that are not trusted: a key_changed waiting for `accept`. */
  readonly unaccepted: readonly PublishedKey[]
  /** Keys the ledger refuses (revoked or compromised): listed so nobody trusts them, never vouched for. */
  readonly refused: readonly (PublishedKey & { readonly state: 'revoked' | 'compromised' })[]
  readonly knownHosts: readonly string[]
  readonly certAuthorities: readonly string[]
  readonly sshfp: SshfpLines
  readonly certificates: readonly PublishedCertificate[]
  /** The latest verification of any trusted key, and where it ran. */
  readonly lastVerified: Date | null
  readonly verifiedFrom: string | null
}

function publishedKey(key: FleetKey): PublishedKey {
  return {
    type: key.type,
    bits: key.bits,
    label: `${shortKeyTypeName(key.type)} ${key.bits}`,
    sha256: key.sha256,
    md5: key.md5,
    artSha256: randomart(key.blob, key, 'SHA256'),
    artMd5: randomart(key.blob, key, 'MD5'),
    firstSeen: key.firstSeen,
    lastVerified: key.lastVerified,
    verifiedFrom: key.verifiedFrom,
    current: key.current,
    source: key.source,
  }
}

/** ed25519, ecdsa by curve, rsa, dsa (KEY_TYPES order), as `lookup` lists keys. */
function sortedKeys(keys: readonly FleetKey[]): FleetKey[] {
  return [...keys].sort((a, b) => KEY_TYPES.indexOf(a.type) - KEY_TYPES.indexOf(b.type) || a.sha256.localeCompare(b.sha256))
}

/** SSHFP lines at the host's bare name (RFC 4255 §3: no port), as `ssh-keygen -r NAME.` prints them. */
function sshfpLines(host: FleetHost, keys: readonly FleetKey[]): SshfpLines {
  const { name } = parseIdentity(host.host)
  if (isIpLiteral(name)) return { kind: 'none', why: 'SSHFP records live at DNS names, and this host is known by its address.' }
  if (keys.length === 0) return { kind: 'none', why: 'no trusted key to publish yet.' }
  try {
    const zone = renderSshfpZone([{ host: name, records: expectedRecords(keys.map((k) => describeKey(k.blob))) }])
    if (zone === '') return { kind: 'none', why: 'none of its keys has an SSHFP algorithm (security-key host keys have none).' }
    return { kind: 'lines', lines: zone.trimEnd().split('\n') }
  } catch (e) {
    if (e instanceof UserError) return { kind: 'none', why: 'its name cannot be a DNS owner name, so no SSHFP record can be published for it.' }
    throw e
  }
}

function isTrustedFor(certificate: FleetCertificate, authorities: readonly TrustedAuthority[], names: readonly string[], port: number): TrustedAuthority[] {
  return authorities.filter((a) => a.sha256 === certificate.ca.sha256 && matchesHostPatterns(a.patterns, names, port))
}

/** One host's page, from its history and the trusted CAs. */
export function buildHostPage(host: FleetHost, authorities: readonly TrustedAuthority[]): HostPage {
  const trusted = sortedKeys(host.keys.filter((k) => k.trust === 'trusted'))
  const unaccepted = sortedKeys(host.keys.filter((k) => k.trust === 'pending' && k.current))
  const refused = sortedKeys(host.keys.filter((k) => k.trust === 'revoked' || k.trust === 'compromised'))
  const { name, port } = parseIdentity(host.host)
  const names = [name, ...host.aliases, ...host.addresses]
  // As `known-hosts` writes them (app/export-known-hosts.ts): on port 22 an identity's key is written
  // for the port it was served on.
  const knownHosts = trusted.flatMap((key) =>
    renderKnownHostsLines({ names, port: port === 22 ? (key.port ?? 22) : port, key }, { hash: false }),
  )
  const live = host.certificates.filter((c) => !c.removed)
  const certAuthorities = [
    ...new Set(live.flatMap((c) => isTrustedFor(c, authorities, names, port).map((a) => renderCertAuthorityLine(a)))),
  ]
  let latest: FleetKey | null = null
  for (const key of trusted) {
    if (key.lastVerified !== null && (latest?.lastVerified == null || key.lastVerified > latest.lastVerified)) latest = key
  }
  return {
    host: host.host,
    stem: hostPageStem(host.host),
    aliases: host.aliases,
    addresses: host.addresses,
    lastReached: host.lastReached,
    lastStatus: host.lastStatus,
    banner: host.lastBanner,
    keys: trusted.map(publishedKey),
    unaccepted: unaccepted.map(publishedKey),
    refused: refused.map((k) => ({ ...publishedKey(k), state: k.trust as 'revoked' | 'compromised' })),
    knownHosts,
    certAuthorities,
    sshfp: sshfpLines(host, trusted),
    certificates: host.certificates.map((c) => ({
      family: c.family,
      keyId: c.keyId,
      serial: c.serial,
      principals: c.principals,
      validAfter: c.validAfter,
      validBefore: c.validBefore,
      caSha256: c.ca.sha256,
      caTrusted: isTrustedFor(c, authorities, names, port).length > 0,
      signatureValid: c.signatureValid,
      removed: c.removed,
    })),
    lastVerified: latest?.lastVerified ?? null,
    verifiedFrom: latest?.verifiedFrom ?? null,
  }
}
