import { UserError } from '../domain/errors.js'
import { hostIdentity } from '../domain/target.js'
import { parsePort } from '../inventory/target-spec.js'
import type { Store } from '../store/store.js'

/* A host as people type it on the command line (accept, history, lookup, allow-shared): a name, an
 * address, `[name]:port` or `name:port`. With a port, the host on that port; bare, the one host of
 * that name or address on any port. Ambiguity and typos are errors that list what was meant. */

export interface HostArgument {
  /** Lowercase name or address, no brackets. */
  readonly name: string
  /** Null when the argument names no port. */
  readonly port: number | null
}

/** `[name]:port`, `name:port` (one colon: an IPv6 address is bare), or a bare name or address. */
export function parseHostArgument(text: string): HostArgument {
  const given = text.trim().toLowerCase()
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(given)
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(given)
  const match = bracketed ?? plain
  if (match) {
    const port = parsePort(match[2]!)
    if (port === null) throw new UserError(`'${text}': ${match[2]} is not a port (1-65535)`)
    return { name: match[1]!, port }
  }
  return { name: given.replace(/^\[(.*)\]$/, '$1'), port: null }
}

/** Levenshtein distance, for suggesting the host a typo meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The known hosts nearest to a name, for "did you mean". */
export function closestHosts(name: string, known: readonly string[], count = 3): string[] {
  return [...new Set(known)]
    .map((host) => ({ host, d: distance(name, host.replace(/^\[(.*)\]:\d+$/, '$1')) }))
    .sort((a, b) => a.d - b.d || a.host.localeCompare(b.host))
    .slice(0, count)
    .map((c) => c.host)
}

/**
 * The identity of the one history host the argument names. None: a UserError naming the closest
 * known hosts; several (a bare name on two ports): a UserError listing them.
 */
export async function resolveHostArgument(store: Store, text: string): Promise<string> {
  const argument = parseHostArgument(text)
  const matches = await store.matchHosts(argument.name, argument.port)
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) {
    // A host whose identity is exactly what was typed wins over hosts that have it as an alias (an
    // address host kept apart from a named host that lists the same address).
    const exact = matches.filter((m) => m === (argument.port === null ? argument.name : hostIdentity(argument.name, argument.port)))
    if (exact.length === 1) return exact[0]!
    const hint = argument.port === null ? 'give the port, as [name]:port' : 'name one of them as listed'
    throw new UserError(`'${text}' names ${matches.length} hosts: ${matches.join(', ')}; ${hint}`)
  }
  const known = await store.hostNames()
  if (known.length === 0) throw new UserError(`'${text}' is not in the history, which has no hosts yet; run a scan first`)
  throw new UserError(`'${text}' is not in the history; closest known: ${closestHosts(argument.name, known).join(', ')}`)
}
