import { createSocket, type RemoteInfo } from 'node:dgram'
import { connect } from 'node:net'
import { formatNameserver, type Nameserver } from './nameserver.js'

/* exchange : one query sent to one nameserver over one transport, and the first reply that `accepts`
 *            approves, or why there was none. Every socket is closed on every path. */

export type ExchangeOutcome =
  | { readonly kind: 'reply'; readonly message: Buffer }
  | { readonly kind: 'timeout'; readonly detail: string }
  | { readonly kind: 'network'; readonly detail: string }

/** Decides whether a datagram or stream message is the reply to our query (ID and question). */
export type ReplyFilter = (message: Buffer) => boolean

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/**
 * UDP (RFC 1035 §4.2.1) from a fresh socket bound to port 0, so each query gets a random source port from
 * the kernel (RFC 5452 §4.5). Replies from any other address or port, or that `accepts` rejects, are
 * dropped and we keep listening until the deadline: an off-path forger must guess ID and port at once.
 * The socket is also connect()ed, so the kernel filters other sources too and an ICMP port unreachable
 * ends the wait early instead of costing the whole timeout.
 */
export function exchangeUdp(server: Nameserver, query: Buffer, accepts: ReplyFilter, timeoutMs: number): Promise<ExchangeOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4')
    let settled = false
    const finish = (outcome: ExchangeOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.removeAllListeners('message')
      socket.on('error', () => {}) // a late ICMP error after close must not become an uncaught exception
      try {
        socket.close()
      } catch {
        // already closed
      }
      resolve(outcome)
    }
    const timer = setTimeout(
      () => finish({ kind: 'timeout', detail: `${formatNameserver(server)} sent no matching UDP answer within ${timeoutMs} ms` }),
      timeoutMs,
    )
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish({ kind: 'network', detail: `${formatNameserver(server)} over UDP: ${e.code ?? e.message}` }),
    )
    // The peer as the kernel writes it after connect(), so `[0:0::1]` given by the user still equals `::1` in replies.
    let peer: { address: string; port: number } = server
    socket.on('message', (message: Buffer, from: RemoteInfo) => {
      if (!sameAddress(from.address, peer.address) || from.port !== peer.port) return
      if (accepts(message)) finish({ kind: 'reply', message })
    })
    socket.bind({ port: 0, address: server.family === 6 ? '::' : '0.0.0.0' }, () => {
      socket.connect(server.port, server.address, (e?: Error) => {
        if (e) return finish({ kind: 'network', detail: `${formatNameserver(server)} over UDP: ${e.message}` })
        peer = socket.remoteAddress()
        socket.send(query, (sendError) => {
          if (sendError) finish({ kind: 'network', detail: `${formatNameserver(server)} over UDP: ${sendError.message}` })
        })
      })
    })
  })
}

/** RFC 1035 §4.2.2: over TCP each message is preceded by its length in two octets. */
const MAX_BUFFERED = 2 * (65535 + 2)

/**
 * TCP (RFC 7766), used when the UDP answer was truncated (TC bit, RFC 1035 §4.1.1). The deadline covers
 * connect, send and the whole read, so a peer trickling bytes cannot extend it. Messages that `accepts`
 * rejects are skipped and reading goes on, as over UDP.
 */
export function exchangeTcp(server: Nameserver, query: Buffer, accepts: ReplyFilter, timeoutMs: number): Promise<ExchangeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.address, port: server.port, family: server.family })
    let settled = false
    let buffered = Buffer.alloc(0)
    const finish = (outcome: ExchangeOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(
      () => finish({ kind: 'timeout', detail: `${formatNameserver(server)} sent no matching TCP answer within ${timeoutMs} ms` }),
      timeoutMs,
    )
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish({ kind: 'network', detail: `${formatNameserver(server)} over TCP: ${e.code ?? e.message}` }),
    )
    socket.on('close', () => finish({ kind: 'network', detail: `${formatNameserver(server)} closed the TCP connection without a matching answer` }))
    socket.on('connect', () => {
      const framed = Buffer.alloc(2 + query.length)
      framed.writeUInt16BE(query.length, 0)
      query.copy(framed, 2)
      socket.write(framed)
    })
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0)
        if (buffered.length < 2 + length) break
        const message = buffered.subarray(2, 2 + length)
        buffered = buffered.subarray(2 + length)
        if (accepts(message)) return finish({ kind: 'reply', message: Buffer.from(message) })
      }
      if (buffered.length > MAX_BUFFERED) finish({ kind: 'network', detail: `${formatNameserver(server)} sent more TCP data than one message can hold` })
    })
  })
}
