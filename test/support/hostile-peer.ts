/* In-process TCP peers on loopback that misbehave the ways real networks do: a tarpit that never
 * speaks, an endless banner line, random bytes, a server that hangs up mid key exchange, one that
 * greets and then never answers the key exchange, a peer that trickles one byte at a time. For tests and benchmarks of the collector's deadlines. */

import net from 'node:net'
import { serverGreeting } from './ssh-wire.js'

export type HostileBehaviour = 'silent' | 'endless-banner' | 'garbage' | 'drop-mid-kex' | 'stall-after-kexinit' | 'trickle'

export interface HostilePeer {
  readonly address: string
  readonly port: number
  readonly behaviour: HostileBehaviour
  /** Bytes written to clients so far, over all connections. */
  readonly bytesSent: () => number
  readonly connections: () => number
  close(): Promise<void>
}

function assertLoopback(address: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) && address !== '::1') {
    throw new Error(`hostile peer: '${address}' is not a loopback address`)
  }
}

/** Starts a misbehaving server on `address` (loopback only), port chosen by the kernel. */
export function startHostilePeer(address: string, behaviour: HostileBehaviour, options: { trickleMs?: number } = {}): Promise<HostilePeer> {
  assertLoopback(address)
  let sent = 0
  let connections = 0
  const sockets = new Set<net.Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const server = net.createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    const write = (bytes: Buffer): boolean => {
      if (socket.destroyed) return false
      sent += bytes.length
      return socket.write(bytes)
    }
    switch (behaviour) {
      case 'silent':
        break
      case 'endless-banner': {
        const chunk = Buffer.alloc(16 * 1024, 'x')
        write(Buffer.from('SSH-2.0-'))
        const pump = (): void => {
          while (!socket.destroyed && write(chunk)) {
            /* until the kernel buffer is full */
          }
        }
        socket.on('drain', pump)
        pump()
        break
      }
      case 'garbage': {
        const bytes = Buffer.alloc(4096)
        let seed = 7
        for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff
        write(bytes)
        break
      }
      case 'drop-mid-kex':
        // A real banner and KEXINIT, then hang up when the client answers (as a crashing or
        // rate-limiting server does after the clear-text part).
        write(serverGreeting({ serverHostKey: 'ssh-ed25519,ecdsa-sha2-nistp256' }))
        socket.once('data', () => socket.destroy())
        break
      case 'stall-after-kexinit':
        // A real banner and KEXINIT, then nothing: the key exchange reply never comes (a filter that
        // lets the clear-text greeting through, a server that withholds its keys). What the client
        // sends is read and dropped, so the connection stays open until the client's deadline.
        write(serverGreeting({ serverHostKey: 'ssh-ed25519,rsa-sha2-512,rsa-sha2-256' }))
        socket.on('data', () => {})
        break
      case 'trickle': {
        const line = Buffer.from(`SSH-2.0-${'x'.repeat(200)}\r\n`)
        let i = 0
        const timer = setInterval(() => {
          if (socket.destroyed || i >= line.length) {
            clearInterval(timer)
            timers.delete(timer)
            return
          }
          write(line.subarray(i, ++i))
        }, options.trickleMs ?? 100)
        timers.add(timer)
        break
      }
    }
  })
  server.on('error', () => {})
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: address, port: 0 }, () => {
      const port = (server.address() as net.AddressInfo).port
      resolve({
        address,
        port,
        behaviour,
        bytesSent: () => sent,
        connections: () => connections,
        close: () =>
          new Promise<void>((done) => {
            for (const timer of timers) clearInterval(timer)
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    })
  })
}

/** A port on `address` with nothing listening: bound by the kernel, then released. */
export function closedPort(address: string): Promise<number> {
  assertLoopback(address)
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: address, port: 0 }, () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}
