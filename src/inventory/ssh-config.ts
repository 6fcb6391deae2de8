import { UserError } from '../domain/errors.js'
import { echoInput } from '../domain/echo.js'
import { globMatches } from '../domain/host-patterns.js'
import type { JumpChain, JumpHop } from '../domain/jump.js'
import { DEFAULT_SSH_PORT } from '../domain/target.js'
import { parseJumpSpecs, type JumpSpec } from './jump-spec.js'
import { parsePort } from './target-spec.js'

/* client config : an OpenSSH client configuration file (ssh_config(5)), read for what reaching a host
 *                 needs: which jump hosts (ProxyJump), and for each jump host its HostName, Port,
 *                 User and IdentityFile. Every other keyword is read past.
 * block         : the lines after one `Host` line (or before the first: they apply to every host)
 * first value   : ssh_config(5): "for each parameter, the first obtained value will be used";
 *                 IdentityFile is the exception, every value is kept, in order.
 *
 * Out of scope, said rather than guessed: `Match` blocks (their conditions can run commands, look at
 * the local user, the network...) and `Include` are skipped with a warning naming FILE:LINE, never
 * applied; a host whose ProxyCommand wins cannot be reached (we do not run commands) and says so. */

export class SshConfigError extends UserError {
  override name = 'SshConfigError'
}

interface Setting {
  readonly keyword: 'hostname' | 'port' | 'user' | 'identityfile' | 'proxyjump' | 'proxycommand'
  readonly value: string
  readonly line: number
}

interface Block {
  /** Null for the lines before the first Host line. */
  readonly patterns: readonly string[] | null
  readonly settings: Setting[]
}

export interface SshConfig {
  readonly file: string
  readonly blocks: readonly Block[]
  /** What was read past and why, each `FILE:LINE: …`: for stderr. */
  readonly warnings: readonly string[]
}

/** How a host is reached, by the first ProxyJump or ProxyCommand that applies to it. */
export type ProxySetting =
  | { readonly kind: 'direct' }
  | { readonly kind: 'jump'; readonly specs: readonly JumpSpec[]; readonly where: string }
  | { readonly kind: 'command'; readonly where: string }

/** The options one host name gets from the file, unexpanded except HostName's %h. */
export interface HostOptions {
  readonly hostName: string | null
  readonly port: number | null
  readonly user: string | null
  readonly identityFiles: readonly { readonly value: string; readonly where: string }[]
  /** Null when neither ProxyJump nor ProxyCommand applies. */
  readonly proxy: ProxySetting | null
}

/** The local side, for `~` and the `%` tokens. */
export interface LocalUser {
  readonly name: string
  readonly home: string
  readonly hostname: string
  readonly uid: number
}

const USED = new Set<Setting['keyword']>(['hostname', 'port', 'user', 'identityfile', 'proxyjump', 'proxycommand'])

/** ssh_config(5) TOKENS accepted by each keyword we expand (HostName takes %h and %% only). */
const HOSTNAME_TOKENS = new Set(['%', 'h'])
const IDENTITY_TOKENS = new Set(['%', 'd', 'u', 'h', 'r', 'n', 'p', 'l', 'i'])

/** Splits the arguments of one line as OpenSSH's argv_split() does: whitespace-separated words,
 * double or single quotes around a word with spaces, a backslash escaping the next character of a
 * quoted word, and a word starting with `#` ending the line. */
function splitWords(text: string): string[] | string {
  const words: string[] = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /[ \t]/.test(text[i]!)) i++
    if (i >= text.length || text[i] === '#') break
    let word = ''
    const quote = text[i] === '"' || text[i] === "'" ? text[i++] : null
    let closed = quote === null
    for (; i < text.length; i++) {
      const ch = text[i]!
      if (quote === null && /[ \t]/.test(ch)) break
      if (ch === quote) {
        i++
        closed = true
        break
      }
      if (ch === '\\' && quote !== null && i + 1 < text.length) {
        word += text[++i]
        continue
      }
      word += ch
    }
    if (!closed) return 'unterminated quote'
    words.push(word)
  }
  return words
}

function checkTokens(value: string, allowed: ReadonlySet<string>): string | null {
  for (const match of value.matchAll(/%(.?)/g)) {
    if (!allowed.has(match[1]!)) return `'%${match[1]}' is not a token this keyword expands (${[...allowed].map((t) => `%${t}`).join(' ')})`
  }
  return null
}

