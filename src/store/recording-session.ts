import { sql, type Transaction } from 'kysely'
import type { Sha256Fingerprint } from '../domain/host-key.js'
import { sha256DigestBase64, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'
import { batches } from './batches.js'
import { loadCertAuthorities } from './cert-authorities.js'
import { ConfigIds, earlierConfigs, loadConfigs } from './config-writer.js'
import { loadKeyVerdicts, type StoredVerdict } from './key-verdicts.js'
import { hasCertificates, loadLastCertificates, writeCertificates } from './certificate-writer.js'
import { hashedEntryAdopter } from './hashed-adoption.js'
import { absorbHost, addressHostsOf, loadStoredHosts, renameHost, resolveHostIds } from './host-identity.js'
import { bindKeyStatements, hasKeyStatements, loadClaimedStatements } from './key-statements.js'
import { loadSharedKeys, loadLiveFindings, writeFindings, writesMostOfFleet } from './scan-findings.js'
import { scanHostCounts, scannedHosts, writeScannedHosts } from './scan-hosts.js'
import type { Database } from './schema.js'
import { loadShareGroups } from './store-reads.js'
import type { RecordingSession, ScanMeta } from './store.js'

/* A scan's reads and writes, inside the one transaction Store.recording holds: the scan's own row,
 * and the host, sighting and finding work of scan-hosts.ts, sighting-writer.ts, scan-findings.ts and
 * hashed-adoption.ts. Every statement is batched, so a chunk of hosts costs a fixed number of round
 * trips whatever its size. */

/** Hosts a scan must add, and outnumber the hosts it already knew, before it refreshes the planner's
 * statistics itself (see finishScan). */
const ANALYZE_AFTER_NEW_HOSTS = 1_000

/** New hosts a scan writes before it refreshes the statistics mid-scan, doubling each time after. */
const ANALYZE_MID_SCAN_FIRST = 20_000

export function createRecordingSession(tx: Transaction<Database>): RecordingSession {
  let revokedCount: number | null = null
  /** Whether the history holds any certificate; asked once (a scan's own writes set it). */
  let anyCertificates: boolean | null = null
  let newHosts = 0
  let knownHosts = 0
  let analyzeAt = ANALYZE_MID_SCAN_FIRST
  const configIds = new ConfigIds(tx)
  /** Whether any key statement is in force; asked once (a scan writes none). */
  let anyStatements: boolean | null = null
  /** Verdicts of the keys loadHosts read for the chunk being judged, until its writeHosts: a
   * rescan's known-bad-key checks need no lookup of their own for the keys its hosts already had
   * (7.5 s of a 100,000-host rescan on the embedded store). */
  const loadedVerdicts = new Map<Sha256Fingerprint, StoredVerdict>()

  return {
    async insertScan(meta: ScanMeta): Promise<number> {
      const row = await tx
        .insertInto('scans')
        .values({
          started_at: meta.startedAt,
          finished_at: meta.finishedAt,
          vantage: meta.vantage,
          request: JSON.stringify(meta.request),
          hosts_asked: 0,
          hosts_reached: 0,
          keys_seen: 0,
          findings: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return row.id
    },

    adoptHashedEntries: hashedEntryAdopter(tx),

    resolveHosts: (claims) => resolveHostIds(tx, claims),

    loadHosts: (ids) => loadStoredHosts(tx, ids, loadedVerdicts),

    renameHost: (id, from, to, at) => renameHost(tx, id, from, to, at),

    addressHosts: (claims, chosen) => addressHostsOf(tx, claims, chosen),

    absorbHost: (from, into, at) => absorbHost(tx, from, into, at),

    async revokedKeys(fingerprints: readonly Sha256Fingerprint[]): Promise<Map<Sha256Fingerprint, string>> {
      const revoked = new Map<Sha256Fingerprint, string>()
      if (revokedCount === null) {
        const row = await sql<{ n: number }>`SELECT count(*)::int AS n FROM revoked_keys`.execute(tx)
        revokedCount = row.rows[0]!.n
      }
      if (revokedCount === 0) return revoked
      for (const batch of batches([...new Set(fingerprints)])) {
        const rows = await sql<{ sha256: Uint8Array; source: string }>`
          SELECT k.sha256, r.source FROM revoked_keys r JOIN keys k ON k.id = r.key_id
          WHERE k.sha256 = ANY(ARRAY(SELECT decode(d, 'base64') FROM unnest(${batch.map(sha256DigestBase64)}::text[]) AS v(d)))`.execute(tx)
        for (const row of rows.rows) revoked.set(sha256FromDigest(row.sha256), row.source)
      }
      return revoked
    },

    authorityTrust: () => loadCertAuthorities(tx),

    async activeWaivers(at) {
      const rows = await sql<{ kind: string; name: string }>`
        SELECT w.kind, h.name FROM waivers w JOIN hosts h ON h.id = w.host_id
        WHERE w.until IS NULL OR w.until > ${at}::timestamptz`.execute(tx)
      return new Set(rows.rows.map((r) => `${r.kind}|${r.name}`))
    },

    configIds: (configs, at) => configIds.idsOf(configs, at),
    loadConfigs: (ids) => loadConfigs(tx, ids),
    earlierConfigs: (pairs) => earlierConfigs(tx, pairs),
    async keyVerdicts(fingerprints) {
      const out = new Map<Sha256Fingerprint, StoredVerdict>()
      const unknown: Sha256Fingerprint[] = []
      for (const sha256 of fingerprints) {
        const loaded = loadedVerdicts.get(sha256)
        if (loaded) out.set(sha256, loaded)
        else unknown.push(sha256)
      }
      if (unknown.length > 0) for (const [sha256, verdict] of await loadKeyVerdicts(tx, unknown)) out.set(sha256, verdict)
      return out
    },

    async lastCertificates(hostIds) {
      if (hostIds.length === 0) return new Map()
      anyCertificates ??= await hasCertificates(tx)
      return anyCertificates ? loadLastCertificates(tx, hostIds) : new Map()
    },

    async writeCertificates(scanId, at, writes) {
      await writeCertificates(tx, scanId, at, writes)
      if (writes.some((w) => w.kind === 'served')) anyCertificates = true
    },

    async writeHosts(scanId, at, asked, writes, verdicts): Promise<Map<string, number>> {
      // The chunk is judged: what its hosts' keys were is not needed again, and may change now. A
      // scan of a million hosts holds one chunk's at a time.
      loadedVerdicts.clear()
      const written = await writeScannedHosts(tx, scanId, at, asked, writes, verdicts)
      newHosts += written.inserted
      knownHosts += written.updated
      // A first scan of a large fleet fills tables the planner still thinks empty, and its own next
      // chunks' lookups (resolveHosts' join on host_names) turned into parallel sequential scans,
      // 0.2-0.6 s a chunk at 400,000 hosts. Statistics refreshed as the tables double keep them
      // index lookups, for a few ANALYZEs (each samples at most 30,000 rows a table).
      if (newHosts >= analyzeAt) {
        analyzeAt = newHosts * 2
        await sql`ANALYZE hosts, host_names, keys, sightings`.execute(tx)
      }
      return written.ids
    },

    async keyStatements(claims) {
      anyStatements ??= await hasKeyStatements(tx)
      return anyStatements ? loadClaimedStatements(tx, claims) : { byClaim: claims.map(() => []), unbound: [] }
    },

    bindKeyStatements: (bindings, at) => bindKeyStatements(tx, bindings, at),

    scannedHosts: (scanId, names) => scannedHosts(tx, scanId, names),
    scanHostCounts: (scanId) => scanHostCounts(tx, scanId),

    loadSharedKeys: async (scanId) => loadSharedKeys(tx, scanId, await writesMostOfFleet(tx, newHosts + knownHosts)),

    loadShareGroups: () => loadShareGroups(tx),

    loadLiveFindings: (scanId) => loadLiveFindings(tx, scanId),

    writeFindings: (scanId, at, plan) => writeFindings(tx, scanId, at, plan),

    async finishScan(scanId, counts): Promise<void> {
      await tx
        .updateTable('scans')
        .set({
          hosts_asked: counts.hostsAsked,
          hosts_reached: counts.hostsReached,
          keys_seen: counts.keysSeen,
          findings: counts.findings,
        })
        .where('id', '=', scanId)
        .execute()
      // A scan that filled an empty or small history leaves tables the planner has no statistics for
      // until autovacuum gets to them (a minute later, or never on the embedded store): the next scan's
      // `host_id = ANY($1)` lookups and `FROM unnest(...)` updates then ran as sequential scans, ~250 ms
      // each per chunk, doubling a 100,000-host rescan. ANALYZE may run inside the transaction and
      // counts the rows it inserted; it samples at most 30,000 rows a table.
      if (newHosts >= ANALYZE_AFTER_NEW_HOSTS && newHosts > knownHosts) {
        await sql`ANALYZE hosts, host_names, keys, sightings, findings`.execute(tx)
      }
    },
  }
}
