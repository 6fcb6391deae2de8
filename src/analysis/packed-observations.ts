import type { HostCertificate } from '../domain/certificate.js'
import { familyOfType, KEY_TYPES, type HostKey, type KeyFamily, type KeyType, type Sha256Fingerprint } from '../domain/host-key.js'
import type { HostStatus, Observation, OfferedAlgorithms } from '../domain/observation.js'
import type { ScannedKey } from '../domain/scanned-host.js'
import { digestOfSha256, sha256FromDigest } from '../domain/fingerprint/digest-forms.js'

/* Memory, and nothing else: how a 100,000-host scan holds its observations until it is recorded.
 *
 * kept observation : what the history needs of one observation. A HostKey carries its blob plus four
 *                    fingerprint strings (~1.7 KB a key in V8); a kept observation packs every key of
 *                    the host into one buffer of type, bits, SHA-256 digest and blob (~0.5 KB for
 *                    ed25519 + ecdsa + rsa-2048), and drops what only the live output shows (offered
 *                    algorithms, timings).
 * slab             : packed keys go into large buffers of their own. A small Buffer from Node's shared
 *                    8 KB pool would pin the whole pool slab, garbage included (~2.4 KB a host instead
 *                    of ~0.5 KB). One allocator, Slabs, serves both holders below. */

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
  /** Interned: a fleet shares a handful of configurations. */
  readonly offered: OfferedAlgorithms | null
  readonly aliases: readonly string[]
  /** Per key: u8 index in KEY_TYPES, u16 bits, 32-byte SHA-256 digest, u32 length, blob. */
  readonly keys: Buffer
  /** The certificates served for some of those keys, by key; null when none was (the common case). */
  readonly certificates: CertificatesByKey
}

/** Certificates are kept as parsed: a fleet that has them has one per key, and parsing again would
 * verify every signature again. */
export type CertificatesByKey = ReadonlyMap<Sha256Fingerprint, HostCertificate> | null

function certificatesOf(keys: readonly HostKey[]): CertificatesByKey {
  let out: Map<Sha256Fingerprint, HostCertificate> | null = null
  for (const key of keys) if (key.certificate) (out ??= new Map()).set(key.sha256, key.certificate)
  return out
}

const NO_NAMES: readonly string[] = Object.freeze([])
const NO_FAMILIES: readonly KeyFamily[] = Object.freeze([])
const KEY_HEADER = 1 + 2 + 32 + 4
const SLAB_BYTES = 1 << 20

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

/** Interns server configurations: 100,000 hosts of a handful of configurations hold a handful of
 * objects. Bounded like StringInterner. */
export class OfferedInterner {
  private readonly known = new Map<string, OfferedAlgorithms>()
  constructor(private readonly limit = 10_000) {}

  intern(offered: OfferedAlgorithms | null): OfferedAlgorithms | null {
    if (offered === null) return null
    const key = [offered.kex, offered.serverHostKey, offered.ciphers.clientToServer, offered.ciphers.serverToClient, offered.macs.clientToServer, offered.macs.serverToClient, offered.compression.clientToServer, offered.compression.serverToClient]
      .map((list) => list.join(','))
      .join(';')
    const found = this.known.get(key)
    if (found) return found
    if (this.known.size < this.limit) this.known.set(key, offered)
    return offered
  }
}

/** A place in the slabs: slab index, start and end. */
type Place = readonly [slab: number, start: number, end: number]

/** Bump allocation in large buffers; a holder that consumes in order releases what it has passed. */
class Slabs {
  private slabs: (Buffer | undefined)[] = []
  private used = 0

  constructor(private readonly slabSize: number) {}

  /** Packs `keys` into the slabs and says where. */
  pack(keys: readonly HostKey[]): Place {
    const size = packedSize(keys)
    let slab = this.slabs[this.slabs.length - 1]
    if (!slab || slab.length - this.used < size) {
      slab = Buffer.allocUnsafeSlow(Math.max(this.slabSize, size))
      this.slabs.push(slab)
      this.used = 0
    }
    const start = this.used
    this.used = packKeys(keys, slab, start)
    return [this.slabs.length - 1, start, this.used]
  }

  view([slab, start, end]: Place): Buffer {
    return this.slabs[slab]!.subarray(start, end)
  }

  /** Drops the slabs before `slab`: nothing will be read from them again. */
  releaseBefore(slab: number): void {
    if (slab > 0) this.slabs[slab - 1] = undefined
  }