/** Parses one client config file whole; throws SshConfigError naming FILE:LINE for a malformed line. */
export function parseSshConfig(text: string, file: string): SshConfig {
  const blocks: Block[] = [{ patterns: null, settings: [] }]
  const warnings: string[] = []
  let skipping = false
  const lines = text.split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1
    const where = `${file}:${line}`
    const raw = lines[n]!.trim()
    if (raw.length === 0 || raw.startsWith('#')) continue
    const head = /^([A-Za-z][A-Za-z0-9]*)(?:[ \t]*=[ \t]*|[ \t]+|$)(.*)$/.exec(raw)
    if (!head) throw new SshConfigError(`${where}: '${echoInput(raw)}' is not 'Keyword value'`)
    const keyword = head[1]!.toLowerCase()
    const words = splitWords(head[2]!)
    if (typeof words === 'string') throw new SshConfigError(`${where}: ${words} in '${echoInput(raw)}'`)
    if (keyword === 'host') {
      if (words.length === 0) throw new SshConfigError(`${where}: Host needs at least one pattern`)
      blocks.push({ patterns: words, settings: [] })
      skipping = false
      continue
    }
    if (keyword === 'match') {
      warnings.push(`${where}: Match blocks are not supported; the lines up to the next Host or Match are ignored`)
      skipping = true
      continue
    }
    if (keyword === 'include') {
      warnings.push(`${where}: Include is not supported; '${echoInput(words.join(' '))}' is not read`)
      continue
    }
    if (skipping || !USED.has(keyword as Setting['keyword'])) continue
    if (words.length === 0) throw new SshConfigError(`${where}: ${head[1]} needs a value`)
    // ProxyCommand takes the rest of the line as one command; the others one word.
    const value = keyword === 'proxycommand' ? head[2]!.trim() : words[0]!
    if (keyword !== 'proxycommand' && words.length > 1 && keyword !== 'identityfile') {
      throw new SshConfigError(`${where}: ${head[1]} takes one value, got '${echoInput(words.join(' '))}'`)
    }
    let problem: string | null = null
    if (keyword === 'port' && parsePort(value) === null) problem = `'${echoInput(value)}' is not a port (1-65535)`
    if (keyword === 'hostname') problem = checkTokens(value, HOSTNAME_TOKENS)
    if (keyword === 'identityfile') problem = checkTokens(value, IDENTITY_TOKENS) ?? (/^~[^/]/.test(value) ? `'~user' is not supported, write the path` : null)
    if (keyword === 'proxyjump' && value.toLowerCase() !== 'none') {
      const specs = parseJumpSpecs(value)
      if (typeof specs === 'string') problem = specs
    }
    if (problem) throw new SshConfigError(`${where}: ${head[1]}: ${problem}`)
    blocks[blocks.length - 1]!.settings.push({ keyword: keyword as Setting['keyword'], value, line })
  }
  return { file, blocks, warnings }
}

/** Whether a Host line applies to `name` (readconf.c): a pattern matches it and no negated one does.
 * Case-sensitive, against the name as given, as ssh 9.2 does (`ssh -G UPPER` takes a `Host UPPER`
 * block, `ssh -G upper` does not); inventory names are lowercase. */
export function hostLineMatches(patterns: readonly string[], name: string): boolean {
  let matched = false
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue
    if (negated) return false
    matched = true
  }
  return matched
}

function expandPercent(value: string, tokens: Readonly<Record<string, string>>): string {
  return value.replace(/%(.)/g, (_, token: string) => tokens[token] ?? `%${token}`)
}

/** The options the file gives `name` (as typed: the name, not its HostName), first value first. */
export function optionsForHost(config: SshConfig, name: string): HostOptions {
  // ssh lowercases the name for HostName (and its %h) after the Host lines have matched it as typed.
  const host = name.toLowerCase()
  let hostName: string | null = null
  let port: number | null = null
  let user: string | null = null
  // readconf.c: ProxyJump and ProxyCommand each keep their first value, a ProxyJump to hosts also
  // sets ProxyCommand (to none), and a ProxyCommand after `ProxyJump none` still counts (ssh -G says so).
  let jump: { value: string; where: string } | null = null
  let command: { value: string; where: string } | null = null
  const identityFiles: { value: string; where: string }[] = []
  for (const block of config.blocks) {
    if (block.patterns !== null && !hostLineMatches(block.patterns, name)) continue
    for (const { keyword, value, line } of block.settings) {
      const where = `${config.file}:${line}`
      if (keyword === 'hostname') hostName ??= expandPercent(value, { h: host, '%': '%' })
      else if (keyword === 'port') port ??= parsePort(value)
      else if (keyword === 'user') user ??= value
      else if (keyword === 'identityfile') identityFiles.push({ value, where })
      else if (keyword === 'proxyjump') {
        if (jump === null && command === null) {
          jump = { value, where }
          if (value.toLowerCase() !== 'none') command = { value: 'none', where }
        }
      } else if (command === null) command = { value, where }
    }
  }
  let proxy: ProxySetting | null = null
  if (command !== null && command.value.toLowerCase() !== 'none') proxy = { kind: 'command', where: command.where }
  else if (jump !== null && jump.value.toLowerCase() !== 'none') proxy = { kind: 'jump', specs: parseJumpSpecs(jump.value) as JumpSpec[], where: jump.where }
  else if (jump !== null || command !== null) proxy = { kind: 'direct' }
  return { hostName, port, user, identityFiles, proxy }
}

