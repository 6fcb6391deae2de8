import type { LookupQuery } from '../domain/fingerprint/query.js'
import { resolveHostArgument } from './host-argument.js'
import type { Store } from '../store/store.js'
import type { KeyRecord } from '../domain/history.js'

/** Every host that has ever served the key, or every key the host (name, alias or address) has served.
 * A fingerprint of a certificate authority finds every host whose certificate it signed. */
export async function lookup(store: Store, query: LookupQuery): Promise<KeyRecord[]> {
  if (query.kind === 'host') return store.lookupHost(await resolveHostArgument(store, query.name))
  const selector = { kind: query.digest, digest: query.value }
  return [...(await store.lookupKey(selector)), ...(await store.lookupCertifiedBy(selector))]
}
