import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'
import dnsPacket, { type Answer, type Packet } from 'dns-packet'
import type { Nameserver } from '../../src/dns/nameserver.js'

/* An in-process DNS server on dns-packet, UDP and TCP on one loopback address and port, whose handler
 * decides per query what to send back, including things no real server would send. Loopback only. */

export interface TestQuery {
  readonly transport: 'udp' | 'tcp'
  readonly packet: Packet
  readonly raw: Buffer
  /** Source port the query came from (UDP), to check each query gets a fresh one. */
  readonly port: number
}

/** What to send: bytes as they are, optionally from another UDP port of the same address, optionally later. */
export type TestReply = Buffer | { readonly bytes: Buffer; readonly fromOtherPort?: boolean; readonly delayMs?: number }

export type TestHandler = (query: TestQuery) => TestReply[] | Promise<TestReply[]>

export interface DnsTestServer {
  readonly nameserver: Nameserver
  readonly queries: TestQuery[]
  handler: TestHandler
  close(): Promise<void>
}

function listenTcp(server: Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: address, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function bindUdp(socket: UdpSocket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ address, port }, () => {
      socket.off('error', reject)
      resolve()
    })
  })
}

/** Starts the server on `address` (127.3.x.x) at a free port, the same for UDP and TCP. */
export async function startDnsTestServer(address: string, handler: TestHandler): Promise<DnsTestServer> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4')
    await bindUdp(udp, address, 0)
    const port = udp.address().port
    const tcp = createServer()
    try {
      await listenTcp(tcp, address, port)
    } catch (e) {
      udp.close()
      if (attempt < 20) continue
      throw e
    }
    const other = createSocket('udp4')
    await bindUdp(other, address, 0)
    return serve(udp, other, tcp, address, port, handler)
  }
}

function serve(udp: UdpSocket, other: UdpSocket, tcp: Server, address: string, port: number, initial: TestHandler): DnsTestServer {
  const queries: TestQuery[] = []
  const connections = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const state: DnsTestServer = {
    nameserver: { address, port, family: 4 },
    queries,
    handler: initial,
    async close() {
      for (const t of timers) clearTimeout(t)
      for (const c of connections) c.destroy()
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => other.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ])
    },
  }
  const later = (delayMs: number | undefined, send: () => void) => {
    if (!delayMs) return send()
    const t = setTimeout(() => {
      timers.delete(t)
      send()
    }, delayMs)
    timers.add(t)
  }
  udp.on('message', async (raw, from) => {
    const query: TestQuery = { transport: 'udp', packet: dnsPacket.decode(raw), raw, port: from.port }
    queries.push(query)
    for (const reply of await state.handler(query)) {
      const r = Buffer.isBuffer(reply) ? { bytes: reply } : reply
      later(r.delayMs, () => (r.fromOtherPort ? other : udp).send(r.bytes, from.port, from.address))
    }
  })
  tcp.on('connection', (socket) => {
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
    socket.on('error', () => {})
    let buffered = Buffer.alloc(0)
    socket.on('data', async (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const raw = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
        buffered = buffered.subarray(2 + raw.length)
        const query: TestQuery = { transport: 'tcp', packet: dnsPacket.decode(raw), raw, port: socket.remotePort ?? 0 }
        queries.push(query)
        for (const reply of await state.handler(query)) {
          const r = Buffer.isBuffer(reply) ? { bytes: reply } : reply
          const framed = Buffer.alloc(2 + r.bytes.length)
          framed.writeUInt16BE(r.bytes.length, 0)
          r.bytes.copy(framed, 2)
          later(r.delayMs, () => socket.write(framed))
        }
      }
    })
  })
  return state
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const

export interface ResponseOptions {
  readonly rcode?: number
  readonly answers?: Answer[]
  readonly authenticated?: boolean
  readonly truncated?: boolean
  readonly id?: number
  readonly name?: string
}

/** A response to `query` built with dns-packet: same ID and question unless overridden. */
export function respond(query: TestQuery, options: ResponseOptions = {}): Buffer {
  const question = query.packet.questions![0]!
  let flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (options.rcode ?? 0)
  if (options.authenticated) flags |= dnsPacket.AUTHENTIC_DATA
  if (options.truncated) flags |= dnsPacket.TRUNCATED_RESPONSE
  return dnsPacket.encode({
    type: 'response',
    id: options.id ?? query.packet.id!,
    flags,
    questions: [{ ...question, name: options.name ?? question.name }],
    answers: options.answers ?? [],
  })
}

/** An SSHFP answer RR for dns-packet to encode. */
export function sshfpAnswer(name: string, algorithm: number, hash: number, fingerprint: string): Answer {
  return { type: 'SSHFP', name, ttl: 300, class: 'IN', data: { algorithm, hash, fingerprint } }
}

/**
 * Appends raw answer RRs to a response with no answers, owner name a pointer to the question (RFC 1035
 * §4.1.4), for records dns-packet refuses to encode (an unknown hash type, a digest of the wrong length).
 */
export function withRawAnswers(response: Buffer, rrs: { type: number; rdata: Buffer; rdlength?: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from(response)]
  for (const rr of rrs) {
    const fixed = Buffer.alloc(12)
    fixed.writeUInt16BE(0xc00c, 0)
    fixed.writeUInt16BE(rr.type, 2)
    fixed.writeUInt16BE(1, 4)
    fixed.writeUInt32BE(300, 6)
    fixed.writeUInt16BE(rr.rdlength ?? rr.rdata.length, 10)
    parts.push(fixed, rr.rdata)
  }
  const out = Buffer.concat(parts)
  out.writeUInt16BE(out.readUInt16BE(6) + rrs.length, 6)
  return out
}
