import type { Observation } from '../domain/observation.js'
import { parseIdentity } from '../domain/target.js'
import { isDnsName } from '../domain/dns-name.js'
import { expectedRecords } from '../domain/fingerprint/sshfp-record.js'
import { formatEndpoint } from '../domain/target.js'
import { renderSshfpZone } from './sshfp-zone.js'

/* `scan -D`: SSHFP records for the keys a scan just collected, the lines `ssh-keyscan -D` prints
 * (`NAME IN SSHFP ALG TYPE HEX`, SHA-1 then SHA-256 for each key, names without a final dot).
 * owner names : each name of the host: its identity without the port (SSHFP has no port, RFC 4255 §3)
 *               and its aliases, as the inventory gives them (lowercased, as every identity is).
 *               IP literals are left out: OpenSSH never looks SSHFP up for them (verify_host_key_dns),
 *               and the zone renderer refuses them, so a host known only by address gets a note
 *               instead (ssh-keyscan -D prints records named by the address).
 * notes       : why a host has no records, as `; ...` lines: ssh-keyscan -D's comment character, so
 *               stderr mixed into a zone file stays a comment. */

export interface ScanSshfp {
  /** Zone lines, '' when the host has none. */
  readonly records: string
  /** `;` comments: why the host has no records (failed, no key, only IP addresses), or why some keys may be missing. */
  readonly notes: readonly string[]
}

/** The DNS names SSHFP records for this host live at: its identity's bare name, then its aliases. */
export function sshfpOwnerNames(observation: Observation): string[] {
  const names = [parseIdentity(observation.target.host).name, ...observation.target.aliases]
  return [...new Set(names.map((n) => n.toLowerCase()))].filter(isDnsName)
}

/**
 * The SSHFP lines for one scanned host, and notes. Records are printed for whatever keys came back,
 * as ssh-keyscan -D does, even when the host's status says some probe failed; the status is then a note.
 */
export function renderScanSshfp(observation: Observation): ScanSshfp {
  const { target } = observation
  const where = `; ${target.host} (${formatEndpoint(observation.address ?? target.address, target.port)})`
  const failure = observation.status === 'ok' ? [] : [`${where}: ${observation.status}: ${observation.error ?? ''}`.trimEnd()]
  if (observation.keys.length === 0) {
    return { records: '', notes: failure.length > 0 ? failure : [`${where}: no host key of the requested types offered`] }
  }
  const names = sshfpOwnerNames(observation)
  if (names.length === 0) {
    const unnamed = `${where}: no SSHFP records: they live at DNS names, and this host is known only by IP address; name it in the inventory (ADDR NAME)`
    return { records: '', notes: [...failure, unnamed] }
  }
  const records = expectedRecords(observation.keys)
  return { records: renderSshfpZone(names.map((host) => ({ host, records })), { namesAsGiven: true }), notes: failure }
}
