/* Real OpenSSH sshd processes on loopback, for integration tests and benchmarks.
 *
 * clone set : several addresses served by sshd processes that load the same host keys; every
 *             address presents identical keys, as a fleet built from one golden image does.
 *
 * Loopback only: every address must be in 127.0.0.0/8 or be ::1. Test files claim their own /16
 * (ssh collector 127.1/16; others 127.2/16, 127.3/16, 127.4/16) so parallel runs do not collide.
 *
 * Each sshd runs in the foreground (-D) under a tiny /bin/sh guard that kills it as soon as our
 * end of the guard's stdin closes: when stop() is called, and also when this Node process dies in
 * any way, even SIGKILL, so no sshd outlives the test run holding its port. */

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const SSHD_PATH = '/usr/sbin/sshd'
export const SSH_KEYGEN_PATH = '/usr/bin/ssh-keygen'

export type SshdKeyType = 'ed25519' | 'ecdsa-256' | 'ecdsa-384' | 'ecdsa-521' | 'rsa' | 'dsa'
export const ALL_SSHD_KEY_TYPES: readonly SshdKeyType[] = ['ed25519', 'ecdsa-256', 'ecdsa-384', 'ecdsa-521', 'rsa', 'dsa']

export interface SshdOptions {
  /** Loopback addresses to listen on (127.0.0.0/8 or ::1). Any number: split over several sshd. */
  readonly addresses: readonly string[]
  /** Host keys to serve; default ed25519, ecdsa-256, rsa. */
  readonly keyTypes?: readonly SshdKeyType[]
  /** Directory of host keys to reuse (made if missing): two servers on one keyDir are clones. */
  readonly keyDir?: string
  /** Port to listen on; default a free one. A stopped server's port on the same addresses with a new
   * keyDir is a rebuilt host: same identity, new keys. */
  readonly port?: number
  /** Size of a generated RSA key; default 2048. Only for keys not already in keyDir. */
  readonly rsaBits?: number
  /** sshd_config lines placed first, so they win over the harness defaults (sshd keeps the first value). */
  readonly extraConfig?: readonly string[]
  /** sshd LogLevel; VERBOSE at least is needed for readiness detection, so lower levels are raised. */
  readonly logLevel?: 'VERBOSE' | 'DEBUG' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3'
  /** How long to wait for every sshd to listen; default 10 s. */
  readonly startTimeoutMs?: number
}

export interface SshdServer {
  readonly port: number
  readonly addresses: readonly string[]
  readonly keyDir: string
  /** Contents of each `.pub` file (one line, `TYPE BASE64 comment`), by key type. */
  readonly publicKeys: Readonly<Partial<Record<SshdKeyType, string>>>
  /** Path of each `.pub` file, by key type (for `ssh-keygen -l -f`). */
  readonly publicKeyFiles: Readonly<Partial<Record<SshdKeyType, string>>>
  /** The sshd log files, one per process. */
  readonly logFiles: readonly string[]
  /** Stop every sshd of this server and remove its working directory (never a caller's keyDir). */
  stop(): Promise<void>
}

/** OpenSSH sshd.c: MAX_LISTEN_SOCKS is 16; more ListenAddress lines make sshd refuse to start. */
const ADDRESSES_PER_SSHD = 16

/** ssh-keygen arguments that make a key of each type (the test CAs of ssh-ca.ts use them too). */
export const KEYGEN_ARGS: Record<SshdKeyType, string[]> = {
  ed25519: ['-t', 'ed25519'],
  'ecdsa-256': ['-t', 'ecdsa', '-b', '256'],
  'ecdsa-384': ['-t', 'ecdsa', '-b', '384'],
  'ecdsa-521': ['-t', 'ecdsa', '-b', '521'],
  // 2048 rather than ssh-keygen's default 3072: generation time matters in tests, strength does not.
  rsa: ['-t', 'rsa', '-b', '2048'],
  dsa: ['-t', 'dsa'],
}

/** True when sshd and ssh-keygen are installed where the harness expects them. */
export function sshdAvailable(): boolean {
  return existsSync(SSHD_PATH) && existsSync(SSH_KEYGEN_PATH)
}

/**
 * For `describe(name, { skip: skipUnlessSshd() }, ...)`: false when sshd is available; otherwise
 * says so loudly on stderr and returns the skip reason, except under CI (process.env.CI set) where
 * a missing sshd must fail the run rather than pass it silently, so it throws.
 */
