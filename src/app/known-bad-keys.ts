import { BAD_KEY_CHECKS_VERSION, checkQuietly, rsaModulus } from '../analysis/bad-keys.js'
import { sharedFactors } from '../analysis/batch-gcd.js'
import { openBlocklist, type Blocklist } from '../analysis/blocklist.js'
import { blocklistVerdict, compromisedKeyFinding, sharedPrimeVerdict, type KeyVerdict } from '../analysis/compromised-keys.js'
import { UserError } from '../domain/errors.js'
import type { Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import type { StoredModulus, VerdictWrite } from '../store/key-verdicts.js'
import type { RecordingSession } from '../store/store.js'

/* Known-bad keys in a scan (README "Known-bad keys"). Each key is judged once and its verdict kept with
 * it in the history (keys.compromised): the per-key checks when a key is first served (or the checks
 * gain a version), the blocklist (`--blocklist`) for keys not already known bad, and at the end of the
 * scan the batch GCD of every RSA modulus not yet compared against every one the history has ever
 * held. A nightly scan of an unchanged fleet only reads verdicts. A compromised key stays compromised:
 * compromised_key is raised while a host serves it. */

export class KnownBadKeys {
  /** Keys judged bad in this scan's chunks: their hosts were told there already. */
  private readonly flagged = new Set<Sha256Fingerprint>()

  private constructor(private readonly blocklist: Blocklist | null) {}

  /** With `--blocklist FILE`: the file is opened and validated now, before the first connection. */
  static async open(blocklistFile: string | null): Promise<KnownBadKeys> {
    if (blocklistFile === null) return new KnownBadKeys(null)
    try {
      return new KnownBadKeys(await openBlocklist(blocklistFile))
    } catch (e) {
      throw new UserError((e as Error).message, { cause: e })
    }
  }

  /** The `--blocklist` file, for a scan without a history to look keys up in. */
  get blocklistFile(): Blocklist | null {
    return this.blocklist
  }

  async close(): Promise<void> {
    await this.blocklist?.close()
  }

  /**
   * The verdict of every key these hosts serve that is known bad, checking the keys not checked yet.
   * `record` writes what was learnt; call it once the chunk's keys are stored.
   */
  async judgeChunk(session: RecordingSession, hosts: readonly ScannedHost[]): Promise<{ bad: Map<Sha256Fingerprint, KeyVerdict>; record: () => Promise<void> }> {
    const keys = new Map<Sha256Fingerprint, { type: KeyType; blob: Buffer }>()
    for (const host of hosts) for (const key of host.keys) keys.set(key.sha256, key)
    const bad = new Map<Sha256Fingerprint, KeyVerdict>()
    const writes: VerdictWrite[] = []
    if (keys.size === 0) return { bad, record: async () => {} }
    const stored = await session.keyVerdicts([...keys.keys()])
    for (const [sha256, key] of keys) {
      const known = stored.get(sha256)
      if (known?.compromised) {
        bad.set(sha256, { check: known.compromised, detail: known.detail ?? '' })
        continue
      }
      if (known && known.checksVersion >= BAD_KEY_CHECKS_VERSION) continue
      const verdict = checkQuietly(key)
      if (verdict) bad.set(sha256, verdict)
      writes.push({ sha256, checksVersion: BAD_KEY_CHECKS_VERSION, compromised: verdict?.check ?? null, detail: verdict?.detail ?? null })
    }
    if (this.blocklist) {
      for (const [sha256, key] of keys) {
        if (bad.has(sha256)) continue
        const hit = await this.blocklist.lookup(key)
        if (!hit) continue
        const verdict = blocklistVerdict(this.blocklist.path, hit)
        bad.set(sha256, verdict)
        writes.push({ sha256, checksVersion: null, compromised: verdict.check, detail: verdict.detail })
      }
    }
    for (const sha256 of bad.keys()) this.flagged.add(sha256)
    return { bad, record: () => (writes.length > 0 ? session.writeKeyVerdicts(writes) : Promise.resolve()) }
  }

  /**
   * After a scan's keys are stored: compares every RSA modulus not compared yet with each other and
   * with every one compared before (batch GCD), records the keys that share a prime, and returns
   * compromised_key for each host serving one now. Costs nothing when no RSA key is new.
   */
  async sharedPrimes(session: RecordingSession): Promise<Finding[]> {
    const pending = await session.pendingModuli()
    if (pending.length === 0) return []
    const known: StoredModulus[] = []
    for await (const batch of session.checkedModuli()) known.push(...batch)
    const modulus = (m: StoredModulus) => rsaModulus(m.blob)
    const knownModuli = known.map(modulus)
    const result = sharedFactors(knownModuli, pending.map(modulus))
    const writes = new Map<Sha256Fingerprint, VerdictWrite>()
    const types = new Map<Sha256Fingerprint, KeyType>()
    for (const hit of result.hits) {
      const key = pending[hit.fresh]!
      const partners = hit.sharesWith.map((ref) => (ref.set === 'known' ? known[ref.index]! : pending[ref.index]!))
      const { detail } = sharedPrimeVerdict(partners.map((p) => p.sha256), hit.split ? 'both are factored' : 'factored together')
      writes.set(key.sha256, { sha256: key.sha256, checksVersion: null, compromised: 'shared-prime', detail })
      types.set(key.sha256, 'ssh-rsa')
      for (const partner of partners) {
        if (writes.has(partner.sha256)) continue
        writes.set(partner.sha256, { sha256: partner.sha256, checksVersion: null, compromised: 'shared-prime', detail: sharedPrimeVerdict([key.sha256]).detail })
        types.set(partner.sha256, 'ssh-rsa')
      }
    }
    if (writes.size > 0) await session.writeKeyVerdicts([...writes.values()])
    await session.markGcdChecked(pending.map((m) => m.id))
    if (writes.size === 0) return []
    const findings: Finding[] = []
    for (const [sha256, hosts] of await session.hostsServing([...writes.keys()].filter((k) => !this.flagged.has(k)))) {
      const write = writes.get(sha256)!
      for (const host of hosts) findings.push(compromisedKeyFinding(host, { type: types.get(sha256)!, sha256 }, { check: write.compromised!, detail: write.detail! }, hosts))
    }
    return findings
  }
}
