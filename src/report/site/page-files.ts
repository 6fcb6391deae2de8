import { hash } from 'node:crypto'

/* page file : the name of a host's page in a published site. It is made from the host's identity,
 *             which the inventory (or a network's reverse DNS) chose, so it must be safe as one
 *             path component on every file system a site is copied to: no separator, no `..`, no
 *             leading dot, no character a shell, a URL or Windows treats specially, not a reserved
 *             DOS device name, at most 100 characters. `[name]:port` identities and IPv6 literals
 *             hold `[`, `]` and `:`. Whenever the identity had to be changed to get there, eight hex
 *             digits of its SHA-256 are appended, so two identities never share a file
 *             (`[a]:2222` and `a_2222` differ in the suffix), and the same identity always gets the
 *             same name: links stay stable across publishes. */

const MAX_STEM = 100
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i

/** The stem of a host's page file (no extension): `web1.example.com`, `web1.example.com_2222-3f2a1b9c`. */
export function hostPageStem(identity: string): string {
  const port = /^\[(.+)\]:(\d{1,5})$/.exec(identity)
  const readable = port ? `${port[1]}_${port[2]}` : identity
  let stem = readable
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, MAX_STEM)
  // A final dot is dropped by Windows, and a page named like another host's would be overwritten.
  const exact = stem === identity && !RESERVED.test(stem) && stem !== '' && !stem.endsWith('.')
  if (exact) return stem
  stem = stem.replace(/[._-]+$/, '')
  const suffix = hash('sha256', identity, 'hex').slice(0, 8)
  return stem === '' ? `host-${suffix}` : `${stem}-${suffix}`
}