export function skipUnlessSshd(): string | false {
  if (sshdAvailable()) return false
  const reason = `real-sshd tests need ${SSHD_PATH} and ${SSH_KEYGEN_PATH} (apt-get install openssh-server)`
  if (process.env.CI) throw new Error(`${reason}; CI is set, so this is a failure, not a skip`)
  process.stderr.write(`\n*** SKIPPING real-sshd tests: ${reason}\n\n`)
  return reason
}

function assertLoopback(address: string): void {
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
  if (v4 && v4.slice(1).every((octet) => Number(octet) <= 255)) return
  if (address === '::1') return
  throw new Error(`sshd harness: '${address}' is not a loopback address (127.0.0.0/8 or ::1)`)
}

/** Where the harness keeps (and looks for) the private host key of a type in keyDir; its `.pub` is beside it. */
export function keyFile(keyDir: string, type: SshdKeyType): string {
  return path.join(keyDir, `ssh_host_${type.replace('-', '')}_key`)
}

/** Generates the keys missing from keyDir (ssh-keygen -N ''), so a reused keyDir keeps its keys. */
export function ensureHostKeys(keyDir: string, keyTypes: readonly SshdKeyType[], options: { rsaBits?: number } = {}): void {
  mkdirSync(keyDir, { recursive: true, mode: 0o700 })
  for (const type of keyTypes) {
    const file = keyFile(keyDir, type)
    if (existsSync(file) && existsSync(`${file}.pub`)) continue
    rmSync(file, { force: true })
    rmSync(`${file}.pub`, { force: true })
    const args = type === 'rsa' && options.rsaBits ? ['-t', 'rsa', '-b', String(options.rsaBits)] : KEYGEN_ARGS[type]
    const result = spawnSync(SSH_KEYGEN_PATH, [...args, '-q', '-N', '', '-C', `hostkeys-test-${type}`, '-f', file], {
      encoding: 'utf8',
    })
    if (result.status !== 0) throw new Error(`ssh-keygen ${type} failed: ${result.stderr || result.error?.message}`)
  }
}

/** Key files being generated by ensureHostKeysAsync, so two servers starting on one keyDir share them. */
const generating = new Map<string, Promise<void>>()

/**
 * ensureHostKeys without blocking this process: the key types generated in parallel, each by its own
 * ssh-keygen. A test that runs the CLI in process keeps scanning while another server's RSA key is made
 * (spawnSync would hold every timer and socket of the scan for as long as ssh-keygen takes).
 */
export async function ensureHostKeysAsync(keyDir: string, keyTypes: readonly SshdKeyType[], options: { rsaBits?: number } = {}): Promise<void> {
  mkdirSync(keyDir, { recursive: true, mode: 0o700 })
  await Promise.all(
    keyTypes.map((type) => {
      const file = keyFile(keyDir, type)
      const pending = generating.get(file)
      if (pending) return pending
      if (existsSync(file) && existsSync(`${file}.pub`)) return undefined
      rmSync(file, { force: true })
      rmSync(`${file}.pub`, { force: true })
      const args = type === 'rsa' && options.rsaBits ? ['-t', 'rsa', '-b', String(options.rsaBits)] : KEYGEN_ARGS[type]
      const made = new Promise<void>((resolve, reject) => {
        execFile(SSH_KEYGEN_PATH, [...args, '-q', '-N', '', '-C', `hostkeys-test-${type}`, '-f', file], (error, _stdout, stderr) => {
          if (error) reject(new Error(`ssh-keygen ${type} failed: ${stderr || error.message}`))
          else resolve()
        })
      }).finally(() => generating.delete(file))
      generating.set(file, made)
      return made
    }),
  )
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: address, port: 0, exclusive: true }, () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

const live = new Set<ChildProcess>()
/** Working directories of servers not yet stopped, removed at exit if a test forgot stop(). */
const workDirs = new Set<string>()
let exitHooksInstalled = false

/** Tell every guard still running to stop its sshd (its stdin closes with us anyway; belt and braces). */
function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGTERM') // the guard's trap kills sshd before the guard exits
    } catch {
      /* already gone */
    }
  }
  live.clear()
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true })
  workDirs.clear()
}

function installExitHooks(): void {
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  process.once('exit', killAllSync)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAllSync()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal) // die of the signal as we would have without this hook
    }
    process.on(signal, onSignal)
  }
}

