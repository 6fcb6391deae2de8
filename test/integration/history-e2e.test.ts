import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { HOSTKEYS_BIN, runCli, type CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdKeyType, type SshdServer } from '../support/sshd.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* The history end to end: the CLI against real sshd fleets on 127.2.0.0/16, as a user (or cron) runs
 * it night after night. Commands run in this process (main(), the same wiring, renderers and exit
 * codes) on one open store per backend: the embedded one, and PostgreSQL when
 * HOSTKEYS_TEST_DATABASE_URL is set. Scenarios share that history but not their hosts or keys: each
 * owns a /24 (127.2.<backend*100 + n>.0/24), and what reads the whole history is narrowed to it. What
 * needs a process of its own (HOSTKEYS_DB, a database that is down, the embedded lock) spawns the
 * executable on a database of its own. Every scan passes --no-dns: the machine's resolver is never
 * asked. Scenarios run a few at a time. */

interface Finding {
  kind: string
  severity: string
  host: string
  hosts: string[]
  keyType: string | null
  fingerprint: string | null
  previous: string | null
  message: string
}

interface ScanKey {
  type: string
  sha256: string
  md5: string
}

interface ScanDocument {
  hosts: { host: string; status: string; keys: ScanKey[] }[]
  findings: Finding[]
}

// Generous: on a loaded 2-core machine (two suites at once) a loopback handshake has taken over 2 s.
const TIMEOUT = ['-T', '8']

function sha256Of(server: SshdServer, type: SshdKeyType): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', server.publicKeyFiles[type]!], { encoding: 'utf8' }).split(' ')[1]!
}

function md5Of(server: SshdServer, type: SshdKeyType): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', server.publicKeyFiles[type]!], { encoding: 'utf8' }).split(' ')[1]!
}

const id = (address: string, port: number) => `[${address}]:${port}`