/** `~` and the ssh_config(5) tokens of an IdentityFile, for one hop. */
export function expandIdentityFile(value: string, hop: { readonly name: string; readonly address: string; readonly port: number; readonly user: string }, local: LocalUser): string {
  const tilde = value === '~' ? local.home : value.startsWith('~/') ? `${local.home}${value.slice(1)}` : value
  return expandPercent(tilde, {
    '%': '%',
    d: local.home,
    u: local.name,
    h: hop.address,
    r: hop.user,
    n: hop.name,
    p: String(hop.port),
    l: local.hostname,
    i: String(local.uid),
  })
}

/** How a target is reached, decided by `--jump` and the client config. */
export type TargetRoute =
  | { readonly kind: 'direct' }
  | { readonly kind: 'jump'; readonly chain: JumpChain }
  /** The config asks for something we cannot do (ProxyCommand, a ProxyJump loop): the target's status says so. */
  | { readonly kind: 'unsupported'; readonly detail: string }

export interface RouteContext {
  /** The parsed `--ssh-config` file, or null. */
  readonly config: SshConfig | null
  /** `--jump`, or null: when given it is every target's chain, as `ssh -J` overrides ProxyJump. */
  readonly jump: readonly JumpSpec[] | null
  readonly local: LocalUser
}

/** ssh follows a jump host's own ProxyJump; a chain that long is a loop in the config. */
const MAX_CHAIN = 8

class RouteProblem extends Error {}

/** One hop with the config's options for its name; a name written with user@ or :port keeps them
 * (ssh -J's command line comes before the config). */
function hopFrom(spec: JumpSpec, source: string, context: RouteContext, follow: boolean, depth: number): JumpHop[] {
  const options = context.config ? optionsForHost(context.config, spec.host) : null
  const address = options?.hostName ?? spec.host
  const port = spec.port ?? options?.port ?? DEFAULT_SSH_PORT
  const user = spec.user ?? options?.user ?? context.local.name
  const base = { name: spec.host, address, port, user }
  const hop: JumpHop = { ...base, identityFiles: (options?.identityFiles ?? []).map((f) => expandIdentityFile(f.value, base, context.local)), source }
  // The first hop is reached as `ssh HOP` would reach it, by its own ProxyJump; later hops are
  // reached through the one before (ssh -J a,b runs `ssh -J a b`, where b's ProxyJump is overridden).
  if (!follow || !options?.proxy || options.proxy.kind === 'direct') return [hop]
  if (options.proxy.kind === 'command') throw new RouteProblem(`${options.proxy.where}: jump host ${spec.host} uses ProxyCommand, which hostkeys does not run (use ProxyJump)`)
  return [...chainFrom(options.proxy.specs, options.proxy.where, context, depth + 1), hop]
}

function chainFrom(specs: readonly JumpSpec[], source: string, context: RouteContext, depth: number): JumpHop[] {
  if (depth > MAX_CHAIN) throw new RouteProblem(`${source}: ProxyJump chains more than ${MAX_CHAIN} jump hosts (a loop in the config?)`)
  return specs.flatMap((spec, i) => hopFrom(spec, source, context, i === 0, depth))
}

/** The route to the target named `name` (its identity without port), and the address the config's
 * HostName gives it (null: none). Never throws: what cannot be done is an `unsupported` route. */
export function routeForTarget(name: string, context: RouteContext): { route: TargetRoute; hostName: string | null } {
  const options = context.config ? optionsForHost(context.config, name) : null
  const hostName = options?.hostName ?? null
  try {
    if (context.jump) return { route: { kind: 'jump', chain: chainFrom(context.jump, '--jump', context, 0) }, hostName }
    const proxy = options?.proxy
    if (!proxy || proxy.kind === 'direct') return { route: { kind: 'direct' }, hostName }
    if (proxy.kind === 'command') return { route: { kind: 'unsupported', detail: `${proxy.where}: ProxyCommand is not supported (hostkeys does not run commands; use ProxyJump)` }, hostName }
    return { route: { kind: 'jump', chain: chainFrom(proxy.specs, proxy.where, context, 0) }, hostName }
  } catch (e) {
    if (e instanceof RouteProblem) return { route: { kind: 'unsupported', detail: e.message }, hostName }
    throw e
  }
}
