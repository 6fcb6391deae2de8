import { familyOfType, KEY_TYPES, type HostKey, type KeyFamily, type KeyType, type Sha256Fingerprint } from '../domain/host-key.js'
import { isReached, type HostStatus, type Observation } from '../domain/observation.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'
import { digestOfSha256, sha256FromDigest } from '../fingerprint/digest-forms.js'

/* scanned host   : everything one scan saw of one identity, merged over its observations. A host that
 *                  answers on several addresses of its own (v4 and v6, two inventory lines) is one host:
 *                  its keys are the union, and it was reached if any address answered.
 * kept observation : what the history needs of one observation, small enough to hold 100,000 of until
 *                  the scan ends. A HostKey carries its blob plus four fingerprint strings (~1.7 KB
 *                  a key in V8); a kept observation packs every key of the host into one buffer of
 *                  type, bits, SHA-256 digest and blob (~0.5 KB for ed25519 + ecdsa + rsa-2048), and
 *                  drops what only the live output shows (offered algorithms, timings). */


export interface KeptObservation {
  readonly kind: 'kept'
  readonly host: string
  readonly status: HostStatus
  readonly error: string | null
  readonly failedFamilies: readonly KeyFamily[]
  /** The address connected to (Observation.address), null when resolution failed. */
  readonly address: string | null
  /** The target's address as the inventory gave it. */
  readonly targetAddress: string
  readonly port: number
  readonly banner: string | null
  readonly aliases: readonly string[]
  /** Per key: u8 index in KEY_TYPES, u16 bits, 32-byte SHA-256 digest, u32 length, blob. */
  readonly keys: Buffer
}

const NO_NAMES: readonly string[] = Object.freeze([])
const NO_FAMILIES: readonly KeyFamily[] = Object.freeze([])
const KEY_HEADER = 1 + 2 + 32 + 4

/**
 * Interns the strings a fleet repeats (banners, error texts): 100,000 hosts running the same
 * OpenSSH hold one string instead of 100,000 copies. Bounded, so a hostile fleet cannot grow it.
 */
export class StringInterner {
  private readonly strings = new Map<string, string>()
  constructor(private readonly limit = 10_000) {}

  intern(text: string | null): string | null {
    if (text === null) return null
    const known = this.strings.get(text)
    if (known !== undefined) return known
    if (this.strings.size < this.limit) this.strings.set(text, text)
    return text
  }
}

function packedSize(keys: readonly HostKey[]): number {
  let size = 0
  for (const k of keys) size += KEY_HEADER + k.blob.length
  return size
}

/** Writes keys as keptKeys reads them; returns the offset after them. */
function packKeys(keys: readonly HostKey[], into: Buffer, at: number): number {
  for (const k of keys) {
    at = into.writeUInt8(KEY_TYPES.indexOf(k.type), at)
    at = into.writeUInt16BE(k.bits, at)
    at += digestOfSha256(k.sha256).copy(into, at)
    at = into.writeUInt32BE(k.blob.length, at)
    at += k.blob.copy(into, at)
  }
  return at
}

/**
 * Keeps observations packed until the scan ends. The packed keys go into slabs of its own: a small
 * Buffer from Node's shared 8 KB pool would pin the whole slab, garbage included (the blob copies and
 * digests of the HostKeys it was packed from), ~2.4 KB a host instead of ~0.5 KB.
 */
export class ObservationKeeper {
  private readonly interner = new StringInterner()
  private slab: Buffer = Buffer.alloc(0)
  private used = 0

  constructor(private readonly slabSize = 1 << 20) {}

  private allocate(size: number): Buffer {
    if (this.slab.length - this.used < size) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.slabSize, size))
      this.used = 0
    }
    const out = this.slab.subarray(this.used, this.used + size)
    this.used += size
    return out
  }

  keep(o: Observation): KeptObservation {
    const keys = this.allocate(packedSize(o.keys))
    packKeys(o.keys, keys, 0)
    return {
      kind: 'kept',
      host: o.target.host,
      status: o.status,
      error: this.interner.intern(o.error),
      failedFamilies: o.failedFamilies,
      address: o.address,
      targetAddress: o.target.address,
      port: o.target.port,
      banner: this.interner.intern(o.banner),
      aliases: o.target.aliases.length > 0 ? o.target.aliases : NO_NAMES,
      keys,
    }
  }
}

const SLAB_BYTES = 1 << 20

/**
 * A whole scan's observations, kept in columns until it ends, then handed over one at a time. A
 * KeptObservation object and the Buffer view of its keys cost ~200 bytes of heap a host; columns cost
 * ~80, and what the heap holds counts several times over: V8 lets the old generation grow to ~4x the
 * live heap before a full GC while the process waits on the database. On a 100,000-host rescan that
 * took peak RSS from ~300 to ~256 MB (bench/store.ts).
 */
export class KeptScan {
  private readonly interner = new StringInterner()
  private slabs: (Buffer | undefined)[] = []
  private used = 0
  private hosts: (string | undefined)[] = []
  /** The address connected to (Observation.address). */
  private addresses: (string | null)[] = []
  /** The target's address as the inventory gave it; null when it is the host itself. */
  private targetAddresses: (string | null)[] = []
  private banners: (string | null)[] = []
  private ports: number[] = []
  /** Null for an observation with status ok and no error, the common case. */
  private failures: ({ readonly status: HostStatus; readonly error: string | null; readonly failedFamilies: readonly KeyFamily[] } | null)[] = []
  private aliases: (readonly string[])[] = []
  /** Per observation: slab index, start and end of its packed keys. */
  private keyPlaces: number[] = []

