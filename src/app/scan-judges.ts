import { StandaloneJudgement } from '../analysis/judge-without-history.js'
import type { Observation } from '../domain/observation.js'
import type { Store } from '../store/store.js'
import { recordScan } from './record-scan.js'
import type { ScanJudge, ScanMeta } from './scan-fleet.js'

/** Judges against the history and records the scan in it, in one transaction at the end. */
export function historyJudge(store: Store, scan: { vantage: string; request: Record<string, unknown> }): ScanJudge {
  const observations: Observation[] = []
  return {
    observe: (observation) => observations.push(observation),
    async finish(meta: ScanMeta, dnsFindings) {
      const request = { ...meta.request, keyFamilies: meta.request.families, ...scan.request }
      const recorded = await recordScan(
        store,
        { startedAt: meta.startedAt, finishedAt: meta.finishedAt, vantage: scan.vantage, request },
        observations,
        { additionalFindings: dnsFindings },
      )
      return recorded.findings
    },
  }
}

/** Judges the scan by itself (`--no-store`): weak keys and keys shared within it, plus SSHFP. */
export function standaloneJudge(): ScanJudge {
  const judgement = new StandaloneJudgement()
  return {
    observe: (observation) => judgement.observe(observation),
    finish: async (_meta, dnsFindings) => [...judgement.findings(), ...dnsFindings],
  }
}
