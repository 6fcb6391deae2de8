import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { echoInput } from '../domain/echo.js'
import { OperationalError, UserError } from '../domain/errors.js'
import type { KeyRecord } from '../domain/history.js'
import { familyOfType } from '../domain/host-key.js'
import { coversFamily, type KeyStatement, type StatedKey, type StatementSource } from '../domain/key-statement.js'
import { hostIdentity, isIpLiteral, parseIdentity } from '../domain/target.js'
import { hashedNameMatches } from '../domain/fingerprint/known-hosts-hash.js'
import { parseStatedKeyLine, STATED_KEY_FORMS, StatedKeySyntaxError, type StatedKeyLine } from '../domain/fingerprint/stated-key-line.js'
import { isHostName } from '../inventory/address.js'
import type { Store } from '../store/store.js'
import { parseHostArgument } from './host-argument.js'

/* The out-of-band commands' use cases (README "Out-of-band verification"):
 *   expect HOST FILE|-   what the host's owner says its keys are, in the forms they send
 *   self-report          what the host itself reads from its own key files
 * Both validate their whole input before the history is opened, record one statement that replaces
 * the source's previous one for the host, and say how it compares with what the host served at its
 * last scan. The scans compare from then on (analysis/oob-mismatch.ts). */

/** A line of input, parsed, with where it came from. */
interface SourcedLine {
  readonly where: string
  readonly line: StatedKeyLine
}

/** An owner's statement as given: parsed and validated; the host is not looked up yet. */
export interface OwnerStatementInput {
  /** `keys.txt`, or `stdin` for `-`. */
  readonly source: string
  readonly lines: readonly SourcedLine[]
}

/** Parses every line of an owner's statement; a line that is none of the forms is a UserError with
 * its FILE:LINE and the forms expected, before anything is opened or written. */
export function parseOwnerStatement(text: string, source: string): OwnerStatementInput {
  const lines: SourcedLine[] = []
  text.split('\n').forEach((raw, index) => {
    const where = `${source}:${index + 1}`
    try {
      const line = parseStatedKeyLine(raw)
      if (line) lines.push({ where, line })
    } catch (e) {
      if (!(e instanceof StatedKeySyntaxError)) throw e
      if (e.refused) throw new UserError(`${where}: ${e.message}`, { cause: e })
      throw new UserError(`${where}: ${e.message} ('${echoInput(raw.trim(), 80)}'); expected ${STATED_KEY_FORMS}`, { cause: e })
    }
  })
  if (lines.length === 0) throw new UserError(`${source}: no key in it; expected ${STATED_KEY_FORMS}`)
  return { source, lines }
}

/** `FILE` or `-` (stdin, read by the caller) as an owner's statement. */
export async function readOwnerStatement(file: string, stdin: () => Promise<string>): Promise<OwnerStatementInput> {
  if (file === '-') return parseOwnerStatement(await stdin(), 'stdin')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
    throw new OperationalError(`cannot read ${echoInput(file)}: ${why}`, { cause: e })
  }
  return parseOwnerStatement(text, file)
}

/** The host a statement is about: one of the history, or an identity no scan has recorded yet. */
export interface StatementHost {
  readonly identity: string
  /** The history has it. */
  readonly known: boolean
  /** Its bare names and addresses (the identity's first), as known_hosts lines may name it. */
  readonly names: readonly string[]
  readonly port: number
}

/**
 * The host HOST names: the one history host it names (as every host argument: identity, name or
 * address; a bare name on any port), else the identity `name` or `[name]:port` a scan will record it
 * under. `qualify`: a name without a dot may stand for the one known host whose name starts with
 * `name.` (self-report's default, the machine's short host name, for an inventory of FQDNs).
 */
