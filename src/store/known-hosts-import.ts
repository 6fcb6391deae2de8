import { sql, type Transaction } from 'kysely'
import { familyOfType } from '../domain/host-key.js'
import { hostIdentity } from '../domain/target.js'
import { readKeyTypeAndBits, sha256Fingerprint } from '../domain/fingerprint/key-blob.js'
import { batches } from './batches.js'
import { resolveHostIds } from './host-identity.js'
import { insertBareHosts, insertHostNames } from './host-writer.js'
import { keyIds, type KeyToWrite } from './key-writer.js'
import type { Database } from './schema.js'
import { insertImportedSightings } from './sighting-writer.js'
import type { ImportEntry, ImportReport } from './store.js'

/* A known_hosts file as history: plain lines become trusted, not current sightings of the host their
 * names are; hashed lines wait in imported_hashed until a scan names their host and adopts them;
 * @revoked and @cert-authority lines are kept for the analysis. Runs inside the store's transaction,
 * under the recording lock, so a scan never sees half an import. */

type Tx = Transaction<Database>
type Entry<K extends ImportEntry['kind']> = Extract<ImportEntry, { kind: K }>

/** Records the entries (as imported `by.at` from `by.source`): a bounded number of statements per batch. */
export async function importKnownHosts(tx: Tx, entries: readonly ImportEntry[], by: { source: string; at: Date }): Promise<ImportReport> {
  const at = by.at
  // Keys, each read once from its blob.
  const keyOf = new Map<Buffer, KeyToWrite>(
    entries.map((e) => [e.blob, { blob: e.blob, sha256: sha256Fingerprint(e.blob), ...readKeyTypeAndBits(e.blob) }]),
  )
  const keyId = await keyIds(tx, [...keyOf.values()], at)
  const idOfKey = (blob: Buffer) => keyId.get(keyOf.get(blob)!.sha256)!
  const plain = entries.filter((e): e is Entry<'plain'> => e.kind === 'plain')
  const hashed = entries.filter((e): e is Entry<'hashed'> => e.kind === 'hashed')
  const revoked = entries.filter((e) => e.kind === 'revoked')
  const authorities = entries.filter((e): e is Entry<'cert-authority'> => e.kind === 'cert-authority')

  // Each line seeds the host its names are, however that host was scanned or imported before.
  const identities = [...new Map(plain.map((e) => [e.host, e])).values()]
  const resolved = await resolveHostIds(
    tx,
    identities.map((e) => ({ identity: e.host, port: e.port, names: e.aliases, addresses: e.addresses })),
  )
  const hostId = new Map<string, number>()
  identities.forEach((e, i) => {
    const id = resolved.get(i)
    if (id !== undefined) hostId.set(e.host, id)
  })
  const fresh = identities.filter((e) => !hostId.has(e.host)).map((e) => ({ identity: e.host, port: e.port }))
  for (const [name, id] of await insertBareHosts(tx, fresh, at)) hostId.set(name, id)
  await insertHostNames(
    tx,
    plain.flatMap((e) => [
      ...e.aliases.map((name) => ({ hostId: hostId.get(e.host)!, name, kind: 'alias' as const })),
      ...e.addresses
        .filter((a) => hostIdentity(a, e.port) !== e.host)
        .map((name) => ({ hostId: hostId.get(e.host)!, name, kind: 'address' as const })),
    ]),
    at,
  )
  const keys = await insertImportedSightings(
    tx,
    plain.map((e) => ({ hostId: hostId.get(e.host)!, keyId: idOfKey(e.blob), family: familyOfType(keyOf.get(e.blob)!.type), port: e.port })),
    at,
  )

  for (const batch of batches(hashed)) {
    await sql`
      INSERT INTO imported_hashed (salt, hmac, key_id, imported_at, source)
      SELECT s, m, k, ${at}::timestamptz, ${by.source}
      FROM unnest(${batch.map((e) => e.salt)}::bytea[], ${batch.map((e) => e.hmac)}::bytea[],
                  ${batch.map((e) => idOfKey(e.blob))}::int[]) AS v(s, m, k)
      WHERE NOT EXISTS (SELECT 1 FROM imported_hashed i WHERE i.salt = v.s AND i.hmac = v.m AND i.key_id = v.k)`.execute(tx)
  }
  for (const batch of batches(revoked)) {
    await sql`
      INSERT INTO revoked_keys (key_id, imported_at, source)
      SELECT DISTINCT k, ${at}::timestamptz, ${by.source}::text FROM unnest(${batch.map((e) => idOfKey(e.blob))}::int[]) AS v(k)
      ON CONFLICT (key_id) DO NOTHING`.execute(tx)
  }
  for (const authority of authorities) {
    await sql`
      INSERT INTO cert_authorities (key_id, patterns, imported_at, source)
      VALUES (${idOfKey(authority.blob)}, ${[...authority.patterns]}::text[], ${at}::timestamptz, ${by.source})
      ON CONFLICT (key_id, patterns) DO NOTHING`.execute(tx)
  }
  return { hosts: identities.length, keys, hashed: hashed.length, revoked: revoked.length, authorities: authorities.length }
}
