import { parseIdentity } from '../domain/target.js'
import { renderCertAuthorityLine, renderKnownHostsLines, renderRevokedLine } from '../report/known-hosts.js'
import type { Store } from '../store/store.js'

/**
 * known_hosts lines for every key the trust ledger vouches for, ready for /etc/ssh/ssh_known_hosts,
 * then one `@cert-authority` line per trusted CA and pattern list, then one `@revoked * KEY` line per
 * key the ledger refuses (revoked, compromised, revoked CAs), so ssh refuses them from any host even
 * where another file trusts them. `hash` hashes each host name (never a CA's patterns: see
 * renderCertAuthorityLine).
 */
export async function exportKnownHosts(store: Store, options: { hash: boolean }): Promise<string[]> {
  const lines: string[] = []
  for (const key of await store.trustedKeys()) {
    const { name, port } = parseIdentity(key.host)
    const names = [name, ...key.aliases.filter((a) => a !== name)]
    lines.push(...renderKnownHostsLines({ names, port: port === 22 ? key.port : port, key }, options))
  }
  for (const authority of await store.listCertAuthorities()) lines.push(renderCertAuthorityLine(authority))
  for (const refused of await store.refusedKeys()) lines.push(renderRevokedLine(refused))
  return lines
}