/* The guard: sshd in the background with /dev/null as stdin; the shell blocks reading its own
 * stdin (our pipe) and kills sshd when that read returns, i.e. when our end is closed or we die. */
const GUARD_SCRIPT = [
  `${SSHD_PATH} -D -f "$1" -E "$2" </dev/null & pid=$!`,
  `trap 'kill $pid 2>/dev/null; exit 0' TERM INT HUP`,
  'read _ignored',
  'kill $pid 2>/dev/null',
  'wait $pid',
].join('\n')

interface SshdProcess {
  readonly child: ChildProcess
  readonly logFile: string
  readonly addresses: readonly string[]
  exited: boolean
}

function spawnGuarded(configFile: string, logFile: string, addresses: readonly string[]): SshdProcess {
  const child = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'sshd-guard', configFile, logFile], {
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  const proc: SshdProcess = { child, logFile, addresses, exited: false }
  live.add(child)
  child.on('exit', () => {
    proc.exited = true
    live.delete(child)
  })
  child.on('error', () => {
    proc.exited = true
    live.delete(child)
  })
  child.stdin!.on('error', () => {}) // EPIPE if the guard is already gone
  // Let a test process exit even if it forgot stop(): the exit hook and the pipe close clean up.
  child.unref()
  ;(child.stdin as unknown as net.Socket).unref?.()
  return proc
}

function stopProcess(proc: SshdProcess): Promise<void> {
  if (proc.exited) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      proc.child.kill('SIGKILL')
      resolve()
    }, 3000)
    proc.child.once('exit', done)
    proc.child.stdin!.end()
  })
}

type Readiness = 'ready' | 'address-in-use' | { failed: string }

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** Watches sshd's log: VERBOSE prints "Server listening on ADDR port N." for each socket it binds. */
async function waitListening(proc: SshdProcess, port: number, deadline: number): Promise<Readiness> {
  for (;;) {
    const log = readLog(proc.logFile)
    if (/Bind to port \d+ on \S+ failed: Address already in use/.test(log)) return 'address-in-use'
    const listening = proc.addresses.every((a) => log.includes(`Server listening on ${a} port ${port}.`))
    if (listening) return 'ready'
    if (proc.exited) return { failed: `sshd exited before listening; log:\n${log.slice(-2000)}` }
    if (Date.now() > deadline) return { failed: `sshd did not listen within the start timeout; log:\n${log.slice(-2000)}` }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Reads the first bytes at address:port; resolves true once they start with "SSH-". */
function bannerArrives(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port })
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('error', () => finish(false))
    socket.once('data', (data) => finish(data.subarray(0, 4).toString('latin1') === 'SSH-'))
  })
}

function configText(options: {
  port: number
  addresses: readonly string[]
  keyFiles: readonly string[]
  pidFile: string
  extraConfig: readonly string[]
  logLevel: string
  hasDsa: boolean
}): string {
  const lines = [
    // Caller's lines first: sshd keeps the first value it reads for most keywords.
    ...options.extraConfig,
    `Port ${options.port}`,
    ...options.addresses.map((a) => `ListenAddress ${a.includes(':') ? `[${a}]` : a}`),
    ...options.keyFiles.map((f) => `HostKey ${f}`),
    // OpenSSH 7.0+ does not offer ssh-dss unless told to, even with a DSA HostKey loaded.
    ...(options.hasDsa ? ['HostKeyAlgorithms +ssh-dss'] : []),
    `PidFile ${options.pidFile}`,
    'UsePAM no',
    'MaxStartups 1000:30:1000',
    'MaxSessions 10',
    'LoginGraceTime 30',
    `LogLevel ${options.logLevel}`,
    // Nobody ever logs in: a key scan aborts before authentication.
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication no',
    'AuthorizedKeysFile none',
    'PermitRootLogin no',
    'AllowUsers nobody-at-all',
    'UseDNS no',
    'StrictModes no',
  ]
  return `${lines.join('\n')}\n`
}

