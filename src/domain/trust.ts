/* trust ledger : each (host, key) has one state; only `trusted` keys are vouched for (known_hosts
 *                exports, SSHFP records, published pages, the report's key lists, a bastion's host key
 *                check). Every output asks `vouches` or the store's one query built on the same rule.
 *   trusted     : first use of a host that had no trusted or pending key at all, an imported baseline,
 *                 or `accept`
 *   pending     : served, not trusted: a new family on a host that has trusted keys, a key after a
 *                 change, a key joined in from another identity of the server
 *   retired     : was trusted, no longer served, and an accept recorded the removal
 *   revoked     : named by an `@revoked` line or `hostkeys revoke`: never trusted again, whatever anyone
 *                 accepts; exported as an @revoked line so ssh refuses it
 *   compromised : a known-bad verdict (shared prime, ROCA, Fermat, blocklist, small-order point): the
 *                 same as revoked
 * The sighting row keeps the first three; revoked and compromised belong to the key and override it. */

export const LEDGER_STATES = ['trusted', 'pending', 'retired', 'revoked', 'compromised'] as const
export type LedgerState = (typeof LEDGER_STATES)[number]

/** What a sighting row records; revoked and compromised come from the key. */
export type SightingTrust = 'trusted' | 'pending' | 'retired'
export const SIGHTING_TRUSTS: readonly SightingTrust[] = ['trusted', 'pending', 'retired']

/** What the key itself is known as, whatever host serves it. */
export interface KeyStanding {
  readonly revoked: boolean
  readonly compromised: boolean
}

/** The one state of a (host, key): the key's standing overrides the sighting's trust. */
export function ledgerState(trust: SightingTrust, standing: KeyStanding): LedgerState {
  if (standing.revoked) return 'revoked'
  if (standing.compromised) return 'compromised'
  return trust
}

/** Whether outputs may vouch for a key in this state. */
export function vouches(state: LedgerState): boolean {
  return state === 'trusted'
}

/** Whether exports must name it as refused (`@revoked` in known_hosts). */
export function refuses(state: LedgerState): boolean {
  return state === 'revoked' || state === 'compromised'
}

/** One change of a (host, key)'s state after it was first recorded: who, when and why. */
export interface TrustChange {
  readonly sha256: string
  readonly trust: SightingTrust
  readonly at: Date
  readonly actor: string
  readonly reason: string | null
}
