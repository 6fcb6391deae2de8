import { setMaxListeners } from 'node:events'
import type { Observation } from '../domain/observation.js'
import type { JumpChain } from '../domain/jump.js'
import type { Target } from '../domain/target.js'
import { ConnectionLimiter } from './connection-limiter.js'
import type { JumpCredentials } from './jump-login.js'
import { JumpNetwork, type JumpHostTrust } from './jump-network.js'
import { scanHost, type ScanOptions } from './scan-host.js'

/* The fleet scheduler. One limiter caps connections in flight across all hosts. A target is
 * pulled from the input only when a connection slot is free for it and the consumer is keeping
 * up, so a 100,000-line inventory or a /16 is never held in memory; observations come out in
 * the order hosts finish. Each connection has its own deadline, so a hostile host holds at most
 * its own slots, for at most its own deadlines. */

export interface ScanProgress {
  /** Targets taken from the input so far. */
  readonly started: number
  /** Observations produced so far. */
  readonly completed: number
  /** Connections and lookups in flight right now. */
  readonly inFlight: number
}

export interface ScanTargetsOptions extends ScanOptions {
  /** Connections (and name lookups) in flight at once, across all hosts. */
  readonly concurrency: number
  /** Called after each host completes. */
  readonly onProgress?: (progress: ScanProgress) => void
  /** Targets behind jump hosts (`--jump`, ProxyJump); absent: every target is connected to directly. */
  readonly jumps?: JumpRouting
}

/** Which targets go through which jump hosts, and what logging in to them takes. */
export interface JumpRouting {
  /** The chain a target is reached through; null: directly; a string: why it cannot be reached (jump-failed). */
  chainFor(target: Target): JumpChain | string | null
  readonly credentials: JumpCredentials
  readonly trust: JumpHostTrust
}

function iteratorOf(targets: AsyncIterable<Target> | Iterable<Target>): AsyncIterator<Target> | Iterator<Target> {
  return Symbol.asyncIterator in targets ? targets[Symbol.asyncIterator]() : targets[Symbol.iterator]()
}

/**
 * Scans every target with at most `concurrency` connections in flight, yielding one observation
 * per target as each host completes. Errors from the target source (a bad inventory line) are
 * thrown to the consumer once the hosts already started have been yielded. Breaking out of the
 * loop, or aborting `signal`, ends every connection in flight.
 */
export async function* scanTargets(
  targets: AsyncIterable<Target> | Iterable<Target>,
  options: ScanTargetsOptions,
): AsyncGenerator<Observation, void, undefined> {
  const limiter = new ConnectionLimiter(options.concurrency)
  const stop = new AbortController()
  // Every connection in flight listens to this one signal; that many listeners is the design.
  setMaxListeners(0, stop.signal)
  const onOuterAbort = (): void => stop.abort(options.signal?.reason)
  if (options.signal?.aborted) onOuterAbort()
  options.signal?.addEventListener('abort', onOuterAbort, { once: true })
  const hostOptions: ScanOptions = { ...options, signal: stop.signal }

  const finished: Observation[] = []
  let wakeConsumer: (() => void) | null = null
  let wakeFeeder: (() => void) | null = null
  const nudge = (which: 'consumer' | 'feeder'): void => {
    const wake = which === 'consumer' ? wakeConsumer : wakeFeeder
    if (which === 'consumer') wakeConsumer = null
    else wakeFeeder = null
    wake?.()
  }
  let hostsInFlight = 0
  let started = 0
  let completed = 0
  let feederDone = false
  let sourceError: { error: unknown } | null = null
  const iterator = iteratorOf(targets)
  // Jump hosts are scanned as they are first needed; their observations join the scan's, ahead of
  // the targets behind them (which are still in flight then, so the consumer is still waiting).
  const network = options.jumps
    ? new JumpNetwork({
        families: options.families,
        timeoutMs: options.timeoutMs,
        credentials: options.jumps.credentials,
        trust: options.jumps.trust,
        signal: stop.signal,
        onJumpHost: (observation) => {
          finished.push(observation)
          nudge('consumer')
        },
      })
    : null

  const feed = async (): Promise<void> => {
    try {
      for (;;) {
        // Backpressure: a consumer that stops pulling stops the scan from taking new targets.
        while (finished.length >= options.concurrency && !stop.signal.aborted) {
          await new Promise<void>((resolve) => (wakeFeeder = resolve))
        }
        if (stop.signal.aborted) return
        const slot = await limiter.acquire('new-host')
        if (stop.signal.aborted) {
          slot()
          return
        }
        const next = await iterator.next()
        if (next.done || stop.signal.aborted) {
          slot()
          return
        }
        started++
        hostsInFlight++
        const target = next.value
        const chain = network ? options.jumps!.chainFor(target) : null
        const scanned =
          typeof chain === 'string'
            ? (slot(), Promise.resolve(unreachableBehindJump(target, chain)))
            : scanHost(target, hostOptions, { limiter, heldSlot: slot, ...(chain && network ? { path: network.pathFor(chain) } : {}) })
        scanned
          .catch(
            // scanHost settles every host as data; this only guards against a bug in it, so the
            // scan still yields one observation per target and nothing rejects unhandled.
            (error: unknown): Observation =>
              observationWithoutKeys(target, 'protocol-error', `internal error in the collector: ${error instanceof Error ? error.message : String(error)}`),
          )
          .then((observation) => {
            hostsInFlight--
            completed++
            finished.push(observation)
            try {
              options.onProgress?.({ started, completed, inFlight: limiter.inFlight })
            } catch {
              /* a progress display must not break the scan */
            }
            nudge('consumer')
          })
      }
    } catch (error) {
      sourceError = { error }
    } finally {
      feederDone = true
      nudge('consumer')
    }
  }
  const feeding = feed()

  try {
    for (;;) {
      const observation = finished.shift()
      if (observation) {
        nudge('feeder')
        if (!stop.signal.aborted) yield observation
        continue
      }
      if (feederDone && hostsInFlight === 0) break
      await new Promise<void>((resolve) => (wakeConsumer = resolve))
    }
    await feeding
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('scan aborted')
    if (sourceError) throw (sourceError as { error: unknown }).error
  } finally {
    // Reached on completion, on a throw, and when the consumer breaks out early: end whatever
    // is still in flight and close the source.
    options.signal?.removeEventListener('abort', onOuterAbort)
    network?.close()
    if (!feederDone || hostsInFlight > 0) {
      stop.abort()
      nudge('feeder')
      try {
        await iterator.return?.()
      } catch {
        /* the source's own cleanup failing is not the scan's failure */
      }
    }
  }
}

/** A target whose route the client config makes impossible (ProxyCommand, a ProxyJump loop). */
function unreachableBehindJump(target: Target, detail: string): Observation {
  return observationWithoutKeys(target, 'jump-failed', detail)
}

/** An observation of a target no connection reached: a status and why, nothing else. */
function observationWithoutKeys(target: Target, status: Observation['status'], error: string): Observation {
  return {
    target,
    address: null,
    status,
    error,
    banner: null,
    offered: null,
    keys: [],
    failedFamilies: [],
    connections: 0,
    startedAt: new Date(),
    durationMs: 0,
  }
}
