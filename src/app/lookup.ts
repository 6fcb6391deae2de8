import type { LookupQuery } from '../fingerprint/query.js'
import { resolveHostArgument } from './host-argument.js'
import type { Store } from '../store/store.js'
import type { KeyRecord } from '../domain/history.js'

/** Every host that has ever served the key, or every key the host (name, alias or address) has served. */
export async function lookup(store: Store, query: LookupQuery): Promise<KeyRecord[]> {
  if (query.kind === 'host') return store.lookupHost(await resolveHostArgument(store, query.name))
  return store.lookupKey({ kind: query.digest, digest: query.value })
}
