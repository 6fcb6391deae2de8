import { UserError } from '../domain/errors.js'
import type { FindingKind } from '../domain/finding.js'
import type { Acceptance, HostTimeline, StoredFinding } from '../domain/history.js'
import type { PruneReport, Store } from '../store/store.js'
import { resolveHostArgument } from './host-argument.js'

/* The history commands' use cases (accept, allow-shared, findings, history, prune): each takes the
 * store and what the person asked, resolves host arguments by the identity rules, and returns what
 * to render. The CLI parses, calls one of these, renders. */

/** Who acts and when, kept with acceptances and share groups. */
export interface Actor {
  readonly actor: string
  readonly at: Date
}

/** `accept HOST`: trusts what the host serves now and accepts its open findings. */
export async function acceptHost(store: Store, host: string, by: Actor & { reason: string | null }): Promise<Acceptance> {
  const identity = await resolveHostArgument(store, host)
  const acceptance = await store.acceptHost(identity, by)
  if (!acceptance) throw new UserError(`${host} is not in the history`)
  return acceptance
}

/** `allow-shared HOST HOST…`: every host must be in the history (a typo would never match anything). */
export async function allowShared(store: Store, hosts: readonly string[], by: Actor): Promise<string[]> {
  const identities = [...new Set(await Promise.all(hosts.map((h) => resolveHostArgument(store, h))))]
  if (identities.length < 2) throw new UserError('allow-shared needs at least two different hosts')
  await store.allowShared(identities, by)
  return identities
}

export interface FindingsQuery {
  readonly openOnly: boolean
  readonly since: Date | null
  readonly kinds?: readonly FindingKind[]
}

/** `findings`: stored findings, most recent first. */
export function listFindings(store: Store, query: FindingsQuery): Promise<StoredFinding[]> {
  return store.listFindings(query)
}

/** `history HOST`: the host's timeline. */
export async function hostHistory(store: Store, host: string): Promise<HostTimeline> {
  const timeline = await store.hostTimeline(await resolveHostArgument(store, host))
  if (!timeline) throw new UserError(`${host} is not in the history`)
  return timeline
}

/** `prune --older-than`: drops scan details older than `olderThanMs` before `now`. */
export async function pruneHistory(store: Store, olderThanMs: number, now: Date): Promise<PruneReport & { before: Date }> {
  const before = new Date(now.getTime() - olderThanMs)
  return { ...(await store.prune(before)), before }
}
