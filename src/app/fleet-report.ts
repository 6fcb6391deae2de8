import { renderFleetReportHtml } from '../report/fleet-report-html.js'
import { summarizeFleet } from '../analysis/fleet-summary.js'
import type { FleetSummary } from '../domain/fleet.js'
import type { Store } from '../store/store.js'

/* `hostkeys report`: the fleet's state as one HTML page, in memory; the command writes it. */

export interface FleetReport {
  readonly html: string
  readonly summary: FleetSummary
}

/** The report for the history in `store`, as of `now`. */
export async function buildFleetReport(store: Store, now: Date): Promise<FleetReport> {
  const summary = summarizeFleet(await store.fleetSnapshot(), now)
  return { html: renderFleetReportHtml(summary), summary }
}