export async function statementHost(store: Store, text: string, options: { qualify?: boolean } = {}): Promise<StatementHost> {
  const argument = parseHostArgument(text)
  if (!isHostName(argument.name) && !isIpLiteral(argument.name)) {
    throw new UserError(`'${echoInput(text, 80)}' is not a host name, an address, [name]:port or name:port`)
  }
  let matches = await store.matchHosts(argument.name, argument.port)
  if (matches.length === 0 && options.qualify && !argument.name.includes('.') && !isIpLiteral(argument.name)) {
    const qualified = [...new Set((await store.hostNames()).map((n) => parseIdentity(n)).filter((n) => n.name.startsWith(`${argument.name}.`)).map((n) => n.name))]
    if (qualified.length === 1) matches = await store.matchHosts(qualified[0]!, argument.port)
    else if (qualified.length > 1) {
      throw new UserError(`'${text}' may be ${qualified.join(', ')}; give the name the inventory uses with --host`)
    }
  }
  if (matches.length > 1) throw new UserError(`'${text}' names ${matches.length} hosts: ${matches.join(', ')}; give the port, as [name]:port`)
  if (matches.length === 1) {
    const identity = matches[0]!
    const timeline = await store.hostTimeline(identity)
    const { name, port } = parseIdentity(identity)
    return { identity, known: true, names: [...new Set([name, ...(timeline?.names ?? [])])], port }
  }
  const port = argument.port ?? 22
  return { identity: hostIdentity(argument.name, port), known: false, names: [argument.name], port }
}

/** The HOST's names as a known_hosts line writes them: `name` on port 22, `[name]:port` otherwise. */
function knownHostsNames(host: StatementHost): string[] {
  return host.names.map((n) => hostIdentity(n, host.port))
}

/** Refuses a known_hosts line that names another host: the statement would be about the wrong one. */
function checkNamesHost(sourced: SourcedLine, host: StatementHost): void {
  const { line, where } = sourced
  if (line.form !== 'known_hosts') return
  const wanted = knownHostsNames(host)
  if (line.hashed) {
    if (wanted.some((name) => hashedNameMatches(line.hashed!.salt, line.hashed!.hmac, name))) return
    throw new UserError(`${where}: this hashed known_hosts line names another host: its hash matches none of ${wanted.join(', ')}`)
  }
  const names = line.names.map((n) => n.toLowerCase())
  if (names.some((n) => wanted.includes(n))) return
  throw new UserError(`${where}: this known_hosts line names ${echoInput(names.join(','), 80)}, not ${host.identity} (${wanted.join(', ')})`)
}

