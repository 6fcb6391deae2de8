import type { HostKey, KeyFamily } from './host-key.js'
import type { Target } from './target.js'

/* observation : what one scan saw at one target: a status, the banner, what the server offered,
 *               and the keys it served. A failure at a host is an observation too, never an exception. */

/* partial : the host answered and gave some keys, but the probe of at least one key family failed
 *           (timeout, reset, a different server behind the address). Its collected keys are judged
 *           like any others; the failed families are neither removed nor resolved. An interceptor
 *           that stalls one family must not hide the keys it substituted for the others. */
/* jump-failed : the target is behind a jump host (scan --jump, ProxyJump) that could not be used: it
 *               did not answer, refused the login or the forwarding, or its host key changed. The target
 *               itself was not contacted; its recorded keys are kept unchanged. */
export const HOST_STATUSES = ['ok', 'partial', 'refused', 'timeout', 'unreachable', 'protocol-error', 'dns-error', 'jump-failed'] as const
export type HostStatus = (typeof HOST_STATUSES)[number]

/** True when the host answered SSH: every key asked for came back (ok), or some did (partial). */
export function isReached(status: HostStatus): boolean {
  return status === 'ok' || status === 'partial'
}

/** One name-list per direction (RFC 4253 §7.1: ciphers, MACs and compression are negotiated each way). */
export interface BothWays {
  readonly clientToServer: readonly string[]
  readonly serverToClient: readonly string[]
}

/** The server's clear-text KEXINIT name-lists (RFC 4253 §7.1). */
export interface OfferedAlgorithms {
  /** Key exchange methods, with the markers servers list among them (ext-info-s, kex-strict-s-v00@openssh.com). */
  readonly kex: readonly string[]
  readonly serverHostKey: readonly string[]
  readonly ciphers: BothWays
  readonly macs: BothWays
  readonly compression: BothWays
}

export interface Observation {
  readonly target: Target
  /** The IP address actually connected to (after resolution); null when resolution failed. */
  readonly address: string | null
  readonly status: HostStatus
  /** Why the host failed, in words (for partial: which families failed and why); null when status is ok. */
  readonly error: string | null
  /** Families whose probe failed on a host that otherwise answered (status partial); else empty. */
  readonly failedFamilies: readonly KeyFamily[]
  /** The server's identification line (RFC 4253 §4.2) without CR LF, when one was read. */
  readonly banner: string | null
  readonly offered: OfferedAlgorithms | null
  /** Keys in a stable order: ed25519, ecdsa (by curve), rsa, dsa. */
  readonly keys: readonly HostKey[]
  /** Connections opened for this target. */
  readonly connections: number
  readonly startedAt: Date
  readonly durationMs: number
  /** The jump hosts the probes went through, first first (`user@host:port,…`); absent for a direct scan. */
  readonly via?: string
}
