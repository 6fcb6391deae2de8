import type { Duplex } from 'node:stream'
import type { HostStatus } from '../domain/observation.js'

/* probe path : how a probe reaches its target when not by a TCP connection of its own: a
 *              `direct-tcpip` channel through jump hosts (jump-network.ts). The probe itself
 *              (probeStream) runs over the stream unchanged. */

export type OpenFailureStatus = Exclude<HostStatus, 'ok' | 'partial'>

export type OpenedStream =
  /** `elapsedMs`: how long the channel took to open, spent from the probe's deadline. */
  | { readonly ok: true; readonly stream: Duplex; readonly elapsedMs: number }
  | { readonly ok: false; readonly status: OpenFailureStatus; readonly detail: string }

export interface ProbePath {
  /** The jump hosts passed through, first first, as `ssh -J` writes them (user@host:port,…). */
  readonly via: string
  /**
   * A stream to `address:port` (resolved by the last jump host when it is a name), opened within
   * `timeoutMs` once the path is up. Never rejects: a path that cannot be used is `jump-failed`.
   */
  open(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<OpenedStream>
}