  get size(): number {
    return this.hosts.length
  }

  keep(o: Observation): void {
    const size = packedSize(o.keys)
    let slab = this.slabs[this.slabs.length - 1]
    if (!slab || slab.length - this.used < size) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size))
      this.slabs.push(slab)
      this.used = 0
    }
    const start = this.used
    this.used = packKeys(o.keys, slab, start)
    this.keyPlaces.push(this.slabs.length - 1, start, this.used)
    this.hosts.push(o.target.host)
    this.addresses.push(o.address)
    this.targetAddresses.push(o.target.address === o.target.host ? null : o.target.address)
    this.banners.push(this.interner.intern(o.banner))
    this.ports.push(o.target.port)
    this.failures.push(
      o.status === 'ok' && o.error === null
        ? null
        : { status: o.status, error: this.interner.intern(o.error), failedFamilies: o.failedFamilies },
    )
    this.aliases.push(o.target.aliases.length > 0 ? o.target.aliases : NO_NAMES)
  }

  /** Hands the observations over in the order kept, dropping each from the columns once taken (and
   * each slab once passed), so what the recorder has consumed can be collected while it works. */
  *handOver(): Generator<KeptObservation> {
    for (let i = 0; i < this.hosts.length; i++) {
      const slabIndex = this.keyPlaces[3 * i]!
      const keys = this.slabs[slabIndex]!.subarray(this.keyPlaces[3 * i + 1], this.keyPlaces[3 * i + 2])
      if (slabIndex > 0) this.slabs[slabIndex - 1] = undefined
      const host = this.hosts[i]!
      const failure = this.failures[i]
      const observation: KeptObservation = {
        kind: 'kept',
        host,
        status: failure ? failure.status : 'ok',
        error: failure ? failure.error : null,
        failedFamilies: failure ? failure.failedFamilies : NO_FAMILIES,
        address: this.addresses[i]!,
        targetAddress: this.targetAddresses[i] ?? host,
        port: this.ports[i]!,
        banner: this.banners[i]!,
        aliases: this.aliases[i]!,
        keys,
      }
      this.hosts[i] = undefined
      this.addresses[i] = null
      this.targetAddresses[i] = null
      this.failures[i] = null
      this.aliases[i] = NO_NAMES
      yield observation
    }
    this.slabs = []
    this.used = 0
    this.hosts = []
    this.addresses = []
    this.targetAddresses = []
    this.banners = []
    this.ports = []
    this.failures = []
    this.aliases = []
    this.keyPlaces = []
  }
}

/** The keys packed by ObservationKeeper; blobs are views into the packed buffer. */
export function keptKeys(kept: KeptObservation): ScannedKey[] {
  const out: ScannedKey[] = []
  const buffer = kept.keys
  let at = 0
  while (at < buffer.length) {
    const type: KeyType = KEY_TYPES[buffer.readUInt8(at)]!
    const bits = buffer.readUInt16BE(at + 1)
    const digest = buffer.subarray(at + 3, at + 35)
    const length = buffer.readUInt32BE(at + 35)
    const blob = buffer.subarray(at + KEY_HEADER, at + KEY_HEADER + length)
    at += KEY_HEADER + length
    const sha256 = sha256FromDigest(digest)
    out.push({ type, family: familyOfType(type), bits, blob, sha256 })
  }
  return out
}

function isKept(o: Observation | KeptObservation): o is KeptObservation {
  return 'kind' in o && o.kind === 'kept'
}

/** Groups a scan's observations (full or kept) by host identity, in first-seen order. */
export function mergeObservations(observations: Iterable<Observation | KeptObservation>): ScannedHost[] {
  const keeper = new ObservationKeeper(64 * 1024)
  const byHost = new Map<string, KeptObservation[]>()
  for (const observation of observations) {
    const o = isKept(observation) ? observation : keeper.keep(observation)
    const list = byHost.get(o.host)
    if (list) list.push(o)
    else byHost.set(o.host, [o])
  }
  const hosts: ScannedHost[] = []
  for (const [host, list] of byHost) {
    const answered = list.filter((o) => isReached(o.status))
    const complete = answered.filter((o) => o.status === 'ok')
    const main = complete[0] ?? answered[0] ?? list[0]!
    const keys = new Map<Sha256Fingerprint, ScannedKey>()
    for (const o of answered) for (const k of keptKeys(o)) if (!keys.has(k.sha256)) keys.set(k.sha256, k)
    // A family counts as failed only if no address that answered gave it completely.
    const failedFamilies = new Set<KeyFamily>(complete.length > 0 ? [] : answered.flatMap((o) => o.failedFamilies))
    const aliases = new Set<string>()
    const addresses = new Set<string>()
    for (const o of list) {
      for (const a of o.aliases) if (a !== host) aliases.add(a)
      if (o.targetAddress !== host) addresses.add(o.targetAddress)
      if (o.address && o.address !== host) addresses.add(o.address)
    }
    hosts.push({
      host,
      reached: answered.length > 0,
      status: main.status,
      failedFamilies,
      error: main.error,
      address: main.address ?? main.targetAddress,
      port: main.port,
      banner: main.banner,
      aliases: [...aliases],
      addresses: [...addresses],
      keys: [...keys.values()],
    })
  }
  return hosts
}

/** The families a scan asked for; null in a request means every family. */
export function askedFamilies(requested: readonly KeyFamily[] | null, all: readonly KeyFamily[]): ReadonlySet<KeyFamily> {
  return new Set(requested && requested.length > 0 ? requested : all)
}
