import type { Finding } from '../domain/finding.js'
import type { Observation } from '../domain/observation.js'
import { formatEndpoint } from '../domain/target.js'
import { certificateSummary } from './certificate-json.js'

/* The text table is written as hosts complete, so its columns have fixed widths; a long name or
 * address pushes its row right rather than being cut (a truncated fingerprint would be worse). */

const COLUMNS: [title: string, width: number][] = [
  ['HOST', 28],
  ['ADDRESS', 24],
  ['TYPE', 20],
  ['BITS', 5],
]

function row(cells: string[], last: string): string {
  return cells.map((cell, i) => cell.padEnd(COLUMNS[i]![1])).join(' ') + ' ' + last
}

export function renderTextHeader(): string {
  return row(
    COLUMNS.map(([title]) => title),
    'FINGERPRINT / STATUS',
  )
}

/** The fingerprint forms the text table can show, as `ssh-keygen -E` names them. */
export const FINGERPRINT_HASHES = ['sha256', 'md5'] as const
export type FingerprintHash = (typeof FINGERPRINT_HASHES)[number]

/** Rows for one host with SHA256 fingerprints, ssh-keygen's default. */
export function renderTextHost(observation: Observation): string[] {
  return renderTextHostRows(observation, 'sha256')
}

/** Rows for one host: one per key, its fingerprint in the `hash` form (`scan -E`), or one saying why the host failed. */
export function renderTextHostRows(observation: Observation, hash: FingerprintHash): string[] {
  const { target } = observation
  const address = formatEndpoint(observation.address ?? target.address, target.port)
  if (observation.status !== 'ok' && observation.status !== 'partial') {
    return [row([target.host, address, '-', '-'], `${observation.status}: ${observation.error ?? ''}`.trimEnd())]
  }
  const keys = observation.keys.map((key) => {
    const fingerprint = hash === 'md5' ? key.md5 : key.sha256
    return row([target.host, address, key.type, String(key.bits)], key.certificate ? `${fingerprint} ${certificateSummary(key.certificate)}` : fingerprint)
  })
  // A partial host: the keys that came back are shown (and judged); the failed families say why others are missing.
  if (observation.status === 'partial') return [...keys, row([target.host, address, '-', '-'], `partial: ${observation.error ?? ''}`.trimEnd())]
  if (keys.length === 0) return [row([target.host, address, '-', '-'], 'ok: no host key of the requested types offered')]
  return keys
}

export function renderTextFinding(finding: Finding): string {
  return `${finding.severity.toUpperCase().padEnd(8)} ${finding.kind.padEnd(17)} ${finding.host}: ${finding.message}`
}

export interface ScanSummary {
  readonly targets: number
  readonly reached: number
  readonly failed: number
  readonly keys: number
  readonly durationMs: number
}

export function renderTextSummary(summary: ScanSummary, findings: readonly Finding[]): string {
  const lines: string[] = []
  if (findings.length > 0) {
    lines.push('', 'FINDINGS')
    for (const finding of findings) lines.push(renderTextFinding(finding))
  }
  lines.push(
    '',
    `${summary.targets} host(s) scanned in ${(summary.durationMs / 1000).toFixed(1)} s: ` +
      `${summary.reached} reached, ${summary.failed} failed, ${summary.keys} key(s), ${findings.length} finding(s)`,
  )
  return lines.join('\n')
}
