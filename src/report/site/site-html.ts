import type { HostPage, PublishedCertificate, PublishedKey } from './host-page.js'
import { htmlDocument } from './html-page.js'
import { escapeHtml as h, formatTime } from './page-text.js'
import { shellQuote } from '../finding-actions.js'

/* A published site in HTML: index.html for the fleet, hosts/STEM.html per host, links relative so the
 * directory works from file:// and from any web server path. Every value is escaped with h() where it
 * is written; nothing arrives here already marked up. */

export interface SiteMeta {
  readonly generatedAt: Date
  /** Name of the fleet-wide known_hosts file beside index (relative link), or null when none was written. */
  readonly knownHostsFile: string | null
}

/** The hosts directory and the extension of host pages, relative to the index. */
export const HOSTS_DIRECTORY = 'hosts'

function verified(at: Date | null, from: string | null): string {
  if (at === null) return '<span class="muted">not verified by a scan</span>'
  return `${h(formatTime(at))}${from === null ? '' : ` from <span class="mono">${h(from)}</span>`}`
}

function footer(meta: SiteMeta): string {
  return `<footer>Published by hostkeys at ${h(formatTime(meta.generatedAt))}. A fingerprint here is what the named scanner saw when it last verified the key; compare it with what your client shows on first connection (<code>ssh -o VisualHostKey=yes HOST</code> prints the same pictures).</footer>`
}

function keyCard(key: PublishedKey, heading: 'h3'): string {
  return [
    `<article class="key">`,
    `<${heading}>${h(key.label)}${key.current ? '' : ' <span class="muted">(not served at the last scan)</span>'}</${heading}>`,
    '<dl class="facts">',
    `<dt>SHA256</dt><dd><code>${h(key.sha256)}</code></dd>`,
    `<dt>MD5</dt><dd><code>${h(key.md5)}</code></dd>`,
    `<dt>Last verified</dt><dd>${verified(key.lastVerified, key.verifiedFrom)}</dd>`,
    `<dt>First seen</dt><dd>${h(formatTime(key.firstSeen))}${key.source === 'import' ? ' (imported from a known_hosts file)' : ''}</dd>`,
    '</dl>',
    '<div class="arts">',
    `<figure><pre class="art">${h(key.artSha256)}</pre><figcaption class="muted">ssh-keygen -lv -E sha256</figcaption></figure>`,
    `<figure><pre class="art">${h(key.artMd5)}</pre><figcaption class="muted">ssh-keygen -lv -E md5</figcaption></figure>`,
    '</div>',
    '</article>',
  ].join('\n')
}

function linesBlock(lines: readonly string[]): string {
  return `<pre class="lines">${lines.map(h).join('\n')}</pre>`
}

function certificateRows(certificates: readonly PublishedCertificate[]): string {
  const rows = certificates.map((c) =>
    [
      '<tr>',
      `<td>${h(c.family)}</td>`,
      `<td class="mono">${h(c.keyId)}</td>`,
      `<td class="num">${h(c.serial)}</td>`,
      `<td>${c.principals.length === 0 ? '<span class="muted">any</span>' : c.principals.map((p) => `<code>${h(p)}</code>`).join(', ')}</td>`,
      `<td>${c.validBefore === null ? '<span class="sev-warning">forever</span>' : h(formatTime(c.validBefore))}</td>`,
      `<td><code>${h(c.caSha256)}</code>${c.caTrusted ? '' : ' <span class="sev-warning">(not a trusted CA for this host)</span>'}</td>`,
      `<td>${c.removed ? 'no longer presented' : c.signatureValid ? 'presented' : '<span class="sev-critical">bad signature</span>'}</td>`,
      '</tr>',
    ].join(''),
  )
  return [
    '<table>',
    '<thead><tr><th scope="col">Family</th><th scope="col">Key ID</th><th scope="col" class="num">Serial</th><th scope="col">Principals</th><th scope="col">Valid until</th><th scope="col">Signed by</th><th scope="col">State</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
  ].join('\n')
}

