import type { Finding, FindingKind } from '../domain/finding.js'
import { shellQuote } from '../domain/shell-quote.js'
import { isAddressIdentity, parseIdentity } from '../domain/target.js'

/* action : the hostkeys command that closes a finding, for the fleet report's "needs action" table;
 *          null where no hostkeys command does (a weak key is replaced on the host; an unreachable
 *          host answers again or is taken out of the inventory; a revoked key must go from the host, as
 *          accepting it would not make it safe). Accepting is what closes a changed
 *          key or CA, but only after the change was checked with the host's owner, so the report says
 *          so beside it. Host names are quoted for a POSIX shell: identities such as
 *          `[web1.example.com]:2222` hold glob characters. */

const ACCEPT: ReadonlySet<FindingKind> = new Set([
  'key_changed',
  'key_added',
  'key_removed',
  'ca_changed',
  'cert_removed',
  'interception',
])
const SSHFP: ReadonlySet<FindingKind> = new Set(['sshfp_mismatch', 'sshfp_missing', 'sshfp_stale'])

// Kept in domain/ so that analysis/, which writes the commands into finding messages, quotes the same way.
export { shellQuote } from '../domain/shell-quote.js'

export interface FindingAction {
  /** The command line to run. */
  readonly command: string
  /** What to make sure of first, when running it blind would be wrong. */
  readonly first: string | null
}

/** The command that resolves a finding, or null when none does. */
export function actionFor(finding: Finding): FindingAction | null {
  const host = shellQuote(finding.host)
  if (ACCEPT.has(finding.kind)) {
    return { command: `hostkeys accept ${host}`, first: 'verify the new key or CA with the host\'s owner out of band' }
  }
  if (finding.kind === 'duplicate_key') {
    return { command: `hostkeys allow-shared ${[...new Set(finding.hosts)].map(shellQuote).join(' ')}`, first: 'only if these hosts legitimately share the key' }
  }
  if (SSHFP.has(finding.kind) && !isAddressIdentity(finding.host)) {
    return { command: `hostkeys sshfp --format nsupdate --diff ${shellQuote(parseIdentity(finding.host).name)}`, first: 'then feed the update to nsupdate' }
  }
  return null
}