/** Starts real sshd processes serving the same host keys on every address, on one free port. */
export async function startSshd(options: SshdOptions): Promise<SshdServer> {
  if (options.addresses.length === 0) throw new Error('sshd harness: no addresses')
  options.addresses.forEach(assertLoopback)
  if (!sshdAvailable()) throw new Error(`sshd harness: ${SSHD_PATH} or ${SSH_KEYGEN_PATH} is missing`)
  try {
    mkdirSync('/run/sshd', { recursive: true }) // privilege-separation directory sshd insists on
  } catch {
    /* not root: sshd will say what it needs in its log */
  }
  installExitHooks()

  const keyTypes = options.keyTypes ?? ['ed25519', 'ecdsa-256', 'rsa']
  const workDir = mkdtempSync(path.join(tmpdir(), 'hostkeys-sshd-'))
  workDirs.add(workDir)
  const keyDir = options.keyDir ?? path.join(workDir, 'keys')
  await ensureHostKeysAsync(keyDir, keyTypes, { rsaBits: options.rsaBits })
  const keyFiles = keyTypes.map((t) => keyFile(keyDir, t))
  const publicKeys: Partial<Record<SshdKeyType, string>> = {}
  const publicKeyFiles: Partial<Record<SshdKeyType, string>> = {}
  for (const type of keyTypes) {
    publicKeyFiles[type] = `${keyFile(keyDir, type)}.pub`
    publicKeys[type] = readFileSync(`${keyFile(keyDir, type)}.pub`, 'utf8').trim()
  }

  const groups: string[][] = []
  for (let i = 0; i < options.addresses.length; i += ADDRESSES_PER_SSHD) {
    groups.push(options.addresses.slice(i, i + ADDRESSES_PER_SSHD))
  }
  const logLevel = options.logLevel ?? 'VERBOSE'
  const startTimeoutMs = options.startTimeoutMs ?? 10_000

  let lastFailure = ''
  for (let attempt = 1; attempt <= 8; attempt++) {
    const port = options.port ?? (await freePort(options.addresses[0]!))
    const procs: SshdProcess[] = groups.map((addresses, index) => {
      const base = path.join(workDir, `sshd-${attempt}-${index}`)
      writeFileSync(
        `${base}.conf`,
        configText({
          port,
          addresses,
          keyFiles,
          pidFile: `${base}.pid`,
          extraConfig: options.extraConfig ?? [],
          logLevel,
          hasDsa: keyTypes.includes('dsa'),
        }),
      )
      return spawnGuarded(`${base}.conf`, `${base}.log`, addresses)
    })
    const deadline = Date.now() + startTimeoutMs
    const readiness = await Promise.all(procs.map((p) => waitListening(p, port, deadline)))
    const failed = readiness.find((r): r is { failed: string } => typeof r === 'object')
    const inUse = readiness.includes('address-in-use')
    if (!failed && !inUse && (await bannerArrives(options.addresses[0]!, port, 5000))) {
      let stopped = false
      return {
        port,
        addresses: [...options.addresses],
        keyDir,
        publicKeys,
        publicKeyFiles,
        logFiles: procs.map((p) => p.logFile),
        async stop() {
          if (stopped) return
          stopped = true
          await Promise.all(procs.map(stopProcess))
          rmSync(workDir, { recursive: true, force: true })
          workDirs.delete(workDir)
        },
      }
    }
    await Promise.all(procs.map(stopProcess))
    if (failed) {
      rmSync(workDir, { recursive: true, force: true })
      throw new Error(`sshd harness: ${failed.failed}`)
    }
    lastFailure = inUse ? `port ${port} in use on some address` : `no SSH banner on ${options.addresses[0]} port ${port}`
    // EADDRINUSE: another process took the port between our probe bind and sshd's; pick another,
    // or, for a port the caller chose, give its previous holder a moment to let go.
    if (options.port !== undefined) await new Promise((r) => setTimeout(r, 100 * attempt))
  }
  rmSync(workDir, { recursive: true, force: true })
  throw new Error(`sshd harness: could not start after 8 attempts (${lastFailure})`)
}

/** `127.1.<third>.1` … `127.1.<third>.<count>`, a block of loopback addresses for a fleet. */
export function loopbackRange(prefix: string, count: number, first = 1): string[] {
  // prefix like '127.1.1': count ≤ 254 per /24; beyond, spill into following /24s.
  const [a, b, c] = prefix.split('.').map(Number) as [number, number, number]
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const n = first + i
    const third = c + Math.floor((n - 1) / 254)
    const fourth = ((n - 1) % 254) + 1
    out.push(`${a}.${b}.${third}.${fourth}`)
  }
  out.forEach(assertLoopback)
  return out
}
