import { parseIdentity } from '../domain/target.js'
import { renderCertAuthorityLine, renderKnownHostsLines } from '../report/known-hosts.js'
import type { Store } from '../store/store.js'

/**
 * known_hosts lines for every trusted key, ready for /etc/ssh/ssh_known_hosts, then one
 * `@cert-authority` line per trusted CA and pattern list; `hash` hashes each host name (never a CA's
 * patterns: see renderCertAuthorityLine).
 */
export async function exportKnownHosts(store: Store, options: { hash: boolean }): Promise<string[]> {
  const lines: string[] = []
  for (const key of await store.trustedKeys()) {
    const { name, port } = parseIdentity(key.host)
    const names = [name, ...key.aliases.filter((a) => a !== name)]
    lines.push(...renderKnownHostsLines({ names, port: port === 22 ? key.port : port, key }, options))
  }
  for (const authority of await store.listCertAuthorities()) lines.push(renderCertAuthorityLine(authority))
  return lines
}
