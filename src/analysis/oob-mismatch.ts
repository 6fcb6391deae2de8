import type { Finding } from '../domain/finding.js'
import type { KeyFamily, Sha256Fingerprint } from '../domain/host-key.js'
import { coversFamily, statedFingerprint, type KeyStatement, type StatedKey } from '../domain/key-statement.js'
import type { ScannedHost, ScannedKey } from '../domain/scanned-host.js'
import { md5Fingerprint } from '../domain/fingerprint/key-blob.js'
import { shellQuote } from '../domain/shell-quote.js'
import { hostIdentity } from '../domain/target.js'

/* Out-of-band verification (issue 13): the check the SSH guides give for a firewall that may be
 * proxying SSH: ask the other side for its fingerprints over another channel and compare them with
 * what your client sees. A statement (domain/key-statement.ts) is that other side; the scan is what
 * this scanner's network path shows. A served key of a family the statement covers that matches none
 * of its keys of that family is oob_mismatch. A complete statement (a self-report, `expect --complete`)
 * covers every family: a served key of a family it does not list is oob_mismatch too, which is how an
 * interceptor that serves only its own key of another family (the family swap) is caught. A family the
 * statement lists that the scan did not see is nothing: a scan asked for fewer families (-t), a probe
 * failed, or sshd does not load every key file it has; only a key actually served can contradict a
 * statement. */

/** The newest statement of each source (the store gives only those in force; two unbound ones of a
 * source can meet once a scan names both their hosts' names). */
function inForce(statements: readonly KeyStatement[]): KeyStatement[] {
  const newest = new Map<string, KeyStatement>()
  for (const s of statements) {
    const kept = newest.get(s.source)
    if (!kept || s.statedAt > kept.statedAt) newest.set(s.source, s)
  }
  return [...newest.values()].sort((a, b) => a.source.localeCompare(b.source))
}

/** True when the stated key is the served one: by SHA-256 when stated, else by MD5. */
export function statedKeyMatches(stated: StatedKey, served: Pick<ScannedKey, 'sha256' | 'blob'>): boolean {
  if (stated.sha256 !== null) return stated.sha256 === served.sha256
  return stated.md5 === md5Fingerprint(served.blob)
}

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function whoSaid(statement: KeyStatement): string {
  const whose = statement.source === 'self-report' ? "the host's own report" : "its owner's statement"
  return `${whose} (${statement.statedBy}, ${when(statement.statedAt)})`
}

function listed(keys: readonly StatedKey[]): string {
  return keys.map(statedFingerprint).join(' or ')
}

/** What one disagreeing statement says of the served key's family. */
function view(statement: KeyStatement, family: KeyFamily): string {
  const ofFamily = statement.keys.filter((k) => k.family === family)
  if (ofFamily.length > 0) return `${whoSaid(statement)} says its ${family} key is ${listed(ofFamily)}`
  const others = [...new Set(statement.keys.map((k) => k.type ?? k.family))].join(', ')
  return `${whoSaid(statement)}, which lists every key the host has, has no ${family} key (only ${others})`
}

/** What to check first and what to run. A suggested command is set off in backquotes, its host
 * quoted for a POSIX shell: what is between the backquotes is safe to paste, whatever the name holds. */
function advice(host: string, family: KeyFamily, disagreeing: readonly KeyStatement[], agreeing: readonly KeyStatement[]): string {
  const quoted = shellQuote(host)
  const report = disagreeing.find((s) => s.source === 'self-report')
  if (report) {
    const lacks = !report.keys.some((k) => k.family === family)
    return (
      `${lacks ? `The host itself reports no ${family} key` : 'The host itself reports a different key'}, so suspect the network path first: ` +
      'something between this scanner and the host answers in its name (a proxying firewall, a spoofed address or DNS name). ' +
      `Only if ${lacks ? `a ${family} key was added to the host` : 'the host was rebuilt'} after its last report is the report stale: ` +
      'then run `hostkeys self-report --host ' + quoted + '` on it again.'
    )
  }
  if (agreeing.some((s) => s.source === 'self-report')) {
    return (
      "The host's own report agrees with what this scan sees, so the owner's list is most likely stale: ask the owner again and " +
      'record their current keys with `hostkeys expect ' + quoted + ' FILE`.'
    )
  }
  return (
    "Either the path between this scanner and the host is intercepted or the owner's list is stale: compare with the owner " +
    `again over a channel you trust (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${family.replace('-', '_')}_key.pub). If their ` +
    'keys changed, record them with `hostkeys expect ' + quoted + ' FILE`; if they still send what they sent before, treat the path as intercepted.'
  )
}

/**
 * oob_mismatch (critical) for each key the host served that a statement about it contradicts: the
 * statement covers the key's family (lists keys of it, or is complete) and none of its keys is the
 * served key. One finding per served key, naming every statement that disagrees. Pure; `statements`
 * are those in force for this host.
 */
export function oobMismatchFindings(host: ScannedHost, statements: readonly KeyStatement[]): Finding[] {
  if (statements.length === 0 || host.keys.length === 0) return []
  const current = inForce(statements)
  const findings: Finding[] = []
  for (const key of host.keys) {
    const disagreeing: KeyStatement[] = []
    const agreeing: KeyStatement[] = []
    for (const statement of current) {
      if (!coversFamily(statement, key.family)) continue
      const stated = statement.keys.some((k) => k.family === key.family && statedKeyMatches(k, key))
      ;(stated ? agreeing : disagreeing).push(statement)
    }
    if (disagreeing.length === 0) continue
    const views = disagreeing.map((s) => view(s, key.family))
    const expected = disagreeing.flatMap((s) => s.keys.filter((k) => k.family === key.family && k.sha256 !== null).map((k) => k.sha256!))
    const previous: Sha256Fingerprint | null = new Set(expected).size === 1 ? expected[0]! : null
    findings.push({
      kind: 'oob_mismatch',
      severity: 'critical',
      host: host.host,
      hosts: [host.host],
      keyType: key.type,
      fingerprint: key.sha256,
      previous,
      message:
        `${host.host} serves the ${key.type} key ${key.sha256} (${md5Fingerprint(key.blob)}) to this scanner, but ${views.join('; and ')}. ` +
        advice(host.host, key.family, disagreeing, agreeing),
    })
  }
  return findings
}

/** The identities a statement not yet bound to a host may name this scanned host by: its identity,
 * and each of its other names and addresses on its port (`name`, `[name]:port`). */
export function statementNames(host: ScannedHost): string[] {
  return [...new Set([host.host, ...[...host.aliases, ...host.addresses].map((name) => hostIdentity(name, host.port))])]
}
