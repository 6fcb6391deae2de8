import type { HostKey, KeyFamily } from './host-key.js'
import type { HostStatus, OfferedAlgorithms } from './observation.js'

/* scanned host : everything one scan saw of one server, merged over its observations (several
 *                addresses, several inventory identities of one server): what the judgement and the
 *                store work on. */

/** A key as the analysis and the store need it: the fingerprints other than SHA-256 derive from the blob. */
export type ScannedKey = Pick<HostKey, 'type' | 'family' | 'bits' | 'blob' | 'sha256' | 'certificate'>

export interface ScannedHost {
  readonly host: string
  /** Answered SSH (ok or partial) on some address. */
  readonly reached: boolean
  /** `ok` if any observation was, else `partial` if any was; else the first failure's status. */
  readonly status: HostStatus
  /** Families whose probe failed on every address that answered: not judged absent this scan. */
  readonly failedFamilies: ReadonlySet<KeyFamily>
  readonly error: string | null
  /** The address that answered (or was tried), and its port. */
  readonly address: string | null
  readonly port: number
  readonly banner: string | null
  /** The server's KEXINIT lists, from the observation that gave the status; null when none was read. */
  readonly offered: OfferedAlgorithms | null
  /** Every other name and address this host was known by in this scan. */
  readonly aliases: readonly string[]
  readonly addresses: readonly string[]
  /** Distinct keys, in observation order. */
  readonly keys: readonly ScannedKey[]
}
