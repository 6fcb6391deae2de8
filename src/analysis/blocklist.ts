import { hash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import type { HostKey } from '../domain/host-key.js'
import { KeyBlobError, keyBlobReader } from '../domain/fingerprint/key-blob.js'
import { bigintFromBytes, bytesFromBigint } from './big-integer.js'

/* blocklist : badkeys' list of keys whose private keys are public (github.com/badkeys/badkeys,
 *             docs/BLOCKLISTFORMAT.md): `blocklist.dat`, sorted 16-byte records, each the first
 *             15 bytes of a key's BKHASH and a 1-byte list id. badkeys looks keys up by binary
 *             search (badkeys/allkeys/block.py); so do we, with positioned reads, never loading it.
 * BKHASH    : SHA-256 of one number of the public key, as minimal big-endian bytes (no leading zero
 *             byte; Python's `i.to_bytes((i.bit_length() + 7) // 8, 'big')` in blocklistmaker's
 *             hashnumber): RSA n, ECDSA x, DSA y, and for Ed25519 the 32 raw key bytes read as one
 *             big-endian number (badkeys checks.py; the format doc calls this a historical accident).
 * list id   : which collection the key comes from; names from blocklistmaker's
 *             template.badkeysdata.json. */

export const BLOCKLIST_RECORD_BYTES = 16
/** BKHASH120: the record's first 15 bytes. */
export const BLOCKLIST_DIGEST_BYTES = 15

/** badkeys' list ids (blocklistmaker template.badkeysdata.json), with what each collection holds. */
export const BADKEYS_LISTS: Readonly<Record<number, { readonly name: string; readonly description: string }>> = {
  1: { name: 'debianssl', description: 'Debian OpenSSL 2008 (CVE-2008-0166)' },
  2: { name: 'keypair', description: 'keypair JavaScript library (CVE-2021-41117)' },
  3: { name: 'ransomware', description: 'keys from ransomware' },
  4: { name: 'documentation', description: 'documentation examples' },
  5: { name: 'firmware', description: 'keys shipped in firmware' },
  6: { name: 'localhostcert', description: 'localhost certificates shipped with software' },
  7: { name: 'localroot', description: 'local root certificates shipped with software' },
  8: { name: 'misc', description: 'miscellaneous leaked keys' },
  9: { name: 'rfc', description: 'RFC examples' },
  10: { name: 'softwaretests', description: 'keys from software test suites' },
  11: { name: 'testvectors', description: 'test vectors' },
  12: { name: 'web', description: 'keys published on the web' },
  13: { name: 'git', description: 'keys published in git repositories' },
  99: { name: 'new', description: 'not yet published collection' },
}

/** A list id as people read it: `Debian OpenSSL 2008 (CVE-2008-0166)`, or `list 42` for an id we do not know. */
export function blocklistName(id: number): string {
  return BADKEYS_LISTS[id]?.description ?? `list ${id}`
}

/** Thrown when a file is not a blocklist in badkeys' format; the message names the file. */
export class BlocklistError extends Error {
  override name = 'BlocklistError'
}

export interface BlocklistHit {
  readonly listId: number
  /** blocklistName(listId). */
  readonly list: string
  /** The 15-byte BKHASH120 in lowercase hex, as badkeys prints it ("Truncated Hash"). */
  readonly digest: string
}

/** The number badkeys identifies a key by (see BKHASH above), as minimal big-endian bytes. */
export function blocklistNumber(key: Pick<HostKey, 'type' | 'blob'>): Buffer {
  const reader = keyBlobReader(key.blob, `${key.type} key blob`)
  reader.string('key type')
  const minimal = (bytes: Buffer) => bytesFromBigint(bigintFromBytes(bytes))
  switch (key.type) {
    case 'ssh-rsa':
      reader.string('e')
      return minimal(reader.string('n'))
    case 'ssh-dss':
      reader.string('p')
      reader.string('q')
      reader.string('g')
      return minimal(reader.string('y'))
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      reader.string('curve')
      const point = reader.string('Q')
      // SEC 1 §2.3.3 uncompressed: 0x04 || x || y, x and y of equal size.
      if (point.length < 3 || point[0] !== 4 || point.length % 2 !== 1) throw new KeyBlobError(`${key.type} key is not an uncompressed point`)
      return minimal(point.subarray(1, 1 + (point.length - 1) / 2))
    }
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com':
      return minimal(reader.string('public key'))
  }
}

/** BKHASH120 of a key: the first 15 bytes of SHA-256 over blocklistNumber(key). */
export function blocklistDigest(key: Pick<HostKey, 'type' | 'blob'>): Buffer {
  return hash('sha256', blocklistNumber(key), 'buffer').subarray(0, BLOCKLIST_DIGEST_BYTES)
}

/** Index entries kept in memory at most: opening reads this many records, a lookup one block. */
const MAX_INDEX_ENTRIES = 4096
const MIN_BLOCK_RECORDS = 64

