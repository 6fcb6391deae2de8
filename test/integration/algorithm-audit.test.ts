import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { serverGreeting, sshPacket, sshString } from '../support/ssh-wire.js'
import { syntheticBlob } from '../support/synthetic-keys.js'

/* Algorithm findings and HASSH from real sshd configured weak and strong, and from an in-process server
 * that offers chacha20-poly1305 without strict kex (every OpenSSH here has the Terrapin fix). 127.73.0.0/16. */

interface Doc {
  hosts: { host: string; status: string; error: string | null; keys: unknown[]; offered: { hassh: string; kex: string[] } | null }[]
  findings: { kind: string; severity: string; host: string; message: string }[]
}

async function scan(...targets: string[]): Promise<Doc> {
  const result = await runInProcess(['scan', '--no-store', '--no-dns', '-T', '8', '--format', 'json', ...targets])
  assert.ok(result.code === 0 || result.code === 1, result.stderr)
  return JSON.parse(result.stdout) as Doc
}

const audit = (doc: Doc, host: string) =>
  doc.findings.filter((f) => f.host === host && ['terrapin', 'weak_algorithm', 'no_pq_kex'].includes(f.kind)).map((f) => `${f.severity} ${f.kind}`).sort()

/** The server's KEXINIT as OpenSSH's own client prints it (`ssh -vv`: "peer server KEXINIT proposal"). */
function peerProposal(address: string, port: number): Map<string, string> {
  const result = spawnSync('/usr/bin/ssh', ['-vv', '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=8', `nobody@${address}`, 'true'], { encoding: 'utf8', timeout: 20_000 })
  const lines = result.stderr.split(/\r?\n/) // ssh's debug lines end in CR LF
  const start = lines.findIndex((l) => l.includes('peer server KEXINIT proposal'))
  assert.ok(start >= 0, `ssh -vv printed no server proposal: ${result.stderr.slice(-500)}`)
  const fields = new Map<string, string>()
  for (const line of lines.slice(start + 1, start + 12)) {
    const match = /^debug2: ([^:]+): (.*)$/.exec(line)
    if (match) fields.set(match[1]!, match[2]!)
  }
  return fields
}

describe('algorithm audit against real sshd', { skip: skipUnlessSshd() }, () => {
  const servers: SshdServer[] = []
  let modern: SshdServer
  let weak: SshdServer
  let classical: SshdServer
  before(async () => {
    ;[modern, weak, classical] = await Promise.all([
      startSshd({ addresses: ['127.73.0.1'], keyTypes: ['ed25519'] }),
      startSshd({
        addresses: ['127.73.0.2'],
        keyTypes: ['ed25519', 'rsa'],
        extraConfig: [
          'KexAlgorithms diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,curve25519-sha256',
          'Ciphers aes128-cbc,3des-cbc,aes128-ctr',
          'MACs hmac-md5,hmac-sha1-96,hmac-sha2-256',
          'HostKeyAlgorithms ssh-ed25519,ssh-rsa',
        ],
      }),
      startSshd({ addresses: ['127.73.0.3'], keyTypes: ['ed25519'], extraConfig: ['KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256'] }),
    ])
    servers.push(modern, weak, classical)
  })
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })

  it('a default OpenSSH 9.2 raises nothing; a weakened one names every weak algorithm; one without post-quantum kex is an info', async () => {
    const doc = await scan(`127.73.0.1:${modern.port}`, `127.73.0.2:${weak.port}`, `127.73.0.3:${classical.port}`)
    assert.deepEqual(audit(doc, `[127.73.0.1]:${modern.port}`), [])
    assert.deepEqual(audit(doc, `[127.73.0.2]:${weak.port}`), ['info no_pq_kex', 'warning weak_algorithm'])
    assert.deepEqual(audit(doc, `[127.73.0.3]:${classical.port}`), ['info no_pq_kex'])
    const message = doc.findings.find((f) => f.kind === 'weak_algorithm')!.message
    for (const name of ['diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1', 'aes128-cbc', '3des-cbc', 'hmac-md5', 'hmac-sha1-96', 'ssh-rsa']) {
      assert.ok(message.includes(`${name} (`), `${name} named in: ${message}`)
    }
    // The weak server's keys were still collected, over group14-sha1 or curve25519.
    assert.equal(doc.hosts.find((h) => h.host === `[127.73.0.2]:${weak.port}`)!.keys.length, 2)
  })

  it('HASSH is the MD5 of the lists OpenSSH\'s own client reads from the server', async () => {
    for (const server of [modern, weak]) {
      const address = server.addresses[0]!
      const doc = await scan(`${address}:${server.port}`)
      const proposal = peerProposal(address, server.port)
      const algorithms = [proposal.get('KEX algorithms'), proposal.get('ciphers stoc'), proposal.get('MACs stoc'), proposal.get('compression stoc')].join(';')
      assert.equal(doc.hosts[0]!.offered!.hassh, createHash('md5').update(algorithms).digest('hex'), algorithms)
    }
  })
})

describe('Terrapin: an in-process server without strict kex', () => {
  let server: net.Server
  let port: number
  before(async () => {
    const blob = syntheticBlob('ed25519', 'terrapin')
    server = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.write(serverGreeting({ kex: 'sntrup761x25519-sha512@openssh.com,curve25519-sha256', serverHostKey: 'ssh-ed25519', cipher: 'chacha20-poly1305@openssh.com,aes128-ctr' }))
      let seen = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk])
        // The client's KEX_ECDH_INIT (message 30) follows its KEXINIT: answer with the host key.
        if (seen.includes(Buffer.from([30, 0, 0, 0, 32]))) {
          socket.end(sshPacket(Buffer.concat([Buffer.from([31]), sshString(blob), sshString(Buffer.alloc(32, 1)), sshString(Buffer.alloc(64, 2))])))
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.73.1.1', resolve))
    port = (server.address() as net.AddressInfo).port
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('is a terrapin warning, and the key is collected all the same', async () => {
    const doc = await scan(`127.73.1.1:${port}`)
    assert.equal(doc.hosts[0]!.status, 'ok', doc.hosts[0]!.error ?? '')
    assert.equal(doc.hosts[0]!.keys.length, 1)
    assert.deepEqual(audit(doc, `[127.73.1.1]:${port}`), ['warning terrapin'])
    assert.match(doc.findings.find((f) => f.kind === 'terrapin')!.message, /CVE-2023-48795/)
  })
})
