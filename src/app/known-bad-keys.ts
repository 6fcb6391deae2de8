import { BAD_KEY_CHECKS_VERSION, checkAllQuietly, rsaModulus } from '../analysis/bad-keys.js'
import { sharedFactors, type SharedFactorsResult } from '../analysis/batch-gcd.js'
import { openBlocklist, type Blocklist } from '../analysis/blocklist.js'
import { blocklistVerdict, compromisedKeyFinding, sharedPrimeVerdict, type KeyVerdict } from '../analysis/compromised-keys.js'
import { OperationalError, UserError } from '../domain/errors.js'
import { findingIdentity, reconcileFindings } from '../analysis/finding-lifecycle.js'
import type { Finding } from '../domain/finding.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import type { ScannedHost } from '../domain/scanned-host.js'
import type { StoredModulus, VerdictWrite } from '../store/key-verdicts.js'
import type { RecordingSession, SharedPrimeSession, Store } from '../store/store.js'

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
   * `verdicts` is what was learnt, for the chunk's writeHosts to store with its keys.
   */
  async judgeChunk(session: RecordingSession, hosts: readonly ScannedHost[]): Promise<{ bad: Map<Sha256Fingerprint, KeyVerdict>; verdicts: VerdictWrite[] }> {
    const keys = new Map<Sha256Fingerprint, { type: KeyType; blob: Buffer }>()
    for (const host of hosts) for (const key of host.keys) keys.set(key.sha256, key)
    const bad = new Map<Sha256Fingerprint, KeyVerdict>()
    const writes: VerdictWrite[] = []
    if (keys.size === 0) return { bad, verdicts: writes }
    const stored = await session.keyVerdicts([...keys.keys()])
    const unchecked: Sha256Fingerprint[] = []
    for (const [sha256] of keys) {
      const known = stored.get(sha256)
      if (known?.compromised) bad.set(sha256, { check: known.compromised, detail: known.detail ?? '' })
      else if (!known || known.checksVersion < BAD_KEY_CHECKS_VERSION) unchecked.push(sha256)
    }
    const verdicts = checkAllQuietly(unchecked.map((sha256) => keys.get(sha256)!))
    for (const [i, sha256] of unchecked.entries()) {
      const verdict = verdicts[i]!
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
    return { bad, verdicts: writes }
  }

  /**
   * The shared-prime check, once the scan (scanId) is recorded: every RSA modulus batch GCD has not
   * compared yet against each other and every one it has, read and computed outside any transaction
   * and without the recording lock; then, in one short transaction under that lock, the keys that share
   * a prime get their verdict, every key compared is marked so, and each host serving a bad one now
   * gets compromised_key, written as the scan's. Costs one query when no RSA key is new.
   *
   * One check runs at a time (Store.sharedPrimeClaim): one that waited for another scan's also tells
   * the hosts of this scan whose keys that one found bad, as it would have. A failure leaves the keys
   * pending for the next scan and throws SharedPrimeCheckFailed. `write` wraps the transaction (the
   * CLI makes it a critical section); what it throws passes through as is.
   */
  async sharedPrimes(store: Store, scan: { scanId: number; at: Date }, write: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<Finding[]> {
    let pending: number | null = null
    const failed = (e: unknown) => (e instanceof SharedPrimeCheckFailed ? e : new SharedPrimeCheckFailed(scan.scanId, pending, e))
    const written: { findings: Finding[] } = { findings: [] }
    try {
      await store.sharedPrimeClaim(async (waited) => {
        const moduli = await store.rsaModuli()
        pending = moduli.pending.length
        if (pending === 0 && !waited) return
        const modulus = (m: StoredModulus) => rsaModulus(m.blob)
        const result = sharedFactors(moduli.known.map(modulus), moduli.pending.map(modulus))
        // The batch GCD holds this thread: a signal that came meanwhile is seen before anything is written.
        await new Promise((resolve) => setImmediate(resolve))
        await write(async () => {
          try {
            written.findings = await store.recordSharedPrimes((session) => this.recordHits(session, scan, moduli, result, waited))
          } catch (e) {
            throw failed(e)
          }
        }).catch((e: unknown) => Promise.reject(new PassThrough(e)))
      })
    } catch (e) {
      if (e instanceof PassThrough) throw e.error
      throw failed(e)
    }
    return written.findings
  }

  private async recordHits(
    session: SharedPrimeSession,
    scan: { scanId: number; at: Date },
    { pending, known }: { pending: readonly StoredModulus[]; known: readonly StoredModulus[] },
    result: SharedFactorsResult,
    waited: boolean,
  ): Promise<Finding[]> {
    const still = await session.stillPending(pending.map((m) => m.id))
    const writes = new Map<Sha256Fingerprint, VerdictWrite>()
    for (const hit of result.hits) {
      const key = pending[hit.fresh]!
      // Compared meanwhile by another scan's check, which wrote what it shares.
      if (!still.has(key.id)) continue
      const partners = hit.sharesWith.map((ref) => (ref.set === 'known' ? known[ref.index]! : pending[ref.index]!))
      const { detail } = sharedPrimeVerdict(partners.map((p) => p.sha256), hit.split ? 'both are factored' : 'factored together')
      writes.set(key.sha256, { sha256: key.sha256, checksVersion: null, compromised: 'shared-prime', detail })
      for (const partner of partners) {
        if (writes.has(partner.sha256)) continue
        writes.set(partner.sha256, { sha256: partner.sha256, checksVersion: null, compromised: 'shared-prime', detail: sharedPrimeVerdict([key.sha256]).detail })
      }
    }
    if (writes.size > 0) await session.writeKeyVerdicts([...writes.values()])
    if (still.size > 0) await session.markGcdChecked([...still])
    const bad = new Map<Sha256Fingerprint, KeyVerdict>()
    for (const [sha256, write] of writes) bad.set(sha256, { check: write.compromised!, detail: write.detail! })
    // Another scan's check that ran first may have compared this scan's keys and told their hosts as its own.
    if (waited) for (const [sha256, verdict] of await session.sharedPrimeKeysSeenBy(scan.scanId)) if (!bad.has(sha256)) bad.set(sha256, verdict)
    for (const sha256 of this.flagged) bad.delete(sha256) // this scan's chunks told their hosts already
    if (bad.size === 0) return []
    const raised: Finding[] = []
    for (const [sha256, hosts] of await session.hostsServing([...bad.keys()])) {
      for (const host of hosts) raised.push(compromisedKeyFinding(host, { type: 'ssh-rsa', sha256 }, bad.get(sha256)!, hosts))
    }
    // Against the live findings these name (a key bad since an earlier scan is told again, as at any
    // scan); no host is in the scope, so nothing is resolved.
    const plan = reconcileFindings(await session.liveFindings(raised.map(findingIdentity)), raised, { reachedHosts: new Set(), askedFamilies: new Set() })
    await session.writeFindings(scan.scanId, scan.at, plan)
    return [...plan.report]
  }
}

/** What `write` threw (an interruption): passed through sharedPrimes untouched. */
class PassThrough {
  constructor(readonly error: unknown) {}
}

/** The shared-prime check failed after its scan was recorded: the scan stands, its RSA keys stay
 * pending, and the next scan's check compares them. */
export class SharedPrimeCheckFailed extends OperationalError {
  override name = 'SharedPrimeCheckFailed'
  constructor(
    readonly scanId: number,
    /** How many keys it was comparing, when it had read them. */
    readonly pending: number | null,
    cause: unknown,
  ) {
    const keys = pending === null ? 'the RSA keys not compared yet stay' : `the ${pending} RSA key(s) it was comparing stay`
    super(
      `the scan was recorded (scan ${scanId}), but not its shared-prime check: ${(cause as Error)?.message ?? String(cause)}; ` +
        `${keys} pending, and the next scan compares them (hostkeys findings --open lists the scan's findings)`,
      { cause },
    )
  }
}
