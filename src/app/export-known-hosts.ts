import { parseIdentity } from '../domain/target.js'
import { renderKnownHostsLines } from '../report/known-hosts.js'
import type { Store } from '../store/store.js'

/** known_hosts lines for every trusted key, ready for /etc/ssh/ssh_known_hosts; `hash` hashes each name. */
export async function exportKnownHosts(store: Store, options: { hash: boolean }): Promise<string[]> {
  const lines: string[] = []
  for (const key of await store.trustedKeys()) {
    const { name, port } = parseIdentity(key.host)
    const names = [name, ...key.aliases.filter((a) => a !== name)]
    lines.push(...renderKnownHostsLines({ names, port: port === 22 ? key.port : port, key }, options))
  }
  return lines
}
