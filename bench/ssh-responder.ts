import { createHash } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { pathToFileURL } from 'node:url'
import { serverGreeting, sshPacket, sshString } from '../test/support/ssh-wire.js'

/* A simulated fleet for the distributed-scan benchmark (bench/distributed.ts): one process that
 * speaks just enough SSH to hand out host keys, listening on many (address, port) pairs of
 * 127.86.0.0/16, so 100,000 targets cost no 100,000 sshd. Per connection (RFC 4253 §4.2, §7.1,
 * RFC 5656 §4 / RFC 8731 §3): our identification line and KEXINIT at once, then, when the client's
 * SSH_MSG_KEX_ECDH_INIT (30) arrives, SSH_MSG_KEX_ECDH_REPLY (31) whose first field is the host key,
 * and the connection is closed. The rest of the reply (Q_S, the signature) is filler: hostkeys'
 * probe reads the key and stops (src/ssh/kex-probe.ts), as ssh-keyscan does.
 *
 * Each target serves its own Ed25519 key, 32 bytes from SHA-256 of its address and port: distinct
 * keys, made in a hash, so duplicate_key never floods the judging. Its KEXINIT is a current
 * OpenSSH's (post-quantum hybrid and strict kex offered, nothing weak), so the algorithm checks
 * raise nothing either: what a first night finds is new_host, and an unchanged second night nothing.
 *
 * Run as `node --import tsx bench/ssh-responder.ts FIRST COUNT` (targets FIRST .. FIRST+COUNT-1 of
 * fleetEndpoint); it prints `ready COUNT` once every listener is up and serves until killed. Each
 * listener is a file descriptor: the parent raises RLIMIT_NOFILE for it. */

/** The fleet's /16: BENCH_FLEET_NET (`127.86` by default), so benches run side by side on one machine
 * each keep to a loopback range of their own. Inherited by the responder processes. */
export const FLEET_NET = process.env['BENCH_FLEET_NET'] ?? '127.86'
/** Addresses of the fleet: FLEET_NET.1.1 .. FLEET_NET.250.250. */
const ADDRESSES = 250 * 250
/** The first port: below Linux's ephemeral range (32768-60999), so no outgoing connection holds it. */
const FIRST_PORT = 10_000

/** Target i of the simulated fleet: 62,500 addresses on port 10000, then the same on 10001, and so on. */
export function fleetEndpoint(i: number): { address: string; port: number } {
  const a = i % ADDRESSES
  return { address: `${FLEET_NET}.${1 + Math.floor(a / 250)}.${1 + (a % 250)}`, port: FIRST_PORT + Math.floor(i / ADDRESSES) }
}

/** An address of our range where nothing listens: a refused connection, as fast as a target gets. */
export const REFUSING_ENDPOINT = { address: `${FLEET_NET}.255.1`, port: FIRST_PORT }

const GREETING = serverGreeting(
  {
    kex: 'sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ext-info-s,kex-strict-s-v00@openssh.com',
    serverHostKey: 'ssh-ed25519',
    cipher: 'aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr',
    mac: 'hmac-sha2-256-etm@openssh.com,hmac-sha2-256',
  },
  'SSH-2.0-OpenSSH_9.6 hostkeys-bench',
)
/** Q_S and the exchange-hash signature: never checked by a key probe. */
const REPLY_TAIL = Buffer.concat([sshString(Buffer.alloc(32, 1)), sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(64, 2))]))])
const ED25519 = sshString('ssh-ed25519')

/** The host key blob (RFC 8709 §4) of the target at this address and port. */
export function fleetHostKey(address: string, port: number): Buffer {
  return Buffer.concat([ED25519, sshString(createHash('sha256').update(`${address}:${port}`).digest())])
}

function reply(address: string, port: number): Buffer {
  return sshPacket(Buffer.concat([Buffer.from([31]), sshString(fleetHostKey(address, port)), REPLY_TAIL]))
}

/** RFC 4253 §6.1: packets up to 35,000 bytes must be accepted; a client's are far smaller. */
const MAX_PACKET = 35_000

function serve(socket: Socket): void {
  socket.on('error', () => {})
  socket.setNoDelay(true)
  socket.write(GREETING)
  let pending: Buffer | null = null
  let identified = false
  socket.on('data', (chunk: Buffer) => {
    let buffer = pending ? Buffer.concat([pending, chunk]) : chunk
    if (!identified) {
      const end = buffer.indexOf(10)
      if (end < 0) {
        if (buffer.length > 255) socket.destroy() // RFC 4253 §4.2: at most 255 bytes
        else pending = buffer
        return
      }
      identified = true
      buffer = buffer.subarray(end + 1)
    }
    while (buffer.length >= 6) {
      const length = buffer.readUInt32BE(0)
      if (length > MAX_PACKET) return void socket.destroy()
      if (buffer.length < 4 + length) break
      const type = buffer[5]
      buffer = buffer.subarray(4 + length)
      if (type === 30) return void socket.end(reply(socket.localAddress!, socket.localPort!))
    }
    pending = buffer.length > 0 ? buffer : null
  })
}

/** Listens on targets first .. first+count-1; resolves once all are up. */
export async function startResponder(first: number, count: number): Promise<Server[]> {
  const servers: Server[] = []
  const BATCH = 1_000
  for (let start = first; start < first + count; start += BATCH) {
    const batch: Promise<void>[] = []
    for (let i = start; i < Math.min(start + BATCH, first + count); i++) {
      const { address, port } = fleetEndpoint(i)
      const server = createServer(serve)
      servers.push(server)
      batch.push(
        new Promise((resolve, reject) => {
          server.once('error', reject)
          server.listen({ host: address, port, backlog: 64 }, () => resolve())
        }),
      )
    }
    await Promise.all(batch)
  }
  return servers
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const first = Number(process.argv[2])
  const count = Number(process.argv[3])
  await startResponder(first, count)
  process.stdout.write(`ready ${count}\n`)
  process.on('SIGTERM', () => process.exit(0))
  setInterval(() => {}, 1 << 30)
}