/** "kind host" for each finding, sorted: what a scan said, in a form a deepEqual can show. */
function summary(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.kind} ${f.host}`).sort()
}

function parseScan(result: CliResult): ScanDocument {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as ScanDocument
}

function connectionsLogged(server: SshdServer): number {
  return server.logFiles.map((f) => readFileSync(f, 'utf8').split('Connection from').length - 1).reduce((a, b) => a + b, 0)
}

/** A TCP peer that accepts and never speaks: a scan target that costs its full -T deadline. */
async function silentPeer(address: string): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  server.on('close', () => sockets.forEach((s) => s.destroy()))
  return { port: (server.address() as { port: number }).port, server }
}

/** Spawns the CLI without waiting, so a test can act while it runs. */
function startCli(args: readonly string[]): { pid: number; done: Promise<CliResult> } {
  const started = Date.now()
  const child = spawn(process.execPath, [HOSTKEYS_BIN, ...args], { env: { ...process.env, HOSTKEYS_DB: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }))
  })
  return { pid: child.pid!, done }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const work = mkdtempSync(join(tmpdir(), 'hostkeys-history-e2e-'))
const backends = testBackends()
const embedded = backends[0]!

describe('history end to end (CLI, real sshd)', { skip: skipUnlessSshd(), concurrency: true }, () => {
  const servers = new Set<SshdServer>()
  const peers: Server[] = []

  async function sshd(addresses: string[], keyTypes: SshdKeyType[], options: { keyDir?: string; port?: number; rsaBits?: number } = {}) {
    const server = await startSshd({ addresses, keyTypes, ...options })
    servers.add(server)
    return server
  }
  async function stop(server: SshdServer): Promise<void> {
    await server.stop()
    servers.delete(server)
  }

  after(async () => {
    await Promise.all([...servers].map((s) => s.stop()))
    peers.forEach((p) => p.close())
    rmSync(work, { recursive: true, force: true })
  })

  for (const [index, backend] of backends.entries()) {
    /** This backend's /24 for scenario n: 127.2.(index*100 + n).0/24. */
    const net = (n: number) => `127.2.${index * 100 + n}`

    describe(backend.name, { concurrency: 3 }, () => {
      const cleanups: (() => Promise<void>)[] = []
      let opened: OpenedStore
      before(async () => {
        opened = await backend.open()
        cleanups.push(() => opened.cleanup())
      })
      after(async () => {
        await Promise.all(cleanups.map((c) => c()))
      })
      /** A database of its own, for a CLI process (no store open on it). */
      async function database(): Promise<string> {
        const { db, cleanup } = await backend.database()
        cleanups.push(cleanup)
        return db
      }
      const scan = (targets: string[], ...extra: string[]) =>
        runInProcess(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', ...extra, ...targets], { history: opened.store })
      const cli = (...args: string[]) => runInProcess(args, { history: opened.store })
      /** The findings of a whole-history listing that concern scenario n's hosts. */
      const ofScenario = (n: number, findings: readonly Finding[]) => findings.filter((f) => f.host.startsWith(`[${net(n)}.`))

      it('first scan: new_host for each host, exit 0; the same scan again: nothing new, exit 0', async () => {
        const [a, b] = await Promise.all([sshd([`${net(1)}.1`], ['ed25519', 'ecdsa-256']), sshd([`${net(1)}.2`], ['ed25519'])])
        const targets = [`${net(1)}.1:${a.port}`, `${net(1)}.2:${b.port}`]
        const first = await scan(targets)
        assert.equal(first.code, 0, first.stderr)
        const document = parseScan(first)
        assert.deepEqual(summary(document.findings), [`new_host ${id(`${net(1)}.1`, a.port)}`, `new_host ${id(`${net(1)}.2`, b.port)}`])
        assert.ok(document.findings.every((f) => f.severity === 'info'))
        const second = await scan(targets)
        assert.equal(second.code, 0, second.stderr)
        assert.deepEqual(parseScan(second).findings, [])
      })

      it('a rebuilt host is key_changed (critical, exit 1); accept --reason clears it and history shows who and why', async () => {
        const address = `${net(2)}.1`
        const old = await sshd([address], ['ed25519'])
        const host = id(address, old.port)
        assert.equal((await scan([`${address}:${old.port}`])).code, 0)
        const oldFingerprint = sha256Of(old, 'ed25519')
        await stop(old)
        const rebuilt = await sshd([address], ['ed25519'], { port: old.port, keyDir: join(work, `rebuilt-${index}`) })
        const newFingerprint = sha256Of(rebuilt, 'ed25519')
        assert.notEqual(newFingerprint, oldFingerprint)

        const changed = await scan([`${address}:${old.port}`])
        assert.equal(changed.code, 1, changed.stderr)
        const findings = parseScan(changed).findings
        assert.equal(findings.length, 1, JSON.stringify(findings))
        assert.deepEqual(
          { ...findings[0]!, message: undefined },
          { kind: 'key_changed', severity: 'critical', lifecycle: 'condition', closedBy: 'accept', host, hosts: [host], keyType: 'ssh-ed25519', fingerprint: newFingerprint, previous: oldFingerprint, message: undefined },
        )
        assert.match(findings[0]!.message, /hostkeys accept/)

        const accepted = await runInProcess(['accept', host, '--reason', 'rebuilt from golden image'], { history: opened.store, env: { USER: 'alice', SUDO_USER: '' } })
        assert.equal(accepted.code, 0, accepted.stderr)
        assert.match(accepted.stdout, /accepted by alice \(rebuilt from golden image\)/)
        assert.match(accepted.stdout, new RegExp(`trusted ${newFingerprint.replace(/[+/]/g, '\\$&')}\n  retired ${oldFingerprint.replace(/[+/]/g, '\\$&')}`))
        assert.match(accepted.stdout, /closed 1 trust finding\(s\): key_changed/)

        const after = await scan([`${address}:${old.port}`])
        assert.equal(after.code, 0, after.stderr)
        assert.deepEqual(parseScan(after).findings, [])
        const history = await cli('history', host)
        assert.equal(history.code, 0, history.stderr)
        assert.match(history.stdout, /accepted by alice \(rebuilt from golden image\)/)
      })

      it('a clone is duplicate_key naming both, though the first was scanned alone the night before; allow-shared ends it', async () => {
        const [a, b] = [`${net(3)}.1`, `${net(3)}.2`]
        // Two machines built from one image: two sshd on one key directory.
        const keyDir = join(work, `image-${index}`)
        const original = await sshd([a], ['ed25519'], { keyDir })
        const clone = await sshd([b], ['ed25519'], { keyDir, port: original.port })
        const port = original.port
        const hosts = [id(a, port), id(b, port)]
        assert.equal((await scan([`${a}:${port}`])).code, 0)

        // The duplicate is fleet-wide: the clone alone tonight still collides with the original.
        const cloneOnly = await scan([`${b}:${port}`])
        assert.equal(cloneOnly.code, 1, 'duplicate_key is a warning, at the default --fail-on warning')
        const duplicates = parseScan(cloneOnly).findings.filter((f) => f.kind === 'duplicate_key')
        assert.equal(duplicates.length, 1, JSON.stringify(parseScan(cloneOnly).findings))
        assert.deepEqual(duplicates[0]!.hosts, hosts)
        assert.equal(duplicates[0]!.fingerprint, sha256Of(clone, 'ed25519'))
        assert.equal(duplicates[0]!.severity, 'warning')
        // Each host quoted for the shell: `[addr]:port` is a glob pattern to zsh.
        assert.ok(duplicates[0]!.message.includes(`\`hostkeys allow-shared ${hosts.map((h) => `'${h}'`).join(' ')}\``), duplicates[0]!.message)

        const allowed = await cli('allow-shared', ...hosts)
        assert.equal(allowed.code, 0, allowed.stderr)
        const again = await scan([`${a}:${port}`, `${b}:${port}`])
        assert.equal(again.code, 0, again.stderr)
        assert.deepEqual(parseScan(again).findings, [])
      })

      it('two hosts answering with one new key in one scan: one interception naming both, plus each key_changed', async () => {
        const [a, b] = [`${net(4)}.1`, `${net(4)}.2`]
        const first = await sshd([a], ['ed25519'])
        const second = await sshd([b], ['ed25519'], { port: first.port })
        const port = first.port
        const targets = [`${a}:${port}`, `${b}:${port}`]
        assert.equal((await scan(targets)).code, 0)
        await Promise.all([stop(first), stop(second)])
        const middlebox = await sshd([a, b], ['ed25519'], { port, keyDir: join(work, `middlebox-${index}`) })
        const shared = sha256Of(middlebox, 'ed25519')

        const result = await scan(targets)
        assert.equal(result.code, 1)
        const findings = parseScan(result).findings
        assert.deepEqual(summary(findings), [
          `duplicate_key ${id(a, port)}`,
          `interception ${id(a, port)}`,
          `key_changed ${id(a, port)}`,
          `key_changed ${id(b, port)}`,
        ])
        const interception = findings.find((f) => f.kind === 'interception')!
        assert.equal(interception.severity, 'critical')
        assert.deepEqual(interception.hosts, [id(a, port), id(b, port)])
        assert.equal(interception.fingerprint, shared)
        assert.ok(interception.message.includes(shared))
        assert.ok(findings.filter((f) => f.kind === 'key_changed').every((f) => f.fingerprint === shared && f.severity === 'critical'))
        // Critical first, as people read them.
        assert.deepEqual(findings.map((f) => f.severity).slice(0, 3), ['critical', 'critical', 'critical'])
      })

      it('a known host that stops answering is host_unreachable (info), never key_removed; back with the same keys, nothing', async () => {
        const [a, b] = [`${net(5)}.1`, `${net(5)}.2`]
        const stays = await sshd([a], ['ed25519'])
        const keyDir = join(work, `leaves-${index}`)
        let leaves = await sshd([b], ['ed25519', 'ecdsa-256'], { keyDir })
        const port = leaves.port
        const targets = [`${a}:${stays.port}`, `${b}:${port}`]
        assert.equal((await scan(targets)).code, 0)
        await stop(leaves)

        const gone = await scan(targets)
        assert.equal(gone.code, 0, 'host_unreachable is info, below --fail-on warning')
        const findings = parseScan(gone).findings
        assert.deepEqual(summary(findings), [`host_unreachable ${id(b, port)}`])
        assert.equal(findings[0]!.severity, 'info')
        assert.equal(findings[0]!.fingerprint, null)
        // Its keys are still recorded as what it serves.
        const lookup = await cli('lookup', b, '--format', 'json')
        assert.equal(lookup.code, 0, lookup.stderr)
        const matches = (JSON.parse(lookup.stdout) as { matches: { type: string; current: boolean }[] }).matches
        assert.deepEqual(matches.map((m) => [m.type, m.current]).sort(), [['ecdsa-sha2-nistp256', true], ['ssh-ed25519', true]])

        leaves = await sshd([b], ['ed25519', 'ecdsa-256'], { port, keyDir })
        const back = await scan(targets)
        assert.equal(back.code, 0, back.stderr)
        assert.deepEqual(parseScan(back).findings, [])
        const open = JSON.parse((await cli('findings', '--open', '--format', 'json')).stdout) as { findings: Finding[] }
        assert.deepEqual(summary(ofScenario(5, open.findings)), [], 'host_unreachable resolved once the host answered')
      })

      it('one more key type is key_added, one fewer is key_removed (warnings, exit 1)', async () => {
        const address = `${net(6)}.1`
        const keyDir = join(work, `grows-${index}`)
        let server = await sshd([address], ['ed25519'], { keyDir })
        const port = server.port
        const host = id(address, port)
        const target = [`${address}:${port}`]
        assert.equal((await scan(target)).code, 0)

        await stop(server)
        server = await sshd([address], ['ed25519', 'ecdsa-256'], { keyDir, port })
        const ecdsa = sha256Of(server, 'ecdsa-256')
        const grown = await scan(target)
        assert.equal(grown.code, 1)
        assert.deepEqual(
          parseScan(grown).findings.map((f) => [f.kind, f.severity, f.host, f.keyType, f.fingerprint, f.previous]),
          [['key_added', 'warning', host, 'ecdsa-sha2-nistp256', ecdsa, null]],
        )
        // Pending until a person trusts it: only then is its removal news.
        assert.equal((await cli('accept', host)).code, 0)

        await stop(server)
        server = await sshd([address], ['ed25519'], { keyDir, port })
        // A scan that asks only for ed25519 cannot tell whether the ECDSA key is gone.
        const narrow = await scan(target, '-t', 'ed25519')
        assert.equal(narrow.code, 0, narrow.stderr)
        assert.deepEqual(parseScan(narrow).findings, [])
        const shrunk = await scan(target)
        assert.equal(shrunk.code, 1)
        assert.deepEqual(
          parseScan(shrunk).findings.map((f) => [f.kind, f.severity, f.host, f.keyType, f.fingerprint]),
          [['key_removed', 'warning', host, 'ecdsa-sha2-nistp256', ecdsa]],
        )
      })

      it('a DSA key and a 1024-bit RSA key are weak_key', async () => {
        const address = `${net(7)}.1`
        const server = await sshd([address], ['ed25519', 'dsa', 'rsa'], { rsaBits: 1024 })
        const host = id(address, server.port)
        const result = await scan([`${address}:${server.port}`])
        assert.equal(result.code, 1)
        const weak = parseScan(result).findings.filter((f) => f.kind === 'weak_key')
        assert.deepEqual(
          weak.map((f) => [f.host, f.severity, f.keyType, f.fingerprint]).sort(),
          [
            [host, 'warning', 'ssh-dss', sha256Of(server, 'dsa')],
            [host, 'warning', 'ssh-rsa', sha256Of(server, 'rsa')],
          ].sort(),
        )
        assert.match(weak.find((f) => f.keyType === 'ssh-rsa')!.message, /1024-bit RSA/)
      })

      it('--quiet prints nothing below --fail-on and only the findings at or above it', async () => {
        const clones = await sshd([`${net(8)}.1`, `${net(8)}.2`], ['ed25519'])
        const both = [`${net(8)}.1:${clones.port}`, `${net(8)}.2:${clones.port}`]
        const quiet = (targets: string[], ...extra: string[]) => runInProcess(['scan', '--no-dns', ...TIMEOUT, '--quiet', ...extra, ...targets], { history: opened.store })

        // (A first quiet scan with only new_host, info, is the --metrics-file scenario.)
        const belowCritical = await quiet(both, '--fail-on', 'critical')
        assert.deepEqual([belowCritical.code, belowCritical.stdout, belowCritical.stderr], [0, '', ''], 'a warning under --fail-on critical')
        const loud = await quiet(both)
        assert.equal(loud.code, 1)
        assert.equal(loud.stderr, '')
        const lines = loud.stdout.trim().split('\n')
        assert.equal(lines.length, 1, loud.stdout)
        assert.match(lines[0]!, /duplicate_key/)
        assert.ok(lines[0]!.includes(sha256Of(clones, 'ed25519')))
        assert.doesNotMatch(loud.stdout, /new_host|HOST +ADDRESS/, 'neither info findings nor the table')
      })

      it('--metrics-file writes Prometheus text: hosts scanned and reached, findings by kind, last success', async () => {
        const db = await database()
        const server = await sshd([`${net(9)}.1`], ['ed25519'])
        const metrics = join(work, `metrics-${index}.prom`)
        const startedAt = Math.floor(Date.now() / 1000)
        // HOSTKEYS_DB instead of --db, as a cron environment would set it.
        // The second target never answers: never_reached, a warning, so --fail-on critical keeps cron quiet.
        // In this process, but opening the database HOSTKEYS_DB names, as the executable would.
        const result = await runInProcess(['scan', '--no-dns', ...TIMEOUT, '--quiet', '--fail-on', 'critical', '--metrics-file', metrics, `${net(9)}.1:${server.port}`, `${net(9)}.2:${server.port}`], {
          env: { HOSTKEYS_DB: db },
        })
        assert.deepEqual([result.code, result.stdout, result.stderr], [0, '', ''])
        const samples = new Map<string, number>()
        const typed = new Set<string>()
        for (const line of readFileSync(metrics, 'utf8').split('\n')) {
          if (line === '') continue
          const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)
          if (comment) {
            if (comment[1] === 'TYPE') {
              assert.match(comment[3]!, /^(gauge|counter)$/)
              typed.add(comment[2]!)
            }
            continue
          }
          const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9.e+]+)$/.exec(line)
          assert.ok(sample, `not a Prometheus sample line: ${JSON.stringify(line)}`)
          assert.ok(typed.has(sample[1]!), `${sample[1]} has no # TYPE before it`)
          samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[4]))
        }
        assert.equal(samples.get('hostkeys_hosts_scanned'), 2)
        assert.equal(samples.get('hostkeys_hosts_reached'), 1)
        assert.equal(samples.get('hostkeys_findings{kind="new_host"}'), 1)
        assert.equal(samples.get('hostkeys_findings{kind="key_changed"}'), 0)
        assert.equal(samples.get('hostkeys_findings{kind="never_reached"}'), 1)
        const last = samples.get('hostkeys_last_success_timestamp_seconds')!
        assert.ok(last >= startedAt && last <= Date.now() / 1000 + 1, `last success ${last}`)
        assert.ok(!existsSync(`${metrics}.tmp`))
      })

      it('lookup finds a key by the SHA256 and MD5 forms the scan printed; known-hosts output is what ssh-keygen -F finds', async () => {
        const address = `${net(10)}.1`
        const server = await sshd([address], ['ed25519', 'rsa'])
        const host = id(address, server.port)
        const document = parseScan(await scan([`${address}:${server.port}`]))
        const ed25519 = document.hosts[0]!.keys.find((k) => k.type === 'ssh-ed25519')!
        assert.equal(ed25519.sha256, sha256Of(server, 'ed25519'))
        assert.equal(ed25519.md5, md5Of(server, 'ed25519'))
        for (const query of [ed25519.sha256, ed25519.md5]) {
          const result = await cli('lookup', query, '--format', 'json')
          assert.equal(result.code, 0, `${query}: ${result.stderr}`)
          const matches = (JSON.parse(result.stdout) as { matches: { host: string; sha256: string; current: boolean }[] }).matches
          assert.deepEqual(matches.map((m) => [m.host, m.sha256, m.current]), [[host, ed25519.sha256, true]], query)
        }

        const knownHosts = await cli('known-hosts')
        assert.equal(knownHosts.code, 0, knownHosts.stderr)
        const file = join(work, `known_hosts-${index}`)
        writeFileSync(file, knownHosts.stdout)
        const found = execFileSync('ssh-keygen', ['-F', host, '-f', file], { encoding: 'utf8' })
        for (const type of ['ed25519', 'rsa'] as const) {
          assert.ok(found.includes(server.publicKeys[type]!.split(' ')[1]!), `ssh-keygen -F finds the ${type} key`)
        }
      })

      // Nothing of it depends on the backend under test: once is enough.
      if (backend === embedded) it('a database that is down: exit 2 before any connection, and no password in the message', async () => {
        const address = `${net(11)}.1`
        const server = await sshd([address], ['ed25519'])
        const connections = connectionsLogged(server)
        const result = await runCli(['scan', '--no-dns', ...TIMEOUT, '--db', 'postgres://u:secret@127.0.0.1:1/x', `${address}:${server.port}`])
        assert.equal(result.code, 2)
        assert.equal(result.stdout, '')
        assert.match(result.stderr, /cannot connect to PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/x/)
        assert.doesNotMatch(result.stderr, /secret/)
        await new Promise((r) => setTimeout(r, 200)) // let sshd's log catch up, were there a connection
        assert.equal(connectionsLogged(server), connections, 'sshd saw no connection')
      })

      it(backend.name === 'embedded' ? 'two scans at once: the second exits 2 naming the holder; the first completes' : 'two scans at once both complete and the history is consistent', async () => {
        const db = await database()
        const server = await sshd([`${net(12)}.1`, `${net(12)}.2`], ['ed25519'])
        const silent = await silentPeer(`${net(12)}.9`)
        peers.push(silent.server)
        // The silent peer holds each scan for its full 2 s deadline.
        const targets = [`${net(12)}.1:${server.port}`, `${net(12)}.2:${server.port}`, `${net(12)}.9:${silent.port}`]
        const args = ['scan', '--no-dns', ...TIMEOUT, '--format', 'json', '--fail-on', 'critical', '--db', db, ...targets]
        const first = startCli(args)
        if (backend.name === 'embedded') {
          const lockFile = join(db, 'hostkeys.lock')
          await waitFor(() => existsSync(lockFile), 15_000, 'the first scan to take the lock')
          const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; hostname: string }
          assert.equal(holder.pid, first.pid)
          const second = await runCli(args)
          assert.equal(second.code, 2)
          assert.equal(second.stdout, '')
          assert.match(second.stderr, new RegExp(`in use by process ${first.pid} on ${holder.hostname.replace(/\./g, '\\.')}`))
          const done = await first.done
          assert.equal(done.code, 0, done.stderr)
          assert.equal(parseScan(done).findings.filter((f) => f.kind === 'new_host').length, 2)
          assert.ok(!existsSync(lockFile), 'the lock is released')
        } else {
          const second = startCli(args)
          const results = await Promise.all([first.done, second.done])
          for (const r of results) assert.equal(r.code, 0, r.stderr)
          const newHosts = results.flatMap((r) => parseScan(r).findings).filter((f) => f.kind === 'new_host')
          assert.deepEqual(summary(newHosts), [`new_host ${id(`${net(12)}.1`, server.port)}`, `new_host ${id(`${net(12)}.2`, server.port)}`], 'each host is new to exactly one of them')
          const stored = JSON.parse((await runInProcess(['findings', '--format', 'json', '--db', db])).stdout) as { findings: Finding[] }
          assert.deepEqual(summary(stored.findings.filter((f) => f.kind === 'new_host')), summary(newHosts))
          const lookup = JSON.parse((await runInProcess(['lookup', sha256Of(server, 'ed25519'), '--format', 'json', '--db', db])).stdout) as { matches: { host: string }[] }
          assert.deepEqual(lookup.matches.map((m) => m.host).sort(), [id(`${net(12)}.1`, server.port), id(`${net(12)}.2`, server.port)])
        }
      })
    })
  }
})
