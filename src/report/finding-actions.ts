import type { Finding } from '../domain/finding.js'
import { FINDING_CATALOGUE } from '../domain/finding-catalogue.js'
import { shellQuote } from '../domain/shell-quote.js'
import { isAddressIdentity, parseIdentity } from '../domain/target.js'

export { shellQuote } from '../domain/shell-quote.js'

/* action : the hostkeys command that closes a finding, for the fleet report's "needs action" table,
 *          read from the finding catalogue's `resolveWith` (domain/finding-catalogue.ts); null where no
 *          hostkeys command does (a weak key is replaced on the host). Every word taken from the finding
 *          is quoted for a POSIX shell: identities such as `[web1.example.com]:2222` hold glob characters,
 *          and a name imported from someone's known_hosts file can hold anything. */

export interface FindingAction {
  /** The command line to run. */
  readonly command: string
  /** What to make sure of first, when running it blind would be wrong. */
  readonly first: string | null
}

/** The command that resolves a finding, or null when none does. */
export function actionFor(finding: Finding): FindingAction | null {
  const spec = FINDING_CATALOGUE[finding.kind]
  if (spec.resolveWith === null) return null
  if (spec.resolveWith.includes('NAME') && isAddressIdentity(finding.host)) return null
  const command = spec.resolveWith
    .replace('HOSTS', [...new Set(finding.hosts)].map(shellQuote).join(' '))
    .replace('HOST', shellQuote(finding.host))
    .replace('NAME', shellQuote(parseIdentity(finding.host).name))
  return { command, first: spec.checkFirst }
}
