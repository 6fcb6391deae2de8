/* Real BIND (named) and unbound processes on loopback, for the SSHFP integration tests.
 *
 * named only listens on addresses it finds on an interface, and lo carries just 127.0.0.1/8, so the
 * helper adds the 127.3.x.y/32 it needs to lo (`ip addr add`, needs root) and leaves it there (see
 * addLoopbackAddress). unbound binds the address directly. Loopback only: every address must be in 127.3.0.0/16
 * (the tests) or 127.6.0.0/16 (the DNS benchmark).
 *
 * Each server runs in the foreground under a /bin/sh guard that kills it when our end of the guard's
 * stdin closes: on stop(), and when this Node process dies in any way, so nothing outlives the run. */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Nameserver } from '../../src/dns/nameserver.js'

export const NAMED = '/usr/sbin/named'
export const UNBOUND = '/usr/sbin/unbound'
const TOOLS = [NAMED, UNBOUND, '/usr/bin/named-checkzone', '/usr/bin/nsupdate', '/usr/bin/dnssec-keygen', '/usr/bin/dnssec-signzone', '/usr/sbin/ip']

function assertOurLoopback(address: string): void {
  if (!/^127\.[36]\.\d{1,3}\.\d{1,3}$/.test(address)) {
    throw new Error(`refusing ${address}: the DNS tests use 127.3.0.0/16 and the DNS benchmark 127.6.0.0/16, nothing else`)
  }
}

/**
 * For `describe(name, { skip: skipUnlessBind() }, ...)`: false when named, unbound and their tools are
 * here and we may add loopback addresses; otherwise says why on stderr and skips, except under CI
 * (process.env.CI set), where it throws.
 */
export function skipUnlessBind(): string | false {
  const missing = TOOLS.filter((tool) => spawnSync(tool, ['-h'], { stdio: 'ignore' }).error !== undefined)
  let reason: string | null = missing.length > 0 ? `BIND tests need ${missing.join(', ')} (apt-get install bind9 bind9-utils bind9-dnsutils unbound iproute2)` : null
  if (reason === null && process.getuid?.() !== 0) reason = 'BIND tests need root, to add a 127.3.x.y address to lo for named'
  if (reason === null) return false
  if (process.env.CI) throw new Error(`${reason}; CI is set, so this is a failure, not a skip`)
  process.stderr.write(`\n*** SKIPPING BIND/unbound SSHFP tests: ${reason} ***\n\n`)
  return reason
}

/** Adds `address`/32 to lo unless it is there, and leaves it there. Removing it afterwards broke a
 * second copy of the suite running at once: it found the address present, used it, and lost it when
 * the first copy's named stopped. A /32 inside 127.0.0.0/8 on lo routes nowhere new, so it stays
 * (the machine's own reboot clears it); the returned undo does nothing, kept so callers need not change. */
function addLoopbackAddress(address: string): () => void {
  const result = spawnSync('/usr/sbin/ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { encoding: 'utf8' })
  if (result.status === 0 || /File exists|already assigned/i.test(result.stderr)) return () => {}
  throw new Error(`cannot add ${address} to lo: ${result.stderr.trim()}`)
}

/** A port free on `address` for both UDP and TCP right now. */
async function freePort(address: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = createSocket('udp4')
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind({ address, port: 0 }, () => resolve(udp.address().port))
    })
    const free = await new Promise<boolean>((resolve) => {
      const tcp = createServer()
      tcp.once('error', () => resolve(false))
      tcp.listen({ host: address, port }, () => tcp.close(() => resolve(true)))
    })
    await new Promise<void>((r) => udp.close(() => r()))
    if (free) return port
  }
  throw new Error(`no free port on ${address}`)
}

interface Guarded {
  readonly child: ChildProcess
  output(): string
  stop(): Promise<void>
}

