import type { Client as Ssh2Client } from 'ssh2'
import type { KeyFamily, KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { formatChain, formatHop, type JumpChain, type JumpHop } from '../domain/jump.js'
import { isReached, type Observation } from '../domain/observation.js'
import { formatEndpoint, hostIdentity, type Target } from '../domain/target.js'
import { readKeyTypeAndBits, sha256Fingerprint } from '../domain/fingerprint/key-blob.js'
import { loginToJumpHost, type JumpCredentials } from './jump-login.js'
import type { OpenedStream, ProbePath } from './probe-path.js'
import { scanHost } from './scan-host.js'

/* The jump hosts of a scan, each reached once and shared by every target behind it.
 *
 * Before anything is sent through a jump host it is scanned like any target (through the hops before
 * it), and that observation joins the scan's: recorded, judged, trusted on first use. Its keys are
 * compared with those the history trusts; a changed key stops the path there and every target behind
 * it ends `jump-failed` (a compromised bastion sees everything behind it), while the jump host's own
 * observation raises key_changed as any host's would. The login then accepts only a key the history
 * trusts or, for a key type it has none of, the key the scan just observed.
 *
 * Probes behind a jump host run over `direct-tcpip` channels (RFC 4254 §7.2) of a few connections
 * per jump host, each carrying a bounded number of channels at once. OpenSSH's MaxSessions counts
 * sessions, not these channels, but a server may still refuse: a channel refused for a target
 * (administratively prohibited, connect failed) is that target's status; a resource shortage is
 * retried a few times. */

export interface JumpHostTrust {
  /** The SHA256 fingerprints the history trusts for this jump host, by key type; empty when the host
   * is new to it (or there is no history). */
  trustedKeys(hop: JumpHop): Promise<ReadonlyMap<KeyType, ReadonlySet<Sha256Fingerprint>>>
}

export interface JumpNetworkOptions {
  /** The scan's families: a jump host is scanned as any target. */
  readonly families: readonly KeyFamily[] | null
  readonly timeoutMs: number
  readonly credentials: JumpCredentials
  readonly trust: JumpHostTrust
  /** Each jump host's observation, once per chain, before anything is sent through it. */
  readonly onJumpHost: (observation: Observation) => void
  readonly signal?: AbortSignal
  /** Connections per jump host (default 2). */
  readonly connectionsPerHop?: number
  /** Channels open at once on one connection (default 10, OpenSSH's MaxSessions default). */
  readonly channelsPerConnection?: number
}

/** A login takes more round trips than a probe (agent, signatures): never less than this. */
const MIN_LOGIN_TIMEOUT_MS = 10_000
/** Attempts at one channel when the server is short of resources (RFC 4254 §5.1 reason 4). */
const CHANNEL_ATTEMPTS = 4
const RETRY_BASE_MS = 100

/** RFC 4254 §5.1 channel open failure reason codes. */
const ADMINISTRATIVELY_PROHIBITED = 1
const CONNECT_FAILED = 2
const RESOURCE_SHORTAGE = 4

/** server_host_key_algorithms (RFC 8332 for rsa-sha2-*) that yield a key of each type ssh2 supports. */
const ALGORITHMS_OF: Partial<Record<KeyType, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}

export class JumpNetwork {
  private readonly links = new Map<string, JumpLink>()
  private closed = false

  constructor(private readonly options: JumpNetworkOptions) {}

  /** The path through `chain` (its last hop opens the channels); made once per chain and shared. */
  pathFor(chain: JumpChain): ProbePath {
    const key = formatChain(chain)
    let link = this.links.get(key)
    if (!link) {
      const parent = chain.length > 1 ? this.pathFor(chain.slice(0, -1)) : null
      link = new JumpLink(chain, parent as JumpLink | null, this.options, () => this.closed)
      this.links.set(key, link)
    }
    return link
  }

  /** Ends every jump host connection: the last hops first, so no channel is cut under a login. */
  close(): void {
    this.closed = true
    for (const link of [...this.links.values()].reverse()) link.close()
  }
}

interface Connection {
  readonly client: Ssh2Client
  channels: number
  alive: boolean
}

type Channel = { ok: true; stream: OpenedStream & { ok: true } } | { ok: false; failure: OpenedStream & { ok: false }; retry: boolean }

class JumpLink implements ProbePath {
  readonly via: string
  private readonly hop: JumpHop
  private ready: Promise<string | null> | null = null
  /** Keys the login may accept, by type; set once the jump host's observation is judged. */
  private acceptable = new Map<KeyType, ReadonlySet<string>>()
  private readonly connections: Connection[] = []
  private maxConnections: number
  private readonly perConnection: number
  private connecting: Promise<string | null> | null = null
  private waiting: (() => void)[] = []