/** hosts/STEM.html. */
export function renderHostHtml(page: HostPage, meta: SiteMeta): string {
  const names = [
    page.aliases.length > 0 ? `<dt>Also known as</dt><dd>${page.aliases.map((a) => `<span class="mono">${h(a)}</span>`).join(', ')}</dd>` : '',
    page.addresses.length > 0 ? `<dt>Addresses</dt><dd>${page.addresses.map((a) => `<span class="mono">${h(a)}</span>`).join(', ')}</dd>` : '',
  ]
  const body: string[] = [
    `<nav><a href="../index.html">All hosts</a></nav>`,
    `<h1>${h(page.host)}</h1>`,
    '<dl class="facts">',
    ...names,
    `<dt>Last verified</dt><dd>${verified(page.lastVerified, page.verifiedFrom)}</dd>`,
    `<dt>Last reached</dt><dd>${h(formatTime(page.lastReached))}${page.lastStatus === null ? '' : ` (last scan: ${h(page.lastStatus)})`}</dd>`,
    page.banner === null ? '' : `<dt>Banner</dt><dd class="mono">${h(page.banner)}</dd>`,
    '</dl>',
    '<section>',
    '<h2>Host keys</h2>',
    page.keys.length === 0
      ? '<p class="note">No trusted key yet: no scan has reached this host, or none of its keys has been accepted.</p>'
      : page.keys.map((k) => keyCard(k, 'h3')).join('\n'),
    '</section>',
  ]
  if (page.unaccepted.length > 0) {
    body.push(
      '<section>',
      '<h2>Changed keys not accepted</h2>',
      `<p class="warning">The host served ${page.unaccepted.length === 1 ? 'this key' : 'these keys'} at its last scan in place of a trusted one. Until someone verifies ${page.unaccepted.length === 1 ? 'it' : 'them'} with the host's owner and runs <code>hostkeys accept ${h(shellQuote(page.host))}</code>, do not trust ${page.unaccepted.length === 1 ? 'it' : 'them'}: nothing on this page vouches for ${page.unaccepted.length === 1 ? 'it' : 'them'}.</p>`,
      page.unaccepted.map((k) => keyCard(k, 'h3')).join('\n'),
      '</section>',
    )
  }
  if (page.refused.length > 0) {
    body.push(
      '<section>',
      '<h2>Refused keys: revoked or compromised</h2>',
      `<p class="warning">Never trust ${page.refused.length === 1 ? 'this key' : 'these keys'}, whoever serves ${page.refused.length === 1 ? 'it' : 'them'}: ${page.refused.map((k) => `${h(k.sha256)} is ${k.state}`).join('; ')}. No accept can make ${page.refused.length === 1 ? 'it' : 'them'} trusted; known_hosts exports mark ${page.refused.length === 1 ? 'it' : 'them'} @revoked.</p>`,
      page.refused.map((k) => keyCard(k, 'h3')).join('\n'),
      '</section>',
    )
  }
  body.push(
    '<section>',
    '<h2>known_hosts</h2>',
    page.knownHosts.length === 0
      ? '<p class="muted">No trusted key to write.</p>'
      : `<p>Lines for <code>~/.ssh/known_hosts</code> or <code>/etc/ssh/ssh_known_hosts</code>:</p>\n${linesBlock(page.knownHosts)}`,
  )
  if (page.certAuthorities.length > 0) {
    body.push(
      `<p>The host presents certificates signed by a trusted CA. With ${page.certAuthorities.length === 1 ? 'this line' : 'these lines'}, ssh accepts any host ${page.certAuthorities.length === 1 ? 'its patterns name' : 'their patterns name'} whose certificate that CA signed:</p>`,
      linesBlock(page.certAuthorities),
    )
  }
  body.push('</section>')
  if (page.certificates.length > 0) body.push('<section>', '<h2>Host certificates</h2>', certificateRows(page.certificates), '</section>')
  body.push(
    '<section>',
    '<h2>SSHFP records</h2>',
    page.sshfp.kind === 'lines'
      ? `<p>For the zone that holds the host's name (<code>VerifyHostKeyDNS</code> trusts them only from a DNSSEC-signed zone):</p>\n${linesBlock(page.sshfp.lines)}`
      : `<p class="muted">No SSHFP records: ${h(page.sshfp.why)}</p>`,
    '</section>',
    footer(meta),
  )
  return htmlDocument(`SSH host keys of ${page.host}`, body.filter((part) => part !== '').join('\n'))
}

/** index.html: every host, its key fingerprints and when they were last verified. */
export function renderIndexHtml(pages: readonly HostPage[], meta: SiteMeta): string {
  const rows = pages.map((page) =>
    [
      '<tr>',
      `<td><a href="${HOSTS_DIRECTORY}/${h(encodeURIComponent(page.stem))}.html">${h(page.host)}</a>`,
      page.aliases.length > 0 ? `<br><span class="muted">${page.aliases.map(h).join(', ')}</span>` : '',
      '</td>',
      '<td>',
      page.keys.length === 0
        ? '<span class="muted">no trusted key</span>'
        : `<ul class="plain">${page.keys.map((k) => `<li>${h(k.label)} <code>${h(k.sha256)}</code></li>`).join('')}</ul>`,
      page.unaccepted.length > 0 ? `<p class="sev-critical">${page.unaccepted.length} changed key(s) not accepted</p>` : '',
      '</td>',
      `<td>${verified(page.lastVerified, page.verifiedFrom)}</td>`,
      '</tr>',
    ].join(''),
  )
  const body = [
    `<h1>SSH host keys: ${pages.length} host${pages.length === 1 ? '' : 's'}</h1>`,
    '<p>The fingerprints each host serves, as a scan verified them. Before you answer <q>yes</q> to ssh\'s first-connection question, check that the fingerprint it shows is on this list.</p>',
    meta.knownHostsFile === null
      ? ''
      : `<p>Every trusted key of the fleet as one known_hosts file: <a href="${h(encodeURIComponent(meta.knownHostsFile))}">${h(meta.knownHostsFile)}</a>.</p>`,
    '<table>',
    '<thead><tr><th scope="col">Host</th><th scope="col">Keys (SHA256)</th><th scope="col">Last verified</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
    footer(meta),
  ]
  return htmlDocument('SSH host keys of the fleet', body.filter((part) => part !== '').join('\n'))
}