/** Runs `command args` under the stdin guard; resolves once `ready` matches its output. */
function startGuarded(command: string, args: string[], ready: RegExp, timeoutMs = 10_000): Promise<Guarded> {
  const guard = 'exec 3<&0; "$@" </dev/null 3<&- & pid=$!; { cat <&3 >/dev/null; kill $pid 2>/dev/null; } & wait $pid'
  const child = spawn('/bin/sh', ['-c', guard, 'guard', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const guarded: Guarded = {
    child,
    output: () => output,
    async stop() {
      child.stdin!.end()
      await exited
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void guarded.stop()
      reject(new Error(`${command} did not become ready within ${timeoutMs} ms:\n${output.slice(-2000)}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (ready.test(output)) {
        clearTimeout(timer)
        resolve(guarded)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output.slice(-2000)}`))
    })
  })
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`)
  return result.stdout
}

export interface ZoneSpec {
  /** Zone name without the final dot, e.g. `dyn.test`. */
  readonly name: string
  /** Master-file text; $ORIGIN is the zone. */
  readonly text: string
  /** Allow RFC 2136 updates from loopback (for nsupdate). */
  readonly dynamic?: boolean
  /** Sign with dnssec-keygen + dnssec-signzone (ECDSA P-256); the DS set lands in `trustAnchors`. */
  readonly signed?: boolean
}

export interface NamedServer {
  readonly nameserver: Nameserver
  readonly dir: string
  /** Path of the DS set (trust anchor) of each signed zone, by zone name. */
  readonly trustAnchors: ReadonlyMap<string, string>
  /** named's log so far, for failure messages. */
  log(): string
  stop(): Promise<void>
}

/** Starts an authoritative named on `address` at a free port, serving `zones` (recursion off). */
export async function startNamed(address: string, zones: readonly ZoneSpec[]): Promise<NamedServer> {
  assertOurLoopback(address)
  const removeAddress = addLoopbackAddress(address)
  const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-named-'))
  try {
    const trustAnchors = new Map<string, string>()
    const zoneStatements: string[] = []
    for (const zone of zones) {
      const file = path.join(dir, `${zone.name}.db`)
      writeFileSync(file, zone.text)
      let served = file
      if (zone.signed) {
        run('/usr/bin/dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-n', 'ZONE', zone.name], dir)
        run('/usr/bin/dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-n', 'ZONE', zone.name], dir)
        served = `${file}.signed`
        run('/usr/bin/dnssec-signzone', ['-q', '-S', '-K', dir, '-d', dir, '-o', zone.name, '-f', served, file], dir)
        trustAnchors.set(zone.name, path.join(dir, `dsset-${zone.name}.`))
      }
      const update = zone.dynamic ? ' allow-update { 127.0.0.0/8; };' : ''
      zoneStatements.push(`zone "${zone.name}" { type primary; file "${served}";${update} };`)
    }
    const port = await freePort(address)
    const conf = path.join(dir, 'named.conf')
    writeFileSync(
      conf,
      [
        'options {',
        `  directory "${dir}";`,
        `  listen-on port ${port} { ${address}; };`,
        '  listen-on-v6 { none; };',
        `  pid-file "${dir}/named.pid";`,
        `  session-keyfile "${dir}/session.key";`,
        `  managed-keys-directory "${dir}";`,
        '  recursion no;',
        '  dnssec-validation no;',
        '  notify no;',
        '};',
        'controls { };',
        ...zoneStatements,
        '',
      ].join('\n'),
    )
    const named = await startGuarded(NAMED, ['-g', '-n', '1', '-c', conf], /^.* running$/m)
    if (!new RegExp(`listening on .*${address.replace(/\./g, '\\.')}#${port}`).test(named.output())) {
      await named.stop()
      throw new Error(`named is running but not listening on ${address}#${port}:\n${named.output().slice(-2000)}`)
    }
    return {
      nameserver: { address, port, family: 4 },
      dir,
      trustAnchors,
      log: named.output,
      async stop() {
        await named.stop()
        removeAddress()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    removeAddress()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

export interface UnboundServer {
  readonly nameserver: Nameserver
  log(): string
  stop(): Promise<void>
}

/**
 * Starts a validating unbound on `address` that sends queries for each zone to `upstream` (stub-zone)
 * and trusts the given DS sets (RFC 4035 §4.4 trust anchors). Zones without an anchor are declared
 * insecure. unbound serves `test.` itself by default (RFC 6761); `nodefault` lets the stubs through.
 */
export async function startUnbound(
  address: string,
  upstream: Nameserver,
  zones: readonly string[],
  trustAnchors: ReadonlyMap<string, string>,
): Promise<UnboundServer> {
  assertOurLoopback(address)
  const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-unbound-'))
  try {
    const port = await freePort(address)
    const conf = path.join(dir, 'unbound.conf')
    const lines = [
      'server:',
      `  interface: ${address}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${dir}/unbound.pid"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 1',
      '  access-control: 127.0.0.0/8 allow',
      '  do-not-query-localhost: no',
      '  module-config: "validator iterator"',
      '  local-zone: "test." nodefault',
      ...zones.flatMap((zone) => {
        const anchor = trustAnchors.get(zone)
        return anchor ? [`  trust-anchor-file: "${anchor}"`] : [`  domain-insecure: "${zone}"`]
      }),
      'remote-control:',
      '  control-enable: no',
      ...zones.flatMap((zone) => ['stub-zone:', `  name: "${zone}"`, `  stub-addr: ${upstream.address}@${upstream.port}`]),
      '',
    ]
    writeFileSync(conf, lines.join('\n'))
    run('/usr/sbin/unbound-checkconf', [conf], dir)
    const unbound = await startGuarded(UNBOUND, ['-d', '-c', conf], /start of service/)
    return {
      nameserver: { address, port, family: 4 },
      log: unbound.output,
      async stop() {
        await unbound.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

/** named-checkzone's verdict on a zone file's text: null when it loads, else its complaint. */
export function checkZone(zone: string, text: string): string | null {
  const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-checkzone-'))
  try {
    const file = path.join(dir, 'zone.db')
    writeFileSync(file, text)
    const result = spawnSync('/usr/bin/named-checkzone', ['-k', 'fail', '-i', 'full', zone, file], { encoding: 'utf8' })
    return result.status === 0 ? null : `${result.stdout}${result.stderr}`.trim()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Feeds a script to nsupdate; throws with its output when it fails. */
export function runNsupdate(script: string): void {
  const result = spawnSync('/usr/bin/nsupdate', ['-v'], { input: script, encoding: 'utf8', timeout: 10_000 })
  if (result.status !== 0) throw new Error(`nsupdate failed (${result.status}): ${result.stderr}${result.stdout}\nscript:\n${script}`)
}

export function readTrustAnchor(file: string): string {
  return readFileSync(file, 'utf8')
}