/** An open blocklist file. Lookups cost one positioned read each; close() when done. */
export class Blocklist {
  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    /** Number of records. */
    readonly records: number,
    private readonly blockRecords: number,
    /** The digest of the first record of each block, in file order. */
    private readonly index: readonly Buffer[],
  ) {}

  /**
   * Opens and validates a blocklist: its size must be a non-zero multiple of 16 and the sampled
   * first record of every block must be in order (each block read by a lookup is checked in full).
   * Throws BlocklistError naming the file otherwise.
   */
  static async open(path: string): Promise<Blocklist> {
    let file: FileHandle
    try {
      file = await open(path, 'r')
    } catch (e) {
      throw new BlocklistError(`cannot open blocklist ${path}: ${(e as Error).message}`, { cause: e })
    }
    try {
      const { size } = await file.stat()
      if (size === 0) throw new BlocklistError(`blocklist ${path} is empty`)
      if (size % BLOCKLIST_RECORD_BYTES !== 0) {
        throw new BlocklistError(
          `blocklist ${path} is ${size} bytes, not a multiple of ${BLOCKLIST_RECORD_BYTES}: not badkeys' blocklist.dat format (truncated or compressed?)`,
        )
      }
      const records = size / BLOCKLIST_RECORD_BYTES
      const blockRecords = Math.max(MIN_BLOCK_RECORDS, Math.ceil(records / MAX_INDEX_ENTRIES))
      const index: Buffer[] = []
      const record = Buffer.alloc(BLOCKLIST_RECORD_BYTES)
      for (let first = 0; first < records; first += blockRecords) {
        await readExactly(file, record, first * BLOCKLIST_RECORD_BYTES, path)
        const digest = Buffer.from(record.subarray(0, BLOCKLIST_DIGEST_BYTES))
        const previous = index.at(-1)
        if (previous && Buffer.compare(previous, digest) > 0) {
          throw new BlocklistError(`blocklist ${path} is not sorted (record ${first} is smaller than record ${first - blockRecords})`)
        }
        index.push(digest)
      }
      return new Blocklist(file, path, records, blockRecords, index)
    } catch (e) {
      await file.close()
      throw e
    }
  }

  /** The list a key is on, or null. */
  lookup(key: Pick<HostKey, 'type' | 'blob'>): Promise<BlocklistHit | null> {
    return this.lookupDigest(blocklistDigest(key))
  }

  /** The list a BKHASH120 is on, or null. */
  async lookupDigest(digest: Buffer): Promise<BlocklistHit | null> {
    if (digest.length !== BLOCKLIST_DIGEST_BYTES) throw new RangeError(`a blocklist digest is ${BLOCKLIST_DIGEST_BYTES} bytes, not ${digest.length}`)
    // The last block whose first digest is <= the one looked for holds it if any block does.
    let low = 0
    let high = this.index.length - 1
    if (Buffer.compare(this.index[0]!, digest) > 0) return null
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (Buffer.compare(this.index[middle]!, digest) <= 0) low = middle
      else high = middle - 1
    }
    const first = low * this.blockRecords
    const count = Math.min(this.blockRecords, this.records - first)
    const block = Buffer.alloc(count * BLOCKLIST_RECORD_BYTES)
    await readExactly(this.file, block, first * BLOCKLIST_RECORD_BYTES, this.path)
    const digestAt = (i: number) => block.subarray(i * BLOCKLIST_RECORD_BYTES, i * BLOCKLIST_RECORD_BYTES + BLOCKLIST_DIGEST_BYTES)
    for (let i = 1; i < count; i++) {
      if (Buffer.compare(digestAt(i - 1), digestAt(i)) > 0) {
        throw new BlocklistError(`blocklist ${this.path} is not sorted (record ${first + i} is smaller than record ${first + i - 1})`)
      }
    }
    let lo = 0
    let hi = count - 1
    while (lo <= hi) {
      const middle = (lo + hi) >> 1
      const order = Buffer.compare(digestAt(middle), digest)
      if (order === 0) {
        const listId = block[middle * BLOCKLIST_RECORD_BYTES + BLOCKLIST_DIGEST_BYTES]!
        return { listId, list: blocklistName(listId), digest: digest.toString('hex') }
      }
      if (order < 0) lo = middle + 1
      else hi = middle - 1
    }
    return null
  }

  async close(): Promise<void> {
    await this.file.close()
  }
}

/** Opens a blocklist file (Blocklist.open). */
export function openBlocklist(path: string): Promise<Blocklist> {
  return Blocklist.open(path)
}

async function readExactly(file: FileHandle, into: Buffer, position: number, path: string): Promise<void> {
  let done = 0
  while (done < into.length) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done)
    if (bytesRead === 0) throw new BlocklistError(`blocklist ${path} ended early at byte ${position + done} (changed while open?)`)
    done += bytesRead
  }
}
