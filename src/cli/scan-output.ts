import { isAtOrAbove, type FailOn, type Finding } from '../domain/finding.js'
import type { Observation } from '../domain/observation.js'
import { parseIdentity } from '../domain/target.js'
import { UserError } from '../domain/errors.js'
import type { ScanOutcome } from '../app/scan-fleet.js'
import { renderKnownHostsLines } from '../report/known-hosts.js'
import { ScanJsonWriter } from '../report/scan-json.js'
import { renderScanSshfp } from '../report/scan-sshfp.js'
import { renderTextFinding, renderTextHeader, renderTextHostRows, renderTextSummary, type FingerprintHash } from '../report/scan-text.js'
import { writeLine, type CommandContext } from './context.js'

/* How a scan is shown as it runs: one of the formats, -D, or -q for cron. The scan itself (app/run-scan.ts)
 * knows nothing of this. */

export const FORMATS = ['text', 'json', 'known_hosts'] as const
export type ScanFormat = (typeof FORMATS)[number]

/** The output flags of `scan`. */
export interface OutputFlags {
  readonly format: ScanFormat
  readonly hash?: boolean
  /** -D: SSHFP records instead of --format's output. */
  readonly sshfp?: boolean
  readonly fingerprintHash: FingerprintHash
  readonly failOn: FailOn
  readonly quiet?: boolean
}

/** Renders a scan to stdout as it runs, in one of the three formats. */
export interface ScanRenderer {
  start(): void
  host(observation: Observation): void
  finish(outcome: ScanOutcome): void
  /** The scan failed after start(): leave the output well-formed (JSON: closed, with the error). */
  fail?(error: unknown): void
}

export function makeRenderer(flags: OutputFlags, context: CommandContext): ScanRenderer {
  const out = (text: string) => context.stdout.write(text)
  const failing = (findings: readonly Finding[]) => findings.filter((f) => isAtOrAbove(f.severity, flags.failOn))
  if (flags.quiet) {
    // For cron: nothing at all unless something at or above --fail-on needs a person.
    return {
      start() {},
      host() {},
      finish(outcome) {
        for (const finding of failing(outcome.findings)) writeLine(context.stdout, renderTextFinding(finding))
      },
    }
  }
  if (flags.sshfp) {
    // ssh-keyscan -D's split: records on stdout; on stderr, as `;` comments, why a host has none, and the findings.
    return {
      start() {},
      host(observation) {
        const { records, notes } = renderScanSshfp(observation)
        if (records) out(records)
        for (const note of notes) writeLine(context.stderr, note)
      },
      finish(outcome) {
        for (const finding of outcome.findings) writeLine(context.stderr, `; ${renderTextFinding(finding)}`)
      },
    }
  }
  switch (flags.format) {
    case 'json': {
      const writer = new ScanJsonWriter()
      return {
        start: () => out(writer.open()),
        host: (observation) => out(writer.host(observation)),
        finish: (outcome) => out(writer.close(outcome.findings)),
        fail: (error) => out(writer.abort(error instanceof Error ? error.message : String(error))),
      }
    }
    case 'known_hosts':
      return {
        start() {},
        host(observation) {
          const names = [parseIdentity(observation.target.host).name, ...(observation.address ? [observation.address] : [])]
          for (const key of observation.keys) {
            for (const line of renderKnownHostsLines({ names, port: observation.target.port, key }, { hash: !!flags.hash })) {
              writeLine(context.stdout, line)
            }
          }
        },
        finish(outcome) {
          for (const finding of outcome.findings) writeLine(context.stderr, renderTextFinding(finding))
        },
      }
    case 'text':
      return {
        start: () => writeLine(context.stdout, renderTextHeader()),
        host: (observation) => {
          for (const line of renderTextHostRows(observation, flags.fingerprintHash)) writeLine(context.stdout, line)
        },
        finish: (outcome) => writeLine(context.stdout, renderTextSummary(outcome, outcome.findings)),
      }
  }
}

/**
 * Output flags that do not fit together are usage errors (exit 2), never silently ignored: --hash changes
 * only known_hosts lines, -E only the text table, and -D is an output format of its own. `given` tells a
 * flag the user typed from one left at its default. --list takes any scan command line that passes this.
 */
export function checkOutputFlags(flags: OutputFlags, given: (option: 'format' | 'fingerprintHash') => boolean): void {
  if (flags.sshfp && given('format')) {
    throw new UserError(`-D prints SSHFP records, an output format of its own; it cannot be combined with --format ${flags.format}`)
  }
  const output = flags.sshfp ? '-D' : `--format ${flags.format}`
  if (flags.hash && (flags.sshfp || flags.format !== 'known_hosts')) {
    throw new UserError(`--hash hashes host names in known_hosts lines; it does not apply to ${output} (use it with --format known_hosts)`)
  }
  if (given('fingerprintHash') && (flags.sshfp || flags.format !== 'text')) {
    const both = !flags.sshfp && flags.format === 'json' ? ', which gives both sha256 and md5' : ''
    throw new UserError(`-E chooses the fingerprint shown in text output; it does not apply to ${output}${both}`)
  }
}
