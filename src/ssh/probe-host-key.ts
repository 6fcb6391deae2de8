import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { HostKey } from '../domain/host-key.js'
import type { HostStatus } from '../domain/observation.js'
import type { ServerHello } from './kexinit.js'
import { whenAborted } from './abort-hub.js'
import { KexProbeSession } from './kex-probe.js'
import type { ProbeGroup } from './probe-groups.js'

/* probe : one connection that fetches one host key and ends before any authentication,
 *         ssh-keyscan's discipline: offer only the host key algorithms of the groups asked for,
 *         take the key (or certificate) the server sends in its key exchange reply, hang up.
 *
 * Every probe settles exactly once, within its deadline, as a value; nothing it does throws or
 * rejects, whatever the peer sends. */

export type ProbeFailureStatus = Exclude<HostStatus, 'ok' | 'partial'>

export type ProbeResult =
  /** `key.certificate` is set when the server sent a certificate for the key. */
  | { readonly kind: 'key'; readonly key: HostKey; readonly hello: ServerHello; readonly kex: string }
  /** The server's KEXINIT names none of the algorithms asked for. */
  | { readonly kind: 'not-offered'; readonly hello: ServerHello }
  | { readonly kind: 'failed'; readonly status: ProbeFailureStatus; readonly detail: string; readonly hello: ServerHello }

export interface ProbeOptions {
  /** The groups to offer in one connection, best first; the server picks one (RFC 4253 §7.1). */
  readonly groups: readonly ProbeGroup[]
  /** Hard deadline for connect, banner and key exchange together; trickling bytes do not extend it. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

export interface ProbeRequest extends ProbeOptions {
  /** An IP literal: resolution happens before, once per host. */
  readonly address: string
  readonly port: number
}

/** Node socket error codes that mean no route to the host, as opposed to a host saying no. */
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN', 'EACCES', 'EPERM', 'EAFNOSUPPORT'])

function statusOfSocketError(code: string | undefined): ProbeFailureStatus {
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ETIMEDOUT') return 'timeout'
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable'
  return 'protocol-error' // ECONNRESET, EPIPE: the peer took the connection and then dropped it
}

/** Fetch one host key over a new TCP connection. Never rejects. */
export function probeHostKey(request: ProbeRequest): Promise<ProbeResult> {
  const socket = net.connect({ host: request.address, port: request.port })
  socket.setNoDelay(true)
  return probeStream(socket, request, { connecting: true })
}

/**
 * Fetch one host key over any duplex stream already open to an SSH server (a socket, a channel
 * through a bastion). The stream is destroyed when the probe ends. Never rejects.
 * `connecting`: the stream is a socket still connecting; the identification is sent on 'connect'.
 */
export function probeStream(stream: Duplex, options: ProbeOptions, { connecting = false } = {}): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const { groups, timeoutMs, signal } = options
    const session = new KexProbeSession(groups)
    let settled = false
    let connected = !connecting
    let bytesSeen = false

    /** How far the server got, for error messages. */
    const stage = (): string => {
      if (!connected) return 'while connecting'
      if (!bytesSeen) return 'before the server sent anything'
      const hello = session.serverHello
      if (hello.banner === null) return 'before an SSH identification line'
      if (hello.kind !== 'kexinit') return 'after the identification line, before KEXINIT'
      return 'during key exchange'
    }

    let stopWaiting: (() => void) | null = null
    const settle = (result: ProbeResult): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      stopWaiting?.()
      stream.removeListener('data', onData)
      // The key is in hand or the host failed: hang up now. The 'error' listener stays attached,
      // so whatever the stream reports after this is absorbed, never thrown.
      stream.destroy()
      resolve(result)
    }
    const fail = (status: ProbeFailureStatus, detail: string): void => settle({ kind: 'failed', status, detail, hello: session.serverHello })

    // One timer for the whole probe, armed once: data arriving never resets it (ssh-keyscan's
    // per-connection deadline; a peer trickling a byte at a time still ends here).
    const deadline = setTimeout(() => fail('timeout', `no host key within ${timeoutMs} ms (${stage()})`), timeoutMs)
    const onAbort = (): void => fail('timeout', 'scan aborted')

    const send = (bytes: Buffer | null): void => {
      if (bytes !== null && !settled && !stream.destroyed) stream.write(bytes)
    }
    const onData = (chunk: Buffer): void => {
      bytesSeen = true
      const step = session.push(chunk)
      if (step.outcome === null) {
        send(step.write)
        return
      }
      const outcome = step.outcome
      const hello = session.serverHello
      if (outcome.kind === 'key') settle({ kind: 'key', key: outcome.key, hello, kex: outcome.kex })
      else if (outcome.kind === 'not-offered') settle({ kind: 'not-offered', hello })
      else fail('protocol-error', outcome.detail)
    }

    stream.on('error', (err: NodeJS.ErrnoException) => {
      const status = statusOfSocketError(err.code)
      // A refusal says all there is to say; other errors keep their code and where they happened.
      fail(status, status === 'refused' ? 'connection refused' : `${err.code ?? 'stream error'} ${stage()}: ${err.message}`)
    })
    stream.on('close', () => fail('protocol-error', `connection closed ${stage()}`))
    stream.on('end', () => fail('protocol-error', `connection closed ${stage()}`))
    stream.on('data', onData)

    if (signal?.aborted) {
      onAbort()
      return
    }
    if (signal) stopWaiting = whenAborted(signal, onAbort)
    if (connected) send(session.start())
    else
      stream.once('connect', () => {
        connected = true
        send(session.start())
      })
  })
}
