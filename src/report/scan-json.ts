import type { Finding } from '../domain/finding.js'
import { FINDING_CATALOGUE } from '../domain/finding-catalogue.js'
import { publicKeyLine } from '../domain/host-key.js'
import type { Observation } from '../domain/observation.js'
import { certificateToJson } from './certificate-json.js'
import { hasshServer } from '../domain/fingerprint/hassh.js'

/* `--format json` is one document, {"hosts": [...], "findings": [...]}, written incrementally: the
 * opening, then one host object per completed host, then the findings. A 100,000-host scan never
 * holds its output in memory, and a consumer still gets a single valid JSON value. */

/** The JSON object for one host, as documented in the README (extra fields may be added, never removed). */
export function observationToJson(observation: Observation): object {
  return {
    host: observation.target.host,
    address: observation.address,
    port: observation.target.port,
    status: observation.status,
    error: observation.error,
    banner: observation.banner,
    keys: observation.keys.map((key) => ({
      type: key.type,
      bits: key.bits,
      sha256: key.sha256,
      md5: key.md5,
      publicKey: publicKeyLine(key),
      certificate: certificateToJson(key.certificate),
    })),
    aliases: observation.target.aliases,
    /** Families whose probe failed on a host that otherwise answered (status partial). */
    failedFamilies: observation.failedFamilies,
    offered: observation.offered
      ? {
          kex: observation.offered.kex,
          serverHostKey: observation.offered.serverHostKey,
          ciphers: observation.offered.ciphers,
          macs: observation.offered.macs,
          compression: observation.offered.compression,
          /** Salesforce's HASSH server fingerprint, as Zeek and Suricata log it. */
          hassh: hasshServer(observation.offered),
        }
      : null,
    connections: observation.connections,
    durationMs: Math.round(observation.durationMs),
    /** The jump hosts the probes went through (`user@host:port,…`), null when connected directly. */
    via: observation.via ?? null,
  }
}

export function findingToJson(finding: Finding): object {
  return {
    kind: finding.kind,
    severity: finding.severity,
    /** condition, event or note, and what closes it, from the finding catalogue (docs/findings.md). */
    lifecycle: FINDING_CATALOGUE[finding.kind].lifecycle,
    closedBy: FINDING_CATALOGUE[finding.kind].closedBy,
    host: finding.host,
    hosts: finding.hosts,
    keyType: finding.keyType,
    fingerprint: finding.fingerprint,
    previous: finding.previous,
    message: finding.message,
  }
}

/** Renders the scan document piece by piece; each call returns text to write in order. */
export class ScanJsonWriter {
  private hosts = 0
  private state: 'new' | 'open' | 'closed' = 'new'

  open(): string {
    this.state = 'open'
    return '{"hosts": ['
  }

  host(observation: Observation): string {
    if (this.state === 'closed') return '' // a document is never extended once closed
    return `${this.hosts++ === 0 ? '\n' : ',\n'}  ${JSON.stringify(observationToJson(observation))}`
  }

  /**
   * Ends a document whose scan failed after it began (database lost, interrupted): still one valid
   * value, with `"findings": null` (not judged) and the error. Empty if nothing was opened or it was
   * already closed.
   */
  abort(error: string): string {
    if (this.state !== 'open') return ''
    this.state = 'closed'
    return `${this.hosts > 0 ? '\n' : ''}],\n "findings": null,\n "error": ${JSON.stringify(error)}}\n`
  }

  close(findings: readonly Finding[]): string {
    this.state = 'closed'
    const items = findings.map((f) => `  ${JSON.stringify(findingToJson(f))}`).join(',\n')
    return `${this.hosts > 0 ? '\n' : ''}],\n "findings": [${items ? `\n${items}\n` : ''}]}\n`
  }
}
