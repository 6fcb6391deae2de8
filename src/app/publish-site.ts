import { renderCertAuthorityLine } from '../report/known-hosts.js'
import { buildHostPage, type HostPage } from '../report/site/host-page.js'
import { HOSTS_DIRECTORY, renderHostHtml, renderIndexHtml, type SiteMeta } from '../report/site/site-html.js'
import { renderHostMarkdown, renderIndexMarkdown } from '../report/site/site-markdown.js'
import type { Store } from '../store/store.js'

/* `hostkeys publish`: the fingerprint site, as files in memory. Nothing is written here: the command
 * writes them all at once, after every page rendered (cli/site-writer.ts). */

export type SiteFormat = 'html' | 'markdown'

export interface SiteFile {
  /** Relative to the site's root, `/`-separated: `index.html`, `hosts/web1.example.com.html`. */
  readonly path: string
  readonly content: string
}

export interface PublishedSite {
  readonly files: readonly SiteFile[]
  readonly hosts: number
  /** Hosts with a trusted key, and trusted keys in all. */
  readonly verifiedHosts: number
  readonly keys: number
}

/** The fleet-wide known_hosts file beside the index: text, so a browser shows it from file:// too. */
export const KNOWN_HOSTS_FILE = 'known_hosts.txt'

/** Every page of the site for the history in `store`, as of `generatedAt`. */
export async function publishSite(store: Store, request: { readonly format: SiteFormat; readonly generatedAt: Date }): Promise<PublishedSite> {
  const snapshot = await store.fleetSnapshot()
  const pages: HostPage[] = snapshot.hosts.map((host) => buildHostPage(host, snapshot.authorities))
  const stems = new Set(pages.map((p) => p.stem))
  if (stems.size !== pages.length) throw new Error('publish: two hosts were given the same page file name')

  // The same lines `hostkeys known-hosts` prints, from the same consistent read as the pages.
  const knownHosts = [...pages.flatMap((p) => p.knownHosts), ...snapshot.authorities.map((a) => renderCertAuthorityLine(a))]
  const meta: SiteMeta = { generatedAt: request.generatedAt, knownHostsFile: KNOWN_HOSTS_FILE }
  const extension = request.format === 'html' ? 'html' : 'md'
  const files: SiteFile[] = [
    { path: `index.${extension}`, content: request.format === 'html' ? renderIndexHtml(pages, meta) : renderIndexMarkdown(pages, meta) },
    { path: KNOWN_HOSTS_FILE, content: knownHosts.length === 0 ? '' : `${knownHosts.join('\n')}\n` },
    ...pages.map((page) => ({
      path: `${HOSTS_DIRECTORY}/${page.stem}.${extension}`,
      content: request.format === 'html' ? renderHostHtml(page, meta) : renderHostMarkdown(page, meta),
    })),
  ]
  return {
    files,
    hosts: pages.length,
    verifiedHosts: pages.filter((p) => p.keys.length > 0).length,
    keys: pages.reduce((n, p) => n + p.keys.length, 0),
  }
}
