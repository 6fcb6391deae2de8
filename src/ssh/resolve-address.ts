import { lookup } from 'node:dns/promises'
import net from 'node:net'

/* Resolution happens once per host, before its first connection, so every connection to a host
 * goes to the same address and the observation can say which one that was. */

/** Turns a host name into one IP address; rejects when the name does not resolve. */
export type AddressLookup = (name: string) => Promise<string>

/** The system resolver (getaddrinfo: /etc/hosts, then DNS as nsswitch says), first address. */
export const systemLookup: AddressLookup = async (name) => (await lookup(name, { verbatim: true })).address

export type Resolution = { readonly ok: true; readonly address: string } | { readonly ok: false; readonly error: string }

/** An IP literal as is; a name through `lookup`, bounded by `timeoutMs`. Never rejects. */
export async function resolveAddress(address: string, resolver: AddressLookup, timeoutMs: number): Promise<Resolution> {
  if (net.isIP(address) !== 0) return { ok: true, address }
  // RFC 6761 §6.4: resolvers should answer names under .invalid negatively without asking anyone.
  if (/(^|\.)invalid\.?$/i.test(address)) return { ok: false, error: `${address}: names under .invalid never resolve (RFC 6761 §6.4)` }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Resolution>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `${address}: no answer from the resolver within ${timeoutMs} ms` }), timeoutMs)
  })
  const answer = resolver(address).then(
    (ip): Resolution =>
      net.isIP(ip) !== 0 ? { ok: true, address: ip } : { ok: false, error: `${address}: resolver returned '${String(ip).slice(0, 60)}', not an IP address` },
    (err: NodeJS.ErrnoException): Resolution => ({ ok: false, error: `${address}: ${err.code ?? err.message}` }),
  )
  try {
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}