/** Keys stated twice (a .pub and its -cert.pub, a line pasted twice) once; order kept. */
function distinctKeys(keys: readonly StatedKey[]): StatedKey[] {
  const seen = new Set<string>()
  return keys.filter((k) => {
    const id = `${k.family} ${k.sha256 ?? k.md5}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** How a statement compares with the keys the host served at its last scan. */
export interface LastScanAgreement {
  /** Keys served at the last scan, of families the statement covers (every family when it is
   * complete), that it does not state. */
  readonly differing: readonly KeyRecord[]
  /** Keys served at the last scan that the statement does state. */
  readonly agreeing: readonly KeyRecord[]
}

export interface RecordedStatement {
  readonly statement: KeyStatement
  readonly host: StatementHost
  readonly replaced: Pick<KeyStatement, 'statedAt' | 'statedBy'> | null
  /** Null when the host has not been reached by a scan yet. */
  readonly lastScan: LastScanAgreement | null
}

function compareWithLastScan(statement: Pick<KeyStatement, 'keys' | 'complete'>, served: readonly KeyRecord[]): LastScanAgreement | null {
  const current = served.filter((r) => r.current)
  if (current.length === 0) return null
  const keys = statement.keys
  const differing: KeyRecord[] = []
  const agreeing: KeyRecord[] = []
  for (const record of current) {
    const family = familyOfType(record.type)
    if (!coversFamily(statement, family)) continue
    const match = keys.some((k) => k.family === family && (k.sha256 !== null ? k.sha256 === record.sha256 : k.md5 === record.md5))
    ;(match ? agreeing : differing).push(record)
  }
  return { differing, agreeing }
}

async function recordStatement(
  store: Store,
  host: StatementHost,
  said: { source: StatementSource; statedBy: string; keys: readonly StatedKey[]; complete: boolean },
  at: Date,
): Promise<RecordedStatement> {
  const statement: KeyStatement = { host: host.identity, source: said.source, statedAt: at, statedBy: said.statedBy, keys: distinctKeys(said.keys), complete: said.complete }
  const recorded = await store.recordKeyStatement(statement)
  const lastScan = host.known ? compareWithLastScan(statement, await store.lookupHost(host.identity)) : null
  return { statement, host, replaced: recorded.replaced, lastScan }
}

/** `expect HOST FILE|-`: records the owner's statement about HOST's keys; `complete` when the owner
 * says the list is every key the host has (then a served key of a family it lacks contradicts it). */
export async function expectKeys(
  store: Store,
  hostArgument: string,
  input: OwnerStatementInput,
  by: { actor: string; at: Date; complete?: boolean },
): Promise<RecordedStatement> {
  const host = await statementHost(store, hostArgument)
  for (const line of input.lines) checkNamesHost(line, host)
  const keys = input.lines.map((l) => l.line.key)
  return recordStatement(store, host, { source: 'expect', statedBy: `expect by ${by.actor} from ${input.source}`, keys, complete: by.complete ?? false }, by.at)
}

/** The host's own key files, as sshd's defaults name them (sshd_config(5) HostKey, HostCertificate). */
const OWN_KEY_FILE = /^ssh_host_[a-z0-9_]+_key(-cert)?\.pub$/

/** What a host reads of its own keys: every `ssh_host_*_key.pub` and `*-cert.pub` in `dir`. */
export async function readOwnKeys(dir: string): Promise<{ keys: StatedKey[]; files: string[] }> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (e) {
    throw new OperationalError(`cannot read the key directory ${echoInput(dir)}: ${(e as Error).message}`, { cause: e })
  }
  const files = entries.filter((f) => OWN_KEY_FILE.test(f)).sort()
  if (files.length === 0) throw new UserError(`${echoInput(dir)} holds no host key (ssh_host_*_key.pub); give the directory sshd's HostKey files are in with --keys-dir`)
  const keys: StatedKey[] = []
  for (const file of files) {
    const full = path.join(dir, file)
    let text: string
    try {
      text = await readFile(full, 'utf8')
    } catch (e) {
      throw new OperationalError(`cannot read ${echoInput(full)}: ${(e as Error).message}`, { cause: e })
    }
    const input = parseOwnerStatement(text, full)
    for (const { line, where } of input.lines) {
      if (line.form !== 'public key') throw new UserError(`${where}: a host key file holds one public key line 'TYPE BASE64 [COMMENT]', not ${line.form} output`)
      keys.push({ ...line.key, comment: full })
    }
  }
  return { keys, files: files.map((f) => path.join(dir, f)) }
}

/** `self-report`: records what the host's own key files say, as the host's statement about itself.
 * Complete by nature: the host read every key file it has, so a served key it lacks, of any family,
 * was not served by it. */
export async function selfReport(
  store: Store,
  own: { keys: readonly StatedKey[]; dir: string },
  host: { name: string; given: boolean },
  by: { actor: string; machine: string; at: Date },
): Promise<RecordedStatement> {
  const target = await statementHost(store, host.name, { qualify: !host.given })
  const statedBy = `self-report by ${by.actor} on ${by.machine} from ${own.dir}`
  return recordStatement(store, target, { source: 'self-report', statedBy, keys: own.keys, complete: true }, by.at)
}

/** The statements in force about a host of the history (`history HOST` shows them). */
export function statementsAbout(store: Store, identity: string): Promise<KeyStatement[]> {
  return store.keyStatements(identity)
}
