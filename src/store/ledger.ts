import { sql, type RawBuilder } from 'kysely'
import type { LedgerState } from '../domain/trust.js'

/* The trust ledger in SQL: the one expression every read that vouches for keys selects or filters on
 * (known-hosts export, SSHFP records, published pages, lookup and history, a bastion's host key check).
 * It is domain/trust.ts ledgerState over a sighting `s` joined to its key `k`: a revoked key (an
 * @revoked line, `hostkeys revoke`) or a compromised one (keys.compromised) overrides whatever the
 * sighting says. */

/** The (host, key)'s ledger state, for a query that has sightings as `s` and keys as `k`. */
export function ledgerStateOf(sighting = 's', key = 'k'): RawBuilder<LedgerState> {
  return sql<LedgerState>`CASE WHEN EXISTS (SELECT 1 FROM revoked_keys r WHERE r.key_id = ${sql.ref(`${key}.id`)}) THEN 'revoked'
    WHEN ${sql.ref(`${key}.compromised`)} IS NOT NULL THEN 'compromised' ELSE ${sql.ref(`${sighting}.trust`)} END`
}

/** True where the ledger vouches for the (host, key): trusted, and neither revoked nor compromised. */
export function vouchedFor(sighting = 's', key = 'k'): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${sighting}.trust`)} = 'trusted' AND ${sql.ref(`${key}.compromised`)} IS NULL
    AND NOT EXISTS (SELECT 1 FROM revoked_keys r WHERE r.key_id = ${sql.ref(`${key}.id`)}))`
}
