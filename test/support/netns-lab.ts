/* A private network of network namespaces for scans through jump hosts: real sshd processes in
 * namespaces the test creates, joined by veth pairs, so some servers can be reached only through a
 * jump host. Nothing here touches the root namespace's addresses or routes: the scanner itself runs
 * in a namespace of its own (`ip netns exec`), which has no default route, so no packet it sends can
 * leave the machine. Addresses: 10.83.x.y on the veths and 127.83.x.y on each namespace's own
 * loopback (a loopback address of one namespace is unreachable from every other).
 *
 * Every sshd runs under the same guard as test/support/sshd.ts (killed when our end of its stdin
 * closes, even if this process dies); namespaces are deleted by destroy(), which tests call in after(). */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ensureHostKeys, keyFile, SSHD_PATH, type SshdKeyType } from './sshd.js'

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr || result.error?.message}`)
}

/** False when this process may create network namespaces; else why not (for a skip message). */
export function netnsUnavailable(): string | false {
  const name = `hk83-check-${process.pid}`
  const result = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
  if (result.status !== 0) return `ip netns is not permitted here (${(result.stderr || result.error?.message || '').trim()}); run as root`
  spawnSync('ip', ['netns', 'delete', name])
  return false
}

export interface LabSshd {
  readonly namespace: string
  readonly address: string
  readonly port: number
  readonly keyDir: string
  readonly logFile: string
  /** `.pub` file of each key type. */
  readonly publicKeyFiles: Readonly<Partial<Record<SshdKeyType, string>>>
  stop(): Promise<void>
}

export interface SshdInNamespace {
  readonly namespace: string
  readonly addresses: readonly string[]
  readonly port?: number
  readonly keyTypes?: readonly SshdKeyType[]
  readonly keyDir?: string
  /** Lines placed first (sshd keeps the first value). */
  readonly config?: readonly string[]
}

const GUARD_SCRIPT = [
  `ip netns exec "$3" ${SSHD_PATH} -D -f "$1" -E "$2" </dev/null & pid=$!`,
  `trap 'kill $pid 2>/dev/null; exit 0' TERM INT HUP`,
  'read _ignored',
  'kill $pid 2>/dev/null',
  'wait $pid',
].join('\n')

export class NetnsLab {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-netns-'))
  private readonly namespaces: string[] = []
  private readonly servers: LabSshd[] = []
  private readonly prefix = `hk83-${process.pid}`
  /** A test process that ends without after() (an uncaught error, process.exit) still removes its namespaces. */
  private readonly onExit = (): void => {
    for (const name of this.namespaces) spawnSync('ip', ['netns', 'delete', name])
  }

  constructor() {
    process.once('exit', this.onExit)
  }

  /** Makes a namespace with its loopback up; its name is unique to this process. */
  namespace(suffix: string): string {
    const name = `${this.prefix}-${suffix}`
    spawnSync('ip', ['netns', 'delete', name]) // a leftover of an earlier run of this pid
    ip(['netns', 'add', name])
    this.namespaces.push(name)
    ip(['-n', name, 'link', 'set', 'lo', 'up'])
    return name
  }

  /** Joins two namespaces with a veth pair: `a` gets addressA (CIDR), `b` addressB. */
  link(a: string, addressA: string, b: string, addressB: string, names: [string, string]): void {
    ip(['-n', a, 'link', 'add', names[0], 'type', 'veth', 'peer', 'name', names[1], 'netns', b])
    ip(['-n', a, 'addr', 'add', addressA, 'dev', names[0]])
    ip(['-n', b, 'addr', 'add', addressB, 'dev', names[1]])
    ip(['-n', a, 'link', 'set', names[0], 'up'])
    ip(['-n', b, 'link', 'set', names[1], 'up'])
  }

  /** Starts sshd in a namespace and waits until it listens on every address. */
  async sshd(options: SshdInNamespace): Promise<LabSshd> {
    const keyTypes = options.keyTypes ?? ['ed25519', 'ecdsa-256']
    const work = mkdtempSync(path.join(this.dir, 'sshd-'))
    const keyDir = options.keyDir ?? path.join(work, 'keys')
    ensureHostKeys(keyDir, keyTypes)
    const port = options.port ?? 22
    const configFile = path.join(work, 'sshd.conf')
    const logFile = path.join(work, 'sshd.log')
    writeFileSync(
      configFile,
      [
        ...(options.config ?? []),
        `Port ${port}`,
        ...options.addresses.map((a) => `ListenAddress ${a}`),
        ...keyTypes.map((t) => `HostKey ${keyFile(keyDir, t)}`),
        `PidFile ${path.join(work, 'sshd.pid')}`,
        'UsePAM no',
        'LogLevel VERBOSE',
        'MaxStartups 100:30:100',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        // Targets: nobody logs in (a key scan ends before authentication). A bastion's config comes first.
        'PubkeyAuthentication no',
        'AuthorizedKeysFile none',
        'PermitRootLogin no',
        'AllowUsers nobody-at-all',
        'AllowTcpForwarding no',
        'UseDNS no',
        'StrictModes no',
        '',
      ].join('\n'),
    )
    const child: ChildProcess = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'sshd-guard', configFile, logFile, options.namespace], { stdio: ['pipe', 'ignore', 'ignore'] })
    child.stdin!.on('error', () => {})
    child.unref()
    ;(child.stdin as unknown as net.Socket).unref?.()
    let exited = false
    child.on('exit', () => (exited = true))
    const deadline = Date.now() + 15_000
    for (;;) {
      let log = ''
      try {
        log = readFileSync(logFile, 'utf8')
      } catch {
        /* not yet written */
      }
      if (options.addresses.every((a) => log.includes(`Server listening on ${a} port ${port}.`))) break
      if (exited || Date.now() > deadline) {
        child.stdin!.end()
        throw new Error(`sshd in ${options.namespace} did not start:\n${log.slice(-2000)}`)
      }
      await new Promise((r) => setTimeout(r, 25))
    }
    const publicKeyFiles: Partial<Record<SshdKeyType, string>> = {}
    for (const type of keyTypes) publicKeyFiles[type] = `${keyFile(keyDir, type)}.pub`
    const server: LabSshd = {
      namespace: options.namespace,
      address: options.addresses[0]!,
      port,
      keyDir,
      logFile,
      publicKeyFiles,
      stop: () =>
        new Promise<void>((resolve) => {
          if (exited) return resolve()
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            resolve()
          }, 3000)
          child.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          child.stdin!.end()
        }),
    }
    this.servers.push(server)
    return server
  }

  /** Stops every sshd, deletes every namespace (and so its veths) and the working directory. */
  async destroy(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()))
    this.onExit()
    this.namespaces.length = 0
    process.removeListener('exit', this.onExit)
    rmSync(this.dir, { recursive: true, force: true })
  }
}