  constructor(
    chain: JumpChain,
    private readonly parent: JumpLink | null,
    private readonly options: JumpNetworkOptions,
    private readonly isClosed: () => boolean,
  ) {
    this.via = formatChain(chain)
    this.hop = chain[chain.length - 1]!
    this.maxConnections = Math.max(1, options.connectionsPerHop ?? 2)
    this.perConnection = Math.max(1, options.channelsPerConnection ?? 10)
  }

  async open(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<OpenedStream> {
    this.ready ??= this.establish()
    const problem = await this.ready
    if (problem !== null) return { ok: false, status: 'jump-failed', detail: problem }
    let last: OpenedStream & { ok: false } = { ok: false, status: 'jump-failed', detail: `jump host ${formatHop(this.hop)}: no channel` }
    for (let attempt = 1; attempt <= CHANNEL_ATTEMPTS; attempt++) {
      if (signal?.aborted || this.isClosed()) return { ok: false, status: 'timeout', detail: 'scan aborted' }
      const connection = await this.takeChannelSlot()
      if (typeof connection === 'string') return { ok: false, status: 'jump-failed', detail: connection }
      const channel = await this.openChannel(connection, address, port, timeoutMs, signal)
      if (channel.ok) return channel.stream
      last = channel.failure
      if (!channel.retry) return last
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1)))
    }
    return last
  }

  close(): void {
    for (const connection of this.connections) connection.client.end()
    this.connections.length = 0
    this.wakeAll()
  }

  /** Scans the jump host, judges its keys, logs in once: null when the path is up, else why not. */
  private async establish(): Promise<string | null> {
    const hop = this.hop
    const who = formatHop(hop)
    const target: Target = {
      host: hostIdentity(hop.name, hop.port),
      address: hop.address,
      port: hop.port,
      aliases: hop.address !== hop.name ? [hop.address] : [],
      source: hop.source,
    }
    const observation = await scanHost(
      target,
      { families: this.options.families, timeoutMs: this.options.timeoutMs, ...(this.options.signal ? { signal: this.options.signal } : {}) },
      this.parent ? { path: this.parent } : {},
    )
    this.options.onJumpHost(observation)
    if (!isReached(observation.status)) return `jump host ${who}: ${observation.status}${observation.error ? `: ${observation.error}` : ''}`

    let trusted: ReadonlyMap<KeyType, ReadonlySet<Sha256Fingerprint>>
    try {
      trusted = await this.options.trust.trustedKeys(hop)
    } catch (e) {
      return `jump host ${who}: the history could not say which keys it trusts (${(e as Error).message})`
    }
    const changed = observation.keys.filter((key) => trusted.get(key.type)?.has(key.sha256) === false)
    if (changed.length > 0) {
      const keys = changed.map((key) => `${key.type} ${key.sha256}`).join(', ')
      return `jump host ${who}: host key changed (${keys} is not the key the history trusts); nothing was sent through it (see the key_changed finding of ${target.host})`
    }
    for (const [type, fingerprints] of trusted) this.acceptable.set(type, fingerprints)
    for (const key of observation.keys) if (!trusted.has(key.type)) this.acceptable.set(key.type, new Set([key.sha256]))
    if ([...this.acceptable.keys()].every((type) => ALGORITHMS_OF[type] === undefined)) {
      return `jump host ${who}: none of its host keys (${[...this.acceptable.keys()].join(', ')}) is of a type ssh2 can log in with`
    }
    return this.connect()
  }

  /** One more connection to the jump host: through the previous hop's channel, or over TCP. */
  private async connect(): Promise<string | null> {
    const hop = this.hop
    let sock = null
    if (this.parent) {
      const opened = await this.parent.open(hop.address, hop.port, this.options.timeoutMs, this.options.signal)
      if (!opened.ok) return `jump host ${formatHop(hop)} (through ${this.parent.via}): ${opened.status}: ${opened.detail}`
      sock = opened.stream
    }
    const hostKeyAlgorithms = [...this.acceptable.keys()].flatMap((type) => ALGORITHMS_OF[type] ?? [])
    const login = await loginToJumpHost({
      hop,
      sock,
      credentials: this.options.credentials,
      hostKeyAlgorithms,
      verify: (blob) => {
        try {
          return this.acceptable.get(readKeyTypeAndBits(blob).type)?.has(sha256Fingerprint(blob)) === true
        } catch {
          return false // a blob we cannot read is no key we trust
        }
      },
      timeoutMs: Math.max(this.options.timeoutMs, MIN_LOGIN_TIMEOUT_MS),
    })
    if (!login.ok) return login.detail
    if (this.isClosed()) {
      login.client.end()
      return 'scan aborted'
    }
    const connection: Connection = { client: login.client, channels: 0, alive: true }
    login.client.on('error', () => {}) // after login: the 'close' that follows says it
    login.client.on('close', () => {
      connection.alive = false
      const index = this.connections.indexOf(connection)
      if (index >= 0) this.connections.splice(index, 1)
      this.wakeAll()
    })
    this.connections.push(connection)
    this.wakeAll()
    return null
  }

  /** A connection with room for one more channel, opening another (up to the cap) when all are full. */
  private async takeChannelSlot(): Promise<Connection | string> {
    for (;;) {
      if (this.isClosed()) return 'scan aborted'
      let best: Connection | null = null
      for (const c of this.connections) if (c.alive && c.channels < this.perConnection && (best === null || c.channels < best.channels)) best = c
      if (best) {
        best.channels++
        return best
      }
      if (this.connecting) {
        await this.connecting
        continue
      }
      if (this.connections.length < this.maxConnections) {
        this.connecting = this.connect().finally(() => (this.connecting = null))
        const problem = await this.connecting
        if (problem !== null) {
          // Not one connection left: the path is down for whoever asks next, with the reason.
          if (this.connections.length === 0) return problem
          // The jump host takes no more connections (MaxStartups, a per-user limit): live with those it took.
          this.maxConnections = this.connections.length
        }
        continue
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
  }

  private releaseChannelSlot(connection: Connection): void {
    connection.channels--
    this.waiting.shift()?.()
  }

  private wakeAll(): void {
    const waiting = this.waiting
    this.waiting = []
    for (const wake of waiting) wake()
  }

  private openChannel(connection: Connection, address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Channel> {
    const endpoint = formatEndpoint(address, port)
    const who = formatHop(this.hop)
    const started = performance.now()
    return new Promise<Channel>((resolve) => {
      let settled = false
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        this.releaseChannelSlot(connection)
      }
      const settle = (channel: Channel): void => {
        if (settled) {
          if (channel.ok) channel.stream.stream.destroy() // opened after its deadline: nobody wants it
          return
        }
        settled = true
        clearTimeout(timer)
        if (!channel.ok) release()
        resolve(channel)
      }
      const timer = setTimeout(
        () => settle({ ok: false, failure: { ok: false, status: 'timeout', detail: `jump host ${who} did not open a channel to ${endpoint} within ${timeoutMs} ms` }, retry: false }),
        timeoutMs,
      )
      if (signal?.aborted) return settle({ ok: false, failure: { ok: false, status: 'timeout', detail: 'scan aborted' }, retry: false })
      if (!connection.alive) return settle({ ok: false, failure: { ok: false, status: 'jump-failed', detail: `jump host ${who}: connection lost` }, retry: true })
      try {
        // The originator address and port (RFC 4254 §7.2) are informational; sshd logs them.
        connection.client.forwardOut('127.0.0.1', 0, address, port, (err, stream) => {
          if (err) return settle(channelFailure(err as Error & { reason?: number | string }, who, endpoint))
          // The slot is free once the probe hangs up (ssh2's destroy() sends CHANNEL_CLOSE) or the
          // server closes the channel, whichever comes first.
          stream.once('close', release)
          const destroy = stream.destroy.bind(stream)
          stream.destroy = () => {
            release()
            return destroy()
          }
          settle({ ok: true, stream: { ok: true, stream, elapsedMs: Math.round(performance.now() - started) } })
        })
      } catch (e) {
        settle({ ok: false, failure: { ok: false, status: 'jump-failed', detail: `jump host ${who}: ${(e as Error).message}` }, retry: true })
      }
    })
  }
}

/** A refused channel as the target's status (RFC 4254 §5.1), with the server's words; OpenSSH puts
 * strerror() of its connect() in the description of CONNECT_FAILED. */
function channelFailure(err: Error & { reason?: number | string }, who: string, endpoint: string): Channel {
  const description = err.message.replace(/^\(SSH\) Channel open failure: /, '')
  const said = `jump host ${who} could not reach ${endpoint}: ${description || 'no reason given'}`
  if (err.reason === RESOURCE_SHORTAGE) return { ok: false, failure: { ok: false, status: 'jump-failed', detail: `${said} (resource shortage)` }, retry: true }
  if (err.reason === ADMINISTRATIVELY_PROHIBITED) {
    return { ok: false, failure: { ok: false, status: 'jump-failed', detail: `${said} (administratively prohibited: is AllowTcpForwarding or PermitOpen set there?)` }, retry: false }
  }
  if (err.reason === CONNECT_FAILED) {
    const status = /refused/i.test(description)
      ? 'refused'
      : /timed out/i.test(description)
        ? 'timeout'
        : /name or service|not known|unknown host|no address/i.test(description)
          ? 'dns-error'
          : 'unreachable'
    return { ok: false, failure: { ok: false, status, detail: status === 'refused' ? `connection refused (at ${who})` : said }, retry: false }
  }
  // No reason: the connection closed under the request; another connection may do.
  return { ok: false, failure: { ok: false, status: 'jump-failed', detail: said }, retry: err.reason === undefined || err.reason === '' }
}
