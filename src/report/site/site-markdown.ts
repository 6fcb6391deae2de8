import type { HostPage, PublishedKey } from './host-page.js'
import { escapeMarkdown as md, formatTime, markdownCode as code, markdownCodeBlock } from './page-text.js'
import { HOSTS_DIRECTORY, type SiteMeta } from './site-html.js'
import { shellQuote } from '../finding-actions.js'

/* The same site in Markdown, for a wiki: index.md and hosts/STEM.md, the same content and relative
 * links as the HTML. Text goes through escapeMarkdown, values through code spans, lines and pictures
 * through fenced blocks whose fence no content can close. */

/** A code span inside a table cell: GFM splits cells at every unescaped `|`, code spans included. */
function cellCode(text: string): string {
  return code(text).replace(/\|/g, '\\|')
}

function verified(at: Date | null, from: string | null, spans: (text: string) => string = code): string {
  if (at === null) return 'not verified by a scan'
  return `${(formatTime(at))}${from === null ? '' : ` from ${spans(from)}`}`
}

function footer(meta: SiteMeta): string {
  return `---\n\nPublished by hostkeys at ${(formatTime(meta.generatedAt))}\\. A fingerprint here is what the named scanner saw when it last verified the key; compare it with what your client shows on first connection (${code('ssh -o VisualHostKey=yes HOST')} prints the same pictures)\\.`
}

function keySection(key: PublishedKey): string {
  return [
    `### ${md(key.label)}${key.current ? '' : ' \\(not served at the last scan\\)'}`,
    '',
    `- SHA256: ${code(key.sha256)}`,
    `- MD5: ${code(key.md5)}`,
    `- Last verified: ${verified(key.lastVerified, key.verifiedFrom)}`,
    `- First seen: ${(formatTime(key.firstSeen))}${key.source === 'import' ? ' \\(imported from a known\\_hosts file\\)' : ''}`,
    '',
    markdownCodeBlock(`${key.artSha256}\n${key.artMd5}`),
  ].join('\n')
}

/** hosts/STEM.md. */
export function renderHostMarkdown(page: HostPage, meta: SiteMeta): string {
  const out: string[] = ['[All hosts](../index.md)', '', `# ${md(page.host)}`, '']
  if (page.aliases.length > 0) out.push(`- Also known as: ${page.aliases.map(code).join(', ')}`)
  if (page.addresses.length > 0) out.push(`- Addresses: ${page.addresses.map(code).join(', ')}`)
  out.push(`- Last verified: ${verified(page.lastVerified, page.verifiedFrom)}`)
  out.push(`- Last reached: ${(formatTime(page.lastReached))}${page.lastStatus === null ? '' : ` \\(last scan: ${md(page.lastStatus)}\\)`}`)
  if (page.banner !== null) out.push(`- Banner: ${code(page.banner)}`)
  out.push('', '## Host keys', '')
  if (page.keys.length === 0) out.push('No trusted key yet: no scan has reached this host, or none of its keys has been accepted\\.', '')
  for (const key of page.keys) out.push(keySection(key), '')
  if (page.unaccepted.length > 0) {
    out.push(
      '## Changed keys not accepted',
      '',
      `> **Warning:** the host served ${page.unaccepted.length === 1 ? 'this key' : 'these keys'} at its last scan in place of a trusted one\\. Until someone verifies ${page.unaccepted.length === 1 ? 'it' : 'them'} with the host's owner and runs ${code(`hostkeys accept ${shellQuote(page.host)}`)}, do not trust ${page.unaccepted.length === 1 ? 'it' : 'them'}\\.`,
      '',
    )
    for (const key of page.unaccepted) out.push(keySection(key), '')
  }
  if (page.refused.length > 0) {
    out.push(
      '## Refused keys: revoked or compromised',
      '',
      `> **Never trust:** ${page.refused.map((k) => `${code(k.sha256)} is ${k.state}`).join('; ')}\\. No accept can make ${page.refused.length === 1 ? 'it' : 'them'} trusted; known\\_hosts exports mark ${page.refused.length === 1 ? 'it' : 'them'} @revoked\\.`,
      '',
    )
    for (const key of page.refused) out.push(keySection(key), '')
  }
  out.push('## known\\_hosts', '')
  if (page.knownHosts.length === 0) out.push('No trusted key to write\\.', '')
  else out.push(`Lines for ${code('~/.ssh/known_hosts')} or ${code('/etc/ssh/ssh_known_hosts')}:`, '', markdownCodeBlock(page.knownHosts.join('\n')), '')
  if (page.certAuthorities.length > 0) {
    out.push(
      'The host presents certificates signed by a trusted CA\\. With these lines, ssh accepts any host their patterns name whose certificate that CA signed:',
      '',
      markdownCodeBlock(page.certAuthorities.join('\n')),
      '',
    )
  }
  if (page.certificates.length > 0) {
    out.push('## Host certificates', '', '| Family | Key ID | Serial | Principals | Valid until | Signed by | State |', '|---|---|---:|---|---|---|---|')
    for (const c of page.certificates) {
      const state = c.removed ? 'no longer presented' : c.signatureValid ? 'presented' : '**bad signature**'
      out.push(
        `| ${md(c.family)} | ${cellCode(c.keyId)} | ${md(c.serial)} | ${c.principals.length === 0 ? 'any' : c.principals.map(cellCode).join(', ')} | ${c.validBefore === null ? 'forever' : (formatTime(c.validBefore))} | ${cellCode(c.caSha256)}${c.caTrusted ? '' : ' \\(not a trusted CA for this host\\)'} | ${state} |`,
      )
    }
    out.push('')
  }
  out.push('## SSHFP records', '')
  if (page.sshfp.kind === 'lines') {
    out.push(`For the zone that holds the host's name \\(${code('VerifyHostKeyDNS')} trusts them only from a DNSSEC\\-signed zone\\):`, '', markdownCodeBlock(page.sshfp.lines.join('\n')), '')
  } else {
    out.push(`No SSHFP records: ${md(page.sshfp.why)}`, '')
  }
  out.push(footer(meta), '')
  return out.join('\n')
}

/** index.md. */
export function renderIndexMarkdown(pages: readonly HostPage[], meta: SiteMeta): string {
  const out = [
    `# SSH host keys: ${pages.length} host${pages.length === 1 ? '' : 's'}`,
    '',
    "The fingerprints each host serves, as a scan verified them\\. Before you answer yes to ssh's first\\-connection question, check that the fingerprint it shows is on this list\\.",
    '',
  ]
  if (meta.knownHostsFile !== null) out.push(`Every trusted key of the fleet as one known\\_hosts file: [${md(meta.knownHostsFile)}](${encodeURIComponent(meta.knownHostsFile)})\\.`, '')
  out.push('| Host | Keys (SHA256) | Last verified |', '|---|---|---|')
  for (const page of pages) {
    const link = `[${md(page.host)}](${HOSTS_DIRECTORY}/${encodeURIComponent(page.stem)}.md)`
    const aliases = page.aliases.length > 0 ? `<br>${page.aliases.map(md).join(', ')}` : ''
    const keys = page.keys.length === 0 ? 'no trusted key' : page.keys.map((k) => `${md(k.label)} ${cellCode(k.sha256)}`).join('<br>')
    const changed = page.unaccepted.length > 0 ? `<br>**${page.unaccepted.length} changed key\\(s\\) not accepted**` : ''
    out.push(`| ${link}${aliases} | ${keys}${changed} | ${verified(page.lastVerified, page.verifiedFrom, cellCode)} |`)
  }
  out.push('', footer(meta), '')
  return out.join('\n')
}
