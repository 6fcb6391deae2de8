// One recorded scan of a synthetic fleet, run as `hostkeys scan` would run it: compiled code from
// dist/, node's flags from bin/hostkeys.js' shebang (bench/store.ts passes them), a fresh process per
// scan as cron starts one per night. Plain JavaScript so no TypeScript loader (tsx keeps a loader
// thread of ~35 MB) sits in the measured process.
//
// argv: DB HOSTS GENERATION CHANGED_EVERY. Hosts i with i % CHANGED_EVERY === 0 serve the ed25519 key
// of GENERATION; every other key is the same in every generation. Prints one JSON line.
// The keys pass the known-bad key checks: RSA moduli from bench/sieved-moduli.mjs (made as the hosts
// are observed, ~35 µs a host), the ECDSA point the public point of a scalar from the host's name.
import { createECDH, createHash } from 'node:crypto'
import { sievedModuliInOrder } from './sieved-moduli.mjs'
import { describeKey } from '../dist/domain/fingerprint/key-blob.js'
import { sshMagnitudeMpint as mpint, sshString } from '../dist/domain/ssh-wire.js'
import { historyJudge } from '../dist/app/scan-judges.js'
import { openStore } from '../dist/store/open-store.js'

const [db, hostsText, generationText, changedEveryText] = process.argv.slice(2)
const hosts = Number(hostsText)
const generation = Number(generationText)
const changedEvery = Number(changedEveryText)

const text = (s) => sshString(Buffer.from(s))
const bytesFrom = (seed, length) => createHash('shake256', { outputLength: length }).update(seed).digest()

// Host i is observed in order i = 0, 1, …: its modulus is the next one made.
const moduli = sievedModuliInOrder()
const ecdh = createECDH('prime256v1')

const rsaModulus = () => moduli.next().value

function ecdsaPoint(name) {
  ecdh.setPrivateKey(bytesFrom(`${name}/ecdsa`, 32))
  return ecdh.getPublicKey()
}

// Blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709): ed25519, ecdsa nistp256, rsa 2048.
function blobs(i, ed25519Generation) {
  const name = `h${i}.bench.example`
  return [
    Buffer.concat([text('ssh-ed25519'), sshString(bytesFrom(`${name}/ed25519/${ed25519Generation}`, 32))]),
    Buffer.concat([text('ecdsa-sha2-nistp256'), text('nistp256'), sshString(ecdsaPoint(name))]),
    Buffer.concat([text('ssh-rsa'), sshString(Buffer.from([1, 0, 1])), mpint(rsaModulus(i))]),
  ]
}

const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']
const MACS = ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com']

const store = await openStore({ db, bulk: true }) // as a scan opens it
try {
  // How long each transaction that writes ran: the scan's (under the recording lock), then its
  // shared-prime check's (the batch GCD runs between them, outside both).
  const stageSeconds = {}
  const write = async (stage, fn) => {
    const start = performance.now()
    try {
      return await fn()
    } finally {
      stageSeconds[stage] = (performance.now() - start) / 1000
    }
  }
  const judge = historyJudge(store, { vantage: 'bench', request: { targets: [`${hosts} synthetic hosts`] }, write })
  const before = await store.stats()
  const startedAt = new Date()
  let t = performance.now()
  // What the collector hands the judge: one Observation per host, keys described from their blobs.
  for (let i = 0; i < hosts; i++) {
    const name = `h${i}.bench.example`
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    judge.observe({
      target: { host: name, address: name, port: 22, aliases: [], source: 'bench' },
      address,
      status: 'ok',
      error: null,
      failedFamilies: [],
      banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7',
      offered: {
        kex: ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'ext-info-s', 'kex-strict-s-v00@openssh.com'],
        serverHostKey: ['rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'],
        ciphers: { clientToServer: CIPHERS, serverToClient: CIPHERS },
        macs: { clientToServer: MACS, serverToClient: MACS },
        compression: { clientToServer: ['none', 'zlib@openssh.com'], serverToClient: ['none', 'zlib@openssh.com'] },
      },
      keys: blobs(i, i % changedEvery === 0 ? generation : 0).map(describeKey),
      connections: 3,
      startedAt: new Date(),
      durationMs: 12,
    })
  }
  const observeSeconds = (performance.now() - t) / 1000
  const finishedAt = new Date()
  t = performance.now()
  const findings = await judge.finish(
    { startedAt, finishedAt, request: { families: null, timeoutMs: 5000, concurrency: 128, targets: hosts } },
    [],
  )
  const recordSeconds = (performance.now() - t) / 1000
  const after = await store.stats()
  const changed = findings.filter((f) => f.kind === 'key_changed').map((f) => f.host)
  process.stdout.write(
    `${JSON.stringify({ observeSeconds, recordSeconds, stageSeconds, findings: findings.length, keyChanged: changed, before, after })}\n`,
  )
} finally {
  await store.close()
}
