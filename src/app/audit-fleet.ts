import { auditFleet } from '../analysis/fleet-audit.js'
import { policyFindings, type AlgorithmPolicy } from '../analysis/policy.js'
import type { Finding } from '../domain/finding.js'
import type { FleetAudit } from '../domain/fleet-audit.js'
import { familyOfType } from '../domain/host-key.js'
import type { Store } from '../store/store.js'

/** `hostkeys audit`: the fleet as the history last saw it, and, with a policy, the hosts it refuses. */
export interface StoredFleetAudit {
  readonly audit: FleetAudit
  readonly policy: { readonly source: string; readonly violations: readonly Finding[] } | null
}

/** Audits every host whose configuration a scan recorded: its last banner and KEXINIT, its current keys. */
export async function auditStoredFleet(store: Store, policy: AlgorithmPolicy | null): Promise<StoredFleetAudit> {
  const hosts = await store.fleetConfigurations()
  const audit = auditFleet(hosts)
  if (!policy) return { audit, policy: null }
  const violations = hosts.flatMap((h) => policyFindings(h.host, h.offered, h.keys.map((k) => ({ ...k, family: familyOfType(k.type) })), policy))
  return { audit, policy: { source: policy.source, violations } }
}
