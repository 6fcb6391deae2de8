import { StandaloneJudgement } from '../analysis/judge-without-history.js'
import { ObservationKeeper, type KeptObservation } from '../analysis/scanned-host.js'
import type { Store } from '../store/store.js'
import { recordScan } from './record-scan.js'
import type { ScanJudge, ScanMeta } from './scan-fleet.js'

/** Hands a list over one item at a time, dropping each from the list once taken: what the recorder
 * has consumed can be collected while it works through the rest. */
function* handOver<T>(list: (T | undefined)[]): Generator<T> {
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as T
    list[i] = undefined
    yield item
  }
  list.length = 0
}

/**
 * Judges against the history and records the scan in it, in one transaction at the end. Until then it
 * keeps each observation packed (ObservationKeeper: ~0.6 KB a host instead of ~5 KB), so a 100,000-host
 * scan holds tens of megabytes, not half a gigabyte.
 */
export function historyJudge(store: Store, scan: { vantage: string; request: Record<string, unknown> }): ScanJudge {
  const keeper = new ObservationKeeper()
  const kept: (KeptObservation | undefined)[] = []
  return {
    observe: (observation) => kept.push(keeper.keep(observation)),
    async finish(meta: ScanMeta, dnsFindings) {
      const request = { ...meta.request, keyFamilies: meta.request.families, ...scan.request }
      const recorded = await recordScan(
        store,
        { startedAt: meta.startedAt, finishedAt: meta.finishedAt, vantage: scan.vantage, request },
        handOver(kept),
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
