import net from 'node:net'
import { Client, type ConnectConfig } from 'ssh2'
import type { HostKey } from '../domain/host-key.js'
import type { HostStatus } from '../domain/observation.js'
import { describeKey } from '../fingerprint/key-blob.js'
import { ServerHelloReader, type ServerHello } from './kexinit.js'
import { negotiatedGroup, type ProbeGroup } from './probe-groups.js'

/* probe : one TCP connection that fetches one host key and ends before any authentication,
 *         ssh-keyscan's discipline: offer only the host key algorithms of the groups asked for,
 *         take the key the server sends in its key exchange reply (RFC 4253 §8, RFC 5656 §4,
 *         RFC 8731 §3), refuse it (so ssh2 aborts, no signature check, no auth), hang up.
 *
 * Every probe settles exactly once, within its deadline, as a value; nothing it does throws or
 * rejects, whatever the peer sends. */

export type ProbeFailureStatus = Exclude<HostStatus, 'ok' | 'dns-error'>

export type ProbeResult =
  | { readonly kind: 'key'; readonly key: HostKey; readonly hello: ServerHello }
  /** The server's KEXINIT names none of the algorithms asked for. */
  | { readonly kind: 'not-offered'; readonly hello: ServerHello }
  | { readonly kind: 'failed'; readonly status: ProbeFailureStatus; readonly detail: string; readonly hello: ServerHello }

export interface ProbeRequest {
  /** An IP literal: resolution happens before, once per host. */
  readonly address: string
  readonly port: number
  /** The groups to offer in one connection, best first; the server picks one (RFC 4253 §7.1). */
  readonly groups: readonly ProbeGroup[]
  /** Hard deadline for connect, banner and key exchange together; trickling bytes do not extend it. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/* Old servers only know SHA-1 key exchanges and CBC ciphers; ssh2 speaks them only when asked.
 * A key scan never reaches encryption, so offering them costs nothing and still yields the key
 * (RFC 4253 §8 group1/14, RFC 4419 group exchange). */
const LEGACY_KEX = ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1']
const LEGACY_CIPHERS = ['aes128-cbc', 'aes256-cbc', '3des-cbc']

/** Node socket error codes that mean no route to the host, as opposed to a host saying no. */
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN', 'EACCES', 'EPERM', 'EAFNOSUPPORT'])

function statusOfSocketError(code: string | undefined): ProbeFailureStatus {
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ETIMEDOUT') return 'timeout'
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable'
  return 'protocol-error' // ECONNRESET, EPIPE: the peer took the connection and then dropped it
}

/** How far the server got, for error messages. */
function stageOf(hello: ServerHello, bytesSeen: boolean, connected: boolean): string {
  if (!connected) return 'while connecting'
  if (!bytesSeen) return 'before the server sent anything'
  if (hello.banner === null) return 'before an SSH identification line'
  if (hello.kind !== 'kexinit') return 'after the identification line, before KEXINIT'
  return 'during key exchange'
}

/** Fetch one host key from one connection. Never rejects. */
export function probeHostKey(request: ProbeRequest): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const { address, port, groups, timeoutMs, signal } = request
    const reader = new ServerHelloReader()
    let settled = false
    let connected = false
    let bytesSeen = false

    const socket = net.connect({ host: address, port })
    const client = new Client()

    const settle = (result: ProbeResult): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      signal?.removeEventListener('abort', onAbort)
      socket.removeListener('data', onData)
      // The key is in hand or the host failed: hang up now. The 'error' listeners stay attached,
      // so whatever ssh2 or the socket report after this is absorbed, never thrown.
      socket.destroy()
      resolve(result)
    }
    const fail = (status: ProbeFailureStatus, detail: string): void => settle({ kind: 'failed', status, detail, hello: reader.result })

    // One timer for the whole probe, armed once: data arriving never resets it (ssh-keyscan's
    // per-connection deadline; a peer trickling a byte at a time still ends here).
    const deadline = setTimeout(() => {
      fail('timeout', `no host key within ${timeoutMs} ms (${stageOf(reader.result, bytesSeen, connected)})`)
    }, timeoutMs)
    const onAbort = (): void => fail('timeout', 'scan aborted')
    if (signal?.aborted) {
      onAbort()
      return
    }
    signal?.addEventListener('abort', onAbort, { once: true })

    const onData = (chunk: Buffer): void => {
      bytesSeen = true
      const hello = reader.push(chunk)
      if (hello.kind === 'invalid') fail('protocol-error', hello.reason)
      else if (hello.kind === 'kexinit') socket.removeListener('data', onData)
    }

    socket.on('connect', () => {
      connected = true
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const status = statusOfSocketError(err.code)
      // A refusal says all there is to say; other errors keep their code and where they happened.
      const detail =
        status === 'refused'
          ? 'connection refused'
          : `${err.code ?? 'socket error'} ${stageOf(reader.result, bytesSeen, connected)}: ${err.message}`
      fail(status, detail)
    })

    const offered = groups.flatMap((group) => group.algorithms)
    const hostVerifier = (blob: Buffer): boolean => {
      if (settled) return false
      let key: HostKey
      try {
        key = describeKey(blob)
      } catch (err) {
        fail('protocol-error', `server sent a malformed host key: ${(err as Error).message}`)
        return false
      }
      // RFC 4253 §7.1: the server must use the first of our algorithms it has; a key of another
      // type is a broken or lying server, not a key to record.
      const hello = reader.result
      const expected = hello.kind === 'kexinit' ? negotiatedGroup(groups, hello.offered.serverHostKey) : null
      const acceptable = expected ? key.type === expected.keyType : groups.some((group) => group.keyType === key.type)
      if (!acceptable) {
        fail('protocol-error', `server sent a ${key.type} key where ${expected?.keyType ?? offered.join(',')} was negotiated`)
        return false
      }
      settle({ kind: 'key', key, hello })
      return false // abort the key exchange: no signature check, no authentication
    }

    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return
      if (err.level === 'client-socket') return // the socket's own 'error' listener classifies it
      const hello = reader.result
      if (err.level === 'handshake' && hello.kind === 'kexinit' && negotiatedGroup(groups, hello.offered.serverHostKey) === null) {
        settle({ kind: 'not-offered', hello })
        return
      }
      fail('protocol-error', `${err.message} (${stageOf(hello, bytesSeen, connected)})`)
    })
    client.on('close', () => {
      fail('protocol-error', `connection closed ${stageOf(reader.result, bytesSeen, connected)}`)
    })

    const config: ConnectConfig = {
      sock: socket,
      username: 'hostkeys',
      ident: 'hostkeys',
      // Our own deadline governs; ssh2's readyTimeout would be a second, resettable clock.
      readyTimeout: 0,
      keepaliveInterval: 0,
      hostVerifier,
      authHandler: () => false,
      algorithms: {
        kex: { append: LEGACY_KEX, prepend: [], remove: [] },
        cipher: { append: LEGACY_CIPHERS, prepend: [], remove: [] },
        serverHostKey: offered,
      } as ConnectConfig['algorithms'],
    }
    try {
      // The socket is already connecting, so ssh2 waits for its 'connect' (it checks `connecting`).
      client.connect(config)
    } catch (err) {
      fail('protocol-error', `ssh2 refused the connection settings: ${(err as Error).message}`)
      return
    }
    // Added after ssh2 paused the socket, so it sees every chunk ssh2 sees, first.
    socket.on('data', onData)
  })
}
