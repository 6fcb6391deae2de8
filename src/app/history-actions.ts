import { UserError } from '../domain/errors.js'
import type { FindingKind } from '../domain/finding.js'
import type { Acceptance, HostTimeline, StoredFinding, Waiver } from '../domain/history.js'
import { isKeyType, type Sha256Fingerprint } from '../domain/host-key.js'
import { echoInput } from '../domain/echo.js'
import { sha256FromText } from '../domain/fingerprint/digest-forms.js'
import { KnownHostsSyntaxError, parseKnownHostsEntry, parsePublicKeyFields } from '../domain/fingerprint/known-hosts-entry.js'
import type { PruneReport, RevokedKeyEntry, Store } from '../store/store.js'
import { resolveHostArgument } from './host-argument.js'

/* The history commands' use cases (accept, allow-shared, findings, history, prune): each takes the
 * store and what the person asked, resolves host arguments by the identity rules, and returns what
 * to render. The CLI parses, calls one of these, renders. */

/** Who acts and when, kept with acceptances and share groups. */
export interface Actor {
  readonly actor: string
  readonly at: Date
}

/** `accept HOST`: trusts what the host serves now, retires what it no longer serves, closes its trust findings. */
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

/** `waive KIND HOST --reason … [--until DATE]`: a deliberate exception, never a trust decision. */
export async function waiveFinding(
  store: Store,
  kind: FindingKind,
  host: string,
  by: Actor & { reason: string; until: Date | null },
): Promise<Waiver> {
  const identity = await resolveHostArgument(store, host)
  const waiver = await store.waiveFindings(identity, kind, by)
  if (!waiver) throw new UserError(`${host} is not in the history`)
  return waiver
}

/** Keys named on the `revoke` command line: a SHA256 fingerprint, or a file of public key or
 * known_hosts lines (`-` for standard input), read whole before anything is written. */
export function parseRevokeArgument(argument: string, readText: (file: string) => string): RevokedKeyEntry[] {
  if (/^sha256:/i.test(argument)) {
    const sha256 = sha256FromText(argument)
    if (!sha256) throw new UserError(`'${echoInput(argument)}' is not a SHA256 fingerprint (43 base64 characters after SHA256:)`)
    return [{ kind: 'fingerprint', sha256 }]
  }
  let text: string
  try {
    text = readText(argument)
  } catch (e) {
    throw new UserError(`cannot read ${argument}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; revoke takes SHA256:<fingerprint> or a file of public key lines`, { cause: e })
  }
  const entries: RevokedKeyEntry[] = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim().replace(/^@revoked\s+/, '')
    if (line === '' || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    try {
      if (isKeyType(fields[0]!)) entries.push({ kind: 'blob', key: parsePublicKeyFields(fields[0]!, fields[1] ?? '') })
      else if (fields.length >= 3 && isKeyType(fields[1]!)) entries.push({ kind: 'blob', key: parseKnownHostsEntry(line)!.key })
      else throw new KnownHostsSyntaxError('not a public key line (TYPE BASE64) nor a known_hosts line (NAMES TYPE BASE64)')
    } catch (e) {
      // Never the line itself: the file may be anything (a symlink to a secret).
      throw new UserError(`${argument}:${index + 1}: ${(e as Error).message}`, { cause: e })
    }
  })
  if (entries.length === 0) throw new UserError(`${argument} holds no public key line; revoke takes SHA256:<fingerprint> or a file of public key lines`)
  return entries
}

/** `revoke KEY|FILE --reason`: the keys are refused for good, whoever serves them. */
export function revokeKeys(store: Store, keys: readonly RevokedKeyEntry[], by: Actor & { reason: string }): Promise<Sha256Fingerprint[]> {
  return store.revokeKeys(keys, by)
}
