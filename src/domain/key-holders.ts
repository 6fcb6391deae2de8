import type { KeyType, Sha256Fingerprint } from './host-key.js'

/* key holders : every host that currently serves one key, each with the endpoint it serves it on;
 *               what duplicate_key is judged from. */

/** One host serving the key, and the endpoint (`address port`) it served it on; null when unknown. */
export interface KeyHolder {
  readonly host: string
  readonly endpoint: string | null
}

/** Every host of the whole inventory that currently serves one key (after this scan). */
export interface KeyHolders {
  readonly fingerprint: Sha256Fingerprint
  readonly keyType: KeyType
  readonly holders: readonly KeyHolder[]
}

/** The endpoint key of an address and port, as KeyHolder.endpoint holds it. */
export function endpointOf(address: string | null, port: number): string | null {
  return address === null ? null : `${address} ${port}`
}
