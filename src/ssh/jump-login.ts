import { readFile } from 'node:fs/promises'
import type { Duplex } from 'node:stream'
import ssh2 from 'ssh2'
import type { AuthenticationType, Client as Ssh2Client, ParsedKey } from 'ssh2'
import type { JumpHop } from '../domain/jump.js'
import { formatHop } from '../domain/jump.js'

const { Client, OpenSSHAgent, utils } = ssh2

/* login : an SSH session to a jump host, as `ssh -J` makes one, for its direct-tcpip channels only
 *         (RFC 4254 §7.2): no shell, no command. Authentication is what a cron job can do unattended:
 *         the agent's keys (SSH_AUTH_SOCK) first, then identity files without a passphrase. Never a
 *         password or keyboard-interactive prompt: no method asks anyone anything.
 *
 * The server's host key is checked by `verify` before authentication starts (ssh2 calls hostVerifier
 * with the key blob from the key exchange reply), so a jump host we do not trust never sees a key
 * signature, a user name's proof, or any target we would ask it to reach. */

export interface JumpCredentials {
  /** The agent's socket (SSH_AUTH_SOCK), or null for none. */
  readonly agentSocket: string | null
  /** Tried, in order and if they exist, for a hop that names no IdentityFile (ssh's defaults). */
  readonly defaultIdentityFiles: readonly string[]
}

export type LoginResult = { readonly ok: true; readonly client: Ssh2Client } | { readonly ok: false; readonly detail: string }

export interface LoginRequest {
  readonly hop: JumpHop
  /** A stream to the hop's sshd (a channel through the hop before it); null: connect over TCP. */
  readonly sock: Duplex | null
  readonly credentials: JumpCredentials
  /** server_host_key_algorithms to offer: only those whose keys `verify` can decide on. */
  readonly hostKeyAlgorithms: readonly string[]
  /** True when the host key blob is one to trust; called once, before authentication. */
  readonly verify: (blob: Buffer) => boolean
  readonly timeoutMs: number
}

type AuthMethod = { type: 'agent'; username: string; agent: string } | { type: 'publickey'; username: string; key: ParsedKey }

interface LoadedKeys {
  readonly keys: { readonly file: string; readonly key: ParsedKey }[]
  /** Why files were passed over, for the message when nothing works. */
  readonly notes: string[]
}

/** Reads the identity files a hop may use; a missing default file is skipped quietly, as ssh does. */
async function loadIdentities(hop: JumpHop, credentials: JumpCredentials): Promise<LoadedKeys> {
  const explicit = hop.identityFiles.length > 0
  const files = explicit ? hop.identityFiles : credentials.defaultIdentityFiles
  const keys: { file: string; key: ParsedKey }[] = []
  const notes: string[] = []
  for (const file of files) {
    let data: Buffer
    try {
      data = await readFile(file)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (explicit || code !== 'ENOENT') notes.push(`${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
      continue
    }
    const parsed = utils.parseKey(data)
    if (parsed instanceof Error) {
      notes.push(
        /encrypted|passphrase/i.test(parsed.message)
          ? `${file} is encrypted and hostkeys never asks for a passphrase: load it into an agent (ssh-add) and set SSH_AUTH_SOCK`
          : `${file}: not a private key ssh2 can read (${parsed.message})`,
      )
      continue
    }
    keys.push({ file, key: Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed })
  }
  return { keys, notes }
}

/** How many keys the agent at `socket` holds, or why it cannot be used. ssh2 fails the whole
 * connection when its agent does not answer, so a stale SSH_AUTH_SOCK (common under cron) is found
 * here and passed over, as ssh passes over it, instead of hiding the identity files behind it. */
function agentKeys(socket: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`the agent at ${socket} did not answer`), timeoutMs)
    new OpenSSHAgent(socket).getIdentities((err, keys) => {
      clearTimeout(timer)
      resolve(err ? `the agent at ${socket} cannot be used (${err.message})` : (keys?.length ?? 0))
    })
  })
}

/** Logs in to one jump host. Never rejects: a failure is a detail that names the hop and why. */
export async function loginToJumpHost(request: LoginRequest): Promise<LoginResult> {
  const { hop, credentials } = request
  const who = formatHop(hop)
  const { keys, notes } = await loadIdentities(hop, credentials)
  const agent = credentials.agentSocket ? await agentKeys(credentials.agentSocket, request.timeoutMs) : 0
  if (typeof agent === 'string') notes.push(agent)
  const useAgent = credentials.agentSocket !== null && typeof agent === 'number' && agent > 0
  const methods: AuthMethod[] = [
    ...(useAgent ? [{ type: 'agent' as const, username: hop.user, agent: credentials.agentSocket! }] : []),
    ...keys.map(({ key }) => ({ type: 'publickey' as const, username: hop.user, key })),
  ]
  const tried = [...(useAgent ? [`the agent's ${agent} key(s)`] : []), ...keys.map((k) => k.file)]
  if (methods.length === 0) {
    request.sock?.destroy()
    const noAgent = credentials.agentSocket === null ? 'no agent (SSH_AUTH_SOCK unset)' : typeof agent === 'number' ? 'the agent holds no key' : null
    const noFiles = hop.identityFiles.length === 0 && !notes.some((n) => !n.startsWith('the agent')) ? [`none of ${credentials.defaultIdentityFiles.join(', ')} exists`] : []
    const why = [...(noAgent ? [noAgent] : []), ...notes, ...noFiles].join('; ')
    return { ok: false, detail: `jump host ${who}: no key to log in with: ${why}` }
  }

  return new Promise<LoginResult>((resolve) => {
    const client = new Client()
    let settled = false
    let keyRefused = false
    const settle = (result: LoginResult): void => {
      if (settled) return
      settled = true
      if (!result.ok) client.end()
      resolve(result)
    }
    // ssh2 reports a connection's failure more than once (a timeout, then the connection lost): the
    // first says why; the listener stays so the later ones are absorbed.
    client.on('error', (err: Error & { level?: string }) => {
      if (keyRefused) return settle({ ok: false, detail: `jump host ${who}: its host key is not one the history trusts; nothing was sent to it` })
      if (err.level === 'client-authentication') {
        return settle({ ok: false, detail: `jump host ${who}: login refused for ${hop.user} (tried ${tried.join(', ')})${notes.length > 0 ? `; ${notes.join('; ')}` : ''}` })
      }
      settle({ ok: false, detail: `jump host ${who}: ${err.message}` })
    })
    client.on('close', () => settle({ ok: false, detail: `jump host ${who}: connection closed before login` }))
    client.on('ready', () => settle({ ok: true, client }))
    const queue = [...methods]
    client.connect({
      ...(request.sock ? { sock: request.sock as unknown as NodeJS.ReadableStream } : { host: hop.address, port: hop.port }),
      username: hop.user,
      readyTimeout: request.timeoutMs,
      algorithms: { serverHostKey: [...request.hostKeyAlgorithms] as never },
      hostVerifier: (blob: Buffer) => {
        const trusted = request.verify(blob)
        if (!trusted) keyRefused = true
        return trusted
      },
      tryKeyboard: false,
      // Only the methods above, in order; `false` when they are used up: no password, no prompt.
      authHandler: (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: (method: AuthMethod | false) => void) => {
        let method = queue.shift()
        while (method && methodsLeft && !methodsLeft.includes('publickey')) method = queue.shift()
        next(method ?? false)
      },
    } as never)
  })
}
