import { checkQuietly } from '../src/analysis/bad-keys.js'
import { sievedModuli } from './sieved-moduli.mjs'
import { sharedFactors } from '../src/analysis/batch-gcd.js'
import { algorithmFindings } from '../src/analysis/algorithm-findings.js'
import { describeKey } from '../src/domain/fingerprint/key-blob.js'
import type { OfferedAlgorithms } from '../src/domain/observation.js'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loopbackRange, startSshd, type SshdServer } from '../test/support/sshd.js'
import { measure, median, requireGnuTime, type Measured } from './measure.js'

/* Scan benchmark: hostkeys against OpenSSH's ssh-keyscan on one local fleet of default-config
 * OpenSSH servers, in the same run, alternating which goes first. Loopback only (127.5.0.0/16). */

const HOSTKEYS = path.resolve(import.meta.dirname, '../bin/hostkeys.js')
const SSH_KEYSCAN = '/usr/bin/ssh-keyscan'

export interface ScanBenchOptions {
  readonly hosts: number
  readonly rounds: number
  readonly largeTargets: number
}

function connectionsLogged(server: SshdServer): number {
  let count = 0
  for (const file of server.logFiles) count += readFileSync(file, 'utf8').split('Connection from ').length - 1
  return count
}

/** Keys as `address keytype base64`, from ssh-keyscan's output lines. */
function keyscanKeys(output: string): Set<string> {
  const keys = new Set<string>()
  for (const line of output.split('\n')) {
    const [host, type, blob] = line.split(' ')
    // With a port other than 22, ssh-keyscan names the host `[address]:port`.
    const address = host?.replace(/^\[(.*)\]:\d+$/, '$1')
    if (!line.startsWith('#') && address && type && blob) keys.add(`${address} ${type} ${blob}`)
  }
  return keys
}

function hostkeysKeys(output: string): { keys: Set<string>; connections: number } {
  const document = JSON.parse(output) as {
    hosts: { address: string; connections: number; keys: { publicKey: string }[] }[]
  }
  const keys = new Set<string>()
  let connections = 0
  for (const host of document.hosts) {
    connections += host.connections
    for (const key of host.keys) keys.add(`${host.address} ${key.publicKey}`)
  }
  return { keys, connections }
}

/**
 * Median time, over 5 rounds, to judge a scan's output as a first scan of the fleet would: every key
 * through the known-bad key checks (the bench fleet is one sshd on many addresses, so its keys are the
 * same three everywhere; each is checked as if it were a host's own), batch GCD over one distinct
 * RSA-2048-sized modulus per host (bench/sieved-moduli.mjs), and the KEXINIT findings of every host.
 */
function judgingMilliseconds(output: string): { keys: number; ms: number } {
  const document = JSON.parse(output) as { hosts: { host: string; keys: { publicKey: string }[]; offered: OfferedAlgorithms | null }[] }
  const keys = document.hosts.flatMap((h) => h.keys.map((k) => describeKey(Buffer.from(k.publicKey.split(' ')[1]!, 'base64'))))
  const moduli = sievedModuli(keys.filter((k) => k.type === 'ssh-rsa').length).map((m) => BigInt(`0x${m.toString('hex')}`))
  const times: number[] = []
  for (let round = 0; round < 5; round++) {
    const started = performance.now()
    for (const key of keys) checkQuietly(key)
    sharedFactors([], moduli)
    for (const host of document.hosts) if (host.offered) algorithmFindings(host.host, host.offered)
    times.push(performance.now() - started)
  }
  return { keys: keys.length, ms: median(times) }
}

interface Run {
  readonly measured: Measured
  readonly keys: Set<string>
  readonly connections: number
}

function check(name: string, measured: Measured): void {
  if (measured.exitCode > 1) throw new Error(`${name} exited ${measured.exitCode}: ${measured.stderr.slice(0, 500)}`)
}