  clear(): void {
    this.slabs = []
    this.used = 0
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

/** The keys of a kept observation; blobs are views into the packed buffer. */
export function keptKeys(kept: KeptObservation): ScannedKey[] {
  const out: ScannedKey[] = []
  const buffer = kept.keys
  let at = 0
  while (at < buffer.length) {
    const type: KeyType = KEY_TYPES[buffer.readUInt8(at)]!
    const bits = buffer.readUInt16BE(at + 1)
    const sha256 = sha256FromDigest(buffer.subarray(at + 3, at + 35))
    const length = buffer.readUInt32BE(at + 35)
    const blob = buffer.subarray(at + KEY_HEADER, at + KEY_HEADER + length)
    at += KEY_HEADER + length
    const certificate = kept.certificates?.get(sha256)
    out.push(certificate ? { type, family: familyOfType(type), bits, blob, sha256, certificate } : { type, family: familyOfType(type), bits, blob, sha256 })
  }
  return out
}

/** Packs observations one at a time (a chunk being merged). */
export class ObservationKeeper {
  private readonly interner = new StringInterner()
  private readonly configurations = new OfferedInterner()
  private readonly slabs: Slabs

  constructor(slabSize = SLAB_BYTES) {
    this.slabs = new Slabs(slabSize)
  }

  keep(o: Observation): KeptObservation {
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
      offered: this.configurations.intern(o.offered),
      aliases: o.target.aliases.length > 0 ? o.target.aliases : NO_NAMES,
      keys: this.slabs.view(this.slabs.pack(o.keys)),
      certificates: certificatesOf(o.keys),
    }
  }
}

/**
 * A whole scan's observations, kept in columns until it ends, then handed over one at a time. A
 * KeptObservation object and the Buffer view of its keys cost ~200 bytes of heap a host; columns cost
 * ~80, and what the heap holds counts several times over: V8 lets the old generation grow to ~4x the
 * live heap before a full GC while the process waits on the database. On a 100,000-host rescan that
 * took peak RSS from ~300 to ~256 MB (bench/store.ts).
 */
export class KeptScan {
  private readonly interner = new StringInterner()
  private readonly configurations = new OfferedInterner()
  private readonly slabs = new Slabs(SLAB_BYTES)
  private hosts: (string | undefined)[] = []
  /** The address connected to (Observation.address). */
  private addresses: (string | null)[] = []
  /** The target's address as the inventory gave it; null when it is the host itself. */
  private targetAddresses: (string | null)[] = []
  private banners: (string | null)[] = []
  private offered: (OfferedAlgorithms | null)[] = []
  private ports: number[] = []
  /** Null for an observation with status ok and no error, the common case. */
  private failures: ({ readonly status: HostStatus; readonly error: string | null; readonly failedFamilies: readonly KeyFamily[] } | null)[] = []
  private aliases: (readonly string[])[] = []
  /** Per observation: slab index, start and end of its packed keys. */
  private keyPlaces: number[] = []
  private certificates: CertificatesByKey[] = []

  get size(): number {
    return this.hosts.length
  }

  keep(o: Observation): void {
    this.keyPlaces.push(...this.slabs.pack(o.keys))
    this.hosts.push(o.target.host)
    this.addresses.push(o.address)
    this.targetAddresses.push(o.target.address === o.target.host ? null : o.target.address)
    this.banners.push(this.interner.intern(o.banner))
    this.offered.push(this.configurations.intern(o.offered))
    this.ports.push(o.target.port)
    this.failures.push(
      o.status === 'ok' && o.error === null
        ? null
        : { status: o.status, error: this.interner.intern(o.error), failedFamilies: o.failedFamilies },
    )
    this.aliases.push(o.target.aliases.length > 0 ? o.target.aliases : NO_NAMES)
    this.certificates.push(certificatesOf(o.keys))
  }

  /** Hands the observations over in the order kept, dropping each from the columns once taken (and
   * each slab once passed), so what the recorder has consumed can be collected while it works. */
  *handOver(): Generator<KeptObservation> {
    for (let i = 0; i < this.hosts.length; i++) {
      const place: Place = [this.keyPlaces[3 * i]!, this.keyPlaces[3 * i + 1]!, this.keyPlaces[3 * i + 2]!]
      const keys = this.slabs.view(place)
      this.slabs.releaseBefore(place[0])
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
        offered: this.offered[i]!,
        aliases: this.aliases[i]!,
        keys,
        certificates: this.certificates[i]!,
      }
      this.hosts[i] = undefined
      this.addresses[i] = null
      this.targetAddresses[i] = null
      this.failures[i] = null
      this.offered[i] = null
      this.aliases[i] = NO_NAMES
      this.certificates[i] = null
      yield observation
    }
    this.slabs.clear()
    this.hosts = []
    this.addresses = []
    this.targetAddresses = []
    this.banners = []
    this.offered = []
    this.ports = []
    this.failures = []
    this.aliases = []
    this.keyPlaces = []
    this.certificates = []
  }
}
