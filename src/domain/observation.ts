import type { HostKey } from './host-key.js'
import type { Target } from './target.js'

/* observation : what one scan saw at one target: a status, the banner, what the server offered,
 *               and the keys it served. A failure at a host is an observation too, never an exception. */

export const HOST_STATUSES = ['ok', 'refused', 'timeout', 'unreachable', 'protocol-error', 'dns-error'] as const
export type HostStatus = (typeof HOST_STATUSES)[number]

/** The server's clear-text KEXINIT name-lists (RFC 4253 §7.1), as far as a key scan cares. */
export interface OfferedAlgorithms {
  readonly kex: readonly string[]
  readonly serverHostKey: readonly string[]
}

export interface Observation {
  readonly target: Target
  /** The IP address actually connected to (after resolution); null when resolution failed. */
  readonly address: string | null
  readonly status: HostStatus
  /** Why the host failed, in words; null when status is ok. */
  readonly error: string | null
  /** The server's identification line (RFC 4253 §4.2) without CR LF, when one was read. */
  readonly banner: string | null
  readonly offered: OfferedAlgorithms | null
  /** Keys in a stable order: ed25519, ecdsa (by curve), rsa, dsa. */
  readonly keys: readonly HostKey[]
  /** Connections opened for this target. */
  readonly connections: number
  readonly startedAt: Date
  readonly durationMs: number
}
