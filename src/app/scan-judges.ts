import { StandaloneJudgement } from '../analysis/judge-without-history.js'
import type { AlgorithmPolicy } from '../analysis/policy.js'
import type { KnownBadKeys } from './known-bad-keys.js'
import { compareFindings } from '../domain/finding.js'
import { KeptScan } from '../analysis/packed-observations.js'
import type { Store } from '../store/store.js'
import { recordScan, type RecordingStage } from './record-scan.js'
import type { ScanJudge, ScanMeta } from './scan-fleet.js'

/**
 * Judges against the history and records the scan in it, in one transaction at the end (then its
 * shared-prime check, in one of its own). Until then it
 * keeps each observation packed (KeptScan: ~0.6 KB a host instead of ~5 KB), so a 100,000-host
 * scan holds tens of megabytes, not half a gigabyte.
 */
export function historyJudge(
  store: Store,
  scan: {
    vantage: string
    request: Record<string, unknown> | (() => Record<string, unknown>)
    unreachableAfter?: number
    certWarnDays?: number
    policy?: AlgorithmPolicy | null
    knownBadKeys?: KnownBadKeys
    /** Wraps each transaction that writes (RecordScanOptions.write). */
    write?: <T>(stage: RecordingStage, fn: () => Promise<T>) => Promise<T>
  },
): ScanJudge {
  const kept = new KeptScan()
  return {
    observe: (observation) => kept.keep(observation),
    async finish(meta: ScanMeta, dnsFindings) {
      // A function: what only the end of the scan knows (the jump hosts each target went through).
      const request = { ...meta.request, keyFamilies: meta.request.families, ...(typeof scan.request === 'function' ? scan.request() : scan.request) }
      const recorded = await recordScan(
        store,
        { startedAt: meta.startedAt, finishedAt: meta.finishedAt, vantage: scan.vantage, request },
        kept.handOver(),
        {
          additionalFindings: dnsFindings,
          ...(scan.unreachableAfter ? { unreachable: { unreachableAfter: scan.unreachableAfter } } : {}),
          ...(scan.certWarnDays !== undefined ? { certWarnDays: scan.certWarnDays } : {}),
          ...(scan.policy ? { policy: scan.policy } : {}),
          ...(scan.knownBadKeys ? { knownBadKeys: scan.knownBadKeys } : {}),
          ...(scan.write ? { write: scan.write } : {}),
        },
      )
      return recorded.findings
    },
  }
}

/** Judges the scan by itself (`--no-store`): weak keys, keys shared within it and certificates (but not
 * their CA's trust, which the history keeps), plus SSHFP. */
export function standaloneJudge(options: { certWarnDays?: number; policy?: AlgorithmPolicy | null; knownBadKeys?: KnownBadKeys } = {}): ScanJudge {
  const judgement = new StandaloneJudgement(options)
  const knownBad = options.knownBadKeys ?? null
  return {
    observe: (observation) => judgement.observe(observation),
    finish: async (_meta, dnsFindings) => [...judgement.findings(), ...(await judgement.knownBadKeyFindings(knownBad?.blocklistFile ?? null)), ...dnsFindings].sort(compareFindings),
  }
}
