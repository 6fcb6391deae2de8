import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { startDemoFleet } from '../ssh/demo-fleet.js'
import type { Finding } from '../domain/finding.js'
import type { Observation } from '../domain/observation.js'
import { hostIdentity, type Target } from '../domain/target.js'
import { expectedRecords } from '../domain/fingerprint/sshfp-record.js'
import { digestOfSha256 } from '../domain/fingerprint/digest-forms.js'
import { describeKey } from '../domain/fingerprint/key-blob.js'
import type { Inventory } from '../inventory/inventory.js'
import { renderSshfpZone } from '../report/sshfp-zone.js'
import { openStore } from '../store/open-store.js'
import { DEFAULT_UNREACHABLE_AFTER } from '../analysis/host-findings.js'
import { runScan } from './run-scan.js'
import type { ScanOutcome } from './scan-fleet.js'
import { resolveScanSettings } from './scan-settings.js'
import type { KeyRecord } from '../domain/history.js'

/* `hostkeys demo`: a newcomer's first look, with nothing to set up. A throwaway fleet inside this
 * process on 127.77.0.x (hosts with their own keys, two clones of one template), a temporary
 * embedded database, two scans with one host rebuilt in between, then a lookup and SSHFP lines.
 * Everything is removed at the end, whatever happens. */

export type DemoEvent =
  | { readonly kind: 'fleet'; readonly hosts: readonly string[]; readonly database: string }
  | { readonly kind: 'scan'; readonly title: string; readonly observations: readonly Observation[]; readonly outcome: ScanOutcome }
  | { readonly kind: 'rebuilt'; readonly host: string }
  | { readonly kind: 'lookup'; readonly query: string; readonly matches: readonly KeyRecord[] }
  | { readonly kind: 'sshfp'; readonly host: string; readonly zone: string }

const OWN = ['web1.demo.test', 'web2.demo.test', 'db1.demo.test']
const CLONES = ['app1.demo.test', 'app2.demo.test']
const REBUILT = 'db1.demo.test'

export async function runDemo(report: (event: DemoEvent) => void): Promise<void> {
  const fleet = await startDemoFleet({ own: OWN, clones: CLONES })
  const directory = await mkdtemp(join(tmpdir(), 'hostkeys-demo-'))
  try {
    const store = await openStore({ db: directory, bulk: true })
    try {
      const identities = fleet.hosts.map((h) => hostIdentity(h.name, fleet.port))
      report({ kind: 'fleet', hosts: identities, database: directory })
      const targets: Target[] = fleet.hosts.map((h) => ({
        host: hostIdentity(h.name, fleet.port),
        address: h.address,
        port: fleet.port,
        aliases: [],
        source: 'demo',
      }))
      const inventory: Inventory = {
        size: targets.length,
        async *targets() {
          yield* targets
        },
      }
      // The same use case as `hostkeys scan`, over the demo's own fleet and store.
      const settings = resolveScanSettings(
        { specs: [], port: fleet.port, timeout: 5, concurrency: 32, store: true, dns: false, vantage: 'hostkeys-demo', unreachableAfter: DEFAULT_UNREACHABLE_AFTER },
        {},
      )
      const scanOnce = async (title: string) => {
        const observations: Observation[] = []
        const outcome = await runScan(settings, {
          stdin: Readable.from([]),
          env: {},
          inventory,
          store,
          events: { observation: (o) => observations.push(o) },
        })
        report({ kind: 'scan', title, observations, outcome })
        return outcome
      }

      await scanOnce('first scan: every host is new, and the two clones share their keys')
      await fleet.rebuild(REBUILT)
      report({ kind: 'rebuilt', host: hostIdentity(REBUILT, fleet.port) })
      const second = await scanOnce(`second scan, after ${REBUILT} was rebuilt with new keys`)

      const cloneKey = second.findings.find((f: Finding) => f.kind === 'duplicate_key')?.fingerprint
      if (cloneKey) {
        const digest = digestOfSha256(cloneKey)
        report({ kind: 'lookup', query: cloneKey, matches: await store.lookupKey({ kind: 'sha256', digest }) })
      }

      const web1 = hostIdentity(OWN[0]!, fleet.port)
      const keys = (await store.trustedKeys()).filter((k) => k.host === web1).map((k) => describeKey(k.blob))
      report({ kind: 'sshfp', host: OWN[0]!, zone: renderSshfpZone([{ host: OWN[0]!, records: expectedRecords(keys) }]) })
    } finally {
      await store.close()
    }
  } finally {
    await fleet.close()
    await rm(directory, { recursive: true, force: true })
  }
}