export async function runScanBench(options: ScanBenchOptions): Promise<string[]> {
  requireGnuTime()
  const addresses = loopbackRange('127.5.1', options.hosts)
  // OpenSSH's default LoginGraceTime (the harness's 30 s lets a loaded sshd close connections ssh-keyscan
  // still writes to: it dies of SIGPIPE).
  const server = await startSshd({ addresses, keyTypes: ['ed25519', 'ecdsa-256', 'rsa'], extraConfig: ['LoginGraceTime 120'] })
  const lines: string[] = []
  try {
    const inventory = path.join(tmpdir(), `hostkeys-bench-${process.pid}.txt`)
    writeFileSync(inventory, addresses.map((a) => `${a}\n`).join(''))
    const portArgs = ['-p', String(server.port)]

    const keyscanRuns: Run[] = []
    const hostkeysRuns: Run[] = []
    const runKeyscan = async () => {
      let before = connectionsLogged(server)
      // The three families every default OpenSSH has, as the issue compares them; without -t
      // ssh-keyscan also asks for the two security-key types, two connections that find nothing.
      let measured = await measure(SSH_KEYSCAN, [...portArgs, '-T', '10', '-t', 'rsa,ecdsa,ed25519', '-f', inventory])
      // ssh-keyscan 9.2 dies of SIGPIPE (141) when a loaded sshd closes a connection it is writing
      // to (LIBRARIES.md): that run measured nothing; run it again, at most twice.
      for (let retry = 0; retry < 2 && measured.exitCode === 141; retry++) {
        process.stderr.write('scan bench: ssh-keyscan died of SIGPIPE (exit 141) on a loaded machine; running that round again\n')
        await new Promise((r) => setTimeout(r, 2000))
        before = connectionsLogged(server)
        measured = await measure(SSH_KEYSCAN, [...portArgs, '-T', '10', '-t', 'rsa,ecdsa,ed25519', '-f', inventory])
      }
      check('ssh-keyscan', measured)
      await new Promise((r) => setTimeout(r, 300)) // let sshd flush its log
      keyscanRuns.push({ measured, keys: keyscanKeys(measured.stdout), connections: connectionsLogged(server) - before })
    }
    const runHostkeys = async () => {
      // Run as users run it, through its shebang (which sets Node's heap flags).
      const measured = await measure(HOSTKEYS, [
        'scan', ...portArgs, '-T', '10', '-f', inventory, '--no-store', '--no-dns', '--format', 'json',
      ])
      check('hostkeys', measured)
      const { keys, connections } = hostkeysKeys(measured.stdout)
      hostkeysRuns.push({ measured, keys, connections })
    }
    for (let round = 0; round < options.rounds; round++) {
      if (round % 2 === 0) {
        await runKeyscan()
        await runHostkeys()
      } else {
        await runHostkeys()
        await runKeyscan()
      }
    }

    const summarize = (runs: Run[]) => {
      const keys = median(runs.map((r) => r.keys.size))
      return {
        wall: median(runs.map((r) => r.measured.wallSeconds)),
        cpuPerKeyMs: median(runs.map((r) => (r.measured.cpuSeconds * 1000) / Math.max(1, r.keys.size))),
        connectionsPerHost: median(runs.map((r) => r.connections / options.hosts)),
        keys,
        rss: median(runs.map((r) => r.measured.peakRssMb)),
      }
    }
    const ours = summarize(hostkeysRuns)
    const theirs = summarize(keyscanRuns)
    // Every key ssh-keyscan found, in any round, must be among those hostkeys found in every round.
    const union = new Set(keyscanRuns.flatMap((r) => [...r.keys]))
    const missed = Math.max(...hostkeysRuns.map((r) => [...union].filter((k) => !r.keys.has(k)).length))

    lines.push(
      `scan: ${options.hosts} OpenSSH hosts (ed25519, ecdsa-256, rsa; default config), ${options.rounds} rounds, medians`,
      `  ${''.padEnd(26)}${'hostkeys'.padStart(12)}${'ssh-keyscan'.padStart(14)}${'ratio'.padStart(10)}`,
      row('wall time (s)', ours.wall, theirs.wall, 2),
      row('client CPU per key (ms)', ours.cpuPerKeyMs, theirs.cpuPerKeyMs, 3),
      row('connections per host', ours.connectionsPerHost, theirs.connectionsPerHost, 2),
      row('keys collected', ours.keys, theirs.keys, 0),
      row('peak RSS (MB)', ours.rss, theirs.rss, 1),
      `  keys ssh-keyscan found that hostkeys missed: ${missed}`,
    )
    // What judging costs a scan: the known-bad key checks (every key new to the history: all of them
    // here), batch GCD over the RSA moduli and the KEXINIT findings, run in this process over the keys
    // of the last hostkeys run, against that run's wall time.
    const judging = judgingMilliseconds(hostkeysRuns[hostkeysRuns.length - 1]!.measured.stdout)
    lines.push(`  judging (known-bad key checks, batch GCD, algorithm findings) of ${judging.keys} keys: ${judging.ms.toFixed(0)} ms, ${((judging.ms / 1000 / ours.wall) * 100).toFixed(1)}% of the scan's wall time`)

    if (options.largeTargets > 0) {
      // Peak RSS over a large inventory: many names spread over the same fleet, Ed25519 only so
      // the servers, not the client, are not what takes the time.
      const large = path.join(tmpdir(), `hostkeys-bench-large-${process.pid}.txt`)
      writeFileSync(
        large,
        Array.from({ length: options.largeTargets }, (_, i) => `${addresses[i % addresses.length]} host${i}.bench\n`).join(''),
      )
      const measured = await measure(HOSTKEYS, [
        'scan', ...portArgs, '-T', '10', '-t', 'ed25519', '-f', large, '--no-store', '--no-dns', '--format', 'known_hosts',
      ])
      check('hostkeys (large)', measured)
      const keys = measured.stdout.split('\n').filter((l) => l.includes(' ssh-ed25519 ')).length
      lines.push(
        `scan: ${options.largeTargets} targets, -t ed25519: ${measured.wallSeconds.toFixed(1)} s wall, ` +
          `${keys} keys, peak RSS ${measured.peakRssMb.toFixed(1)} MB`,
      )
    }
  } finally {
    await server.stop()
  }
  return lines
}

function row(label: string, ours: number, theirs: number, digits: number): string {
  const ratio = theirs === 0 ? '-' : (ours / theirs).toFixed(2)
  return `  ${label.padEnd(26)}${ours.toFixed(digits).padStart(12)}${theirs.toFixed(digits).padStart(14)}${ratio.padStart(10)}`
}
