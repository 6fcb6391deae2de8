import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { runCli, type CliResult } from '../support/cli.js'
import { NetnsLab, netnsUnavailable, type LabSshd } from '../support/netns-lab.js'
import { skipUnlessSshd } from '../support/sshd.js'

/* `hostkeys scan` through jump hosts, end to end, with real sshd everywhere. The network, all of it in
 * namespaces this test creates (none of it in the root namespace, so nothing can leave the machine):
 *
 *   scanner ns ── 10.83.1.1 ─ veth ─ 10.83.1.2 ── bastion ns ── 10.83.2.1 ─ veth ─ 10.83.2.2 ── inner ns
 *                                    bastion1 sshd :22                           bastion2 sshd :22
 *                                    t1 127.83.9.1, t2 127.83.9.2 (its own lo)    t3 127.83.10.1 (its own lo)
 *
 * The scanner (the real CLI, run with `ip netns exec`) reaches bastion1 only; t1 and t2 are on the
 * bastion namespace's loopback, so only bastion1 reaches them; t3 only bastion2, which only bastion1
 * reaches. Logins use a key ssh-keygen made, as root with a throwaway AuthorizedKeysFile. */

const netnsSkip = netnsUnavailable()
if (netnsSkip) {
  if (process.env['CI']) throw new Error(`${netnsSkip}; CI is set, so this is a failure, not a skip`)
  process.stderr.write(`\n*** SKIPPING bastion tests: ${netnsSkip}\n\n`)
}

function fingerprint(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!
}

interface HostJson {
  host: string
  address: string | null
  status: string
  error: string | null
  via: string | null
  keys: { type: string; sha256: string }[]
}
interface ScanJson {
  hosts: HostJson[]
  findings: { kind: string; severity: string; host: string; message: string }[]
}

function parse(result: CliResult): ScanJson {
  try {
    return JSON.parse(result.stdout) as ScanJson
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
}

function byHost(document: ScanJson): Map<string, HostJson> {
  return new Map(document.hosts.map((h) => [h.host, h]))
}

function connectionsLogged(server: LabSshd): number {
  return (readFileSync(server.logFile, 'utf8').match(/Connection from /g) ?? []).length
}

describe('scan through jump hosts (real sshd in network namespaces)', { skip: skipUnlessSshd() || netnsSkip }, () => {
  const lab = new NetnsLab()
  let scannerNs: string
  let bastionNs: string
  let bastion1: LabSshd
  let bastion2: LabSshd
  let t1: LabSshd
  let t2: LabSshd
  let t3: LabSshd
  let fleet: LabSshd
  /** Sixteen addresses of one sshd behind bastion1, for many probes through one jump host. */
  const fleetAddresses = Array.from({ length: 16 }, (_, i) => `127.83.9.${10 + i}`)
  const home = path.join(lab.dir, 'home')
  const userKey = path.join(home, '.ssh', 'id_ed25519')
  const authorizedKeys = path.join(lab.dir, 'authorized_keys')
  const bastionConfig = (): string[] => [
    'PubkeyAuthentication yes',
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'AllowUsers root',
    'AllowTcpForwarding yes',
  ]

  /** The CLI inside the scanner namespace, with a HOME of our own and no agent unless given. */
  const scan = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    runCli(['scan', '--no-dns', '--format', 'json', '-T', '10', ...args], {
      wrapper: ['ip', 'netns', 'exec', scannerNs],
      env: { HOME: home, SSH_AUTH_SOCK: '', USER: 'root', ...env },
      timeoutMs: 120_000,
    })

  before(async () => {
    scannerNs = lab.namespace('scan')
    bastionNs = lab.namespace('bast')
    const innerNs = lab.namespace('inner')
    lab.link(scannerNs, '10.83.1.1/24', bastionNs, '10.83.1.2/24', ['tobastion', 'toscanner'])
    lab.link(bastionNs, '10.83.2.1/24', innerNs, '10.83.2.2/24', ['toinner', 'tobastion'])
    mkdirSync(path.dirname(userKey), { recursive: true })
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'hostkeys-bastion-test', '-f', userKey])
    writeFileSync(authorizedKeys, readFileSync(`${userKey}.pub`))
    // A bastion forwards to the hosts listed, and refuses 127.83.9.4 (PermitOpen), as a site's policy would.
    const permitOpen = `PermitOpen 127.83.9.1:22 127.83.9.2:22 127.83.9.3:22 10.83.2.2:22 ${fleetAddresses.map((a) => `${a}:22`).join(' ')}`
    ;[bastion1, t1, t2, bastion2, t3, fleet] = await Promise.all([
      lab.sshd({ namespace: bastionNs, addresses: ['10.83.1.2'], config: [...bastionConfig(), permitOpen] }),
      lab.sshd({ namespace: bastionNs, addresses: ['127.83.9.1'], keyTypes: ['ed25519', 'rsa'] }),
      lab.sshd({ namespace: bastionNs, addresses: ['127.83.9.2'] }),
      lab.sshd({ namespace: innerNs, addresses: ['10.83.2.2'], config: bastionConfig() }),
      lab.sshd({ namespace: innerNs, addresses: ['127.83.10.1'], keyTypes: ['ed25519'] }),
      lab.sshd({ namespace: bastionNs, addresses: fleetAddresses, keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] }),
    ])
  })
  after(async () => {
    await lab.destroy()
  })

  it('without the jump the targets behind the bastion are not reached', async () => {
    const result = await scan(['--no-store', '127.83.9.1', '127.83.9.2', '10.83.2.2'])
    const hosts = byHost(parse(result))
    assert.equal(hosts.get('127.83.9.1')!.status, 'refused', 'the scanner namespace has its own loopback')
    assert.equal(hosts.get('127.83.9.2')!.status, 'refused')
    assert.equal(hosts.get('10.83.2.2')!.status, 'unreachable', 'no route to the inner network from the scanner')
  })

  const db = path.join(lab.dir, 'history')

  it('with --jump every target behind the bastion is scanned, with the keys ssh-keygen made', async () => {
    const result = await scan(['--db', db, '--fail-on', 'never', '--jump', 'root@10.83.1.2', '127.83.9.1', '127.83.9.2', '127.83.9.3', '127.83.9.4'])
    assert.equal(result.code, 0, result.stderr)
    const hosts = byHost(parse(result))
    const one = hosts.get('127.83.9.1')!
    assert.equal(one.status, 'ok', one.error ?? '')
    assert.equal(one.via, 'root@10.83.1.2:22')
    assert.deepEqual(new Map(one.keys.map((k) => [k.type, k.sha256])), new Map([
      ['ssh-ed25519', fingerprint(t1.publicKeyFiles.ed25519!)],
      ['ssh-rsa', fingerprint(t1.publicKeyFiles.rsa!)],
    ]))
    const two = hosts.get('127.83.9.2')!
    assert.equal(two.status, 'ok', two.error ?? '')
    assert.deepEqual(two.keys.map((k) => k.sha256).sort(), [fingerprint(t2.publicKeyFiles.ed25519!), fingerprint(t2.publicKeyFiles['ecdsa-256']!)].sort())
    // The jump host is a host of the scan, probed directly, and trusted on first use like any other.
    const jump = hosts.get('10.83.1.2')!
    assert.equal(jump.status, 'ok')
    assert.equal(jump.via, null)
    assert.deepEqual(jump.keys.map((k) => k.sha256).sort(), [fingerprint(bastion1.publicKeyFiles.ed25519!), fingerprint(bastion1.publicKeyFiles['ecdsa-256']!)].sort())
    // A refused channel is that target's status, not the scan's.
    assert.equal(hosts.get('127.83.9.3')!.status, 'refused', 'nothing listens there: the bastion says connect failed')
    const prohibited = hosts.get('127.83.9.4')!
    assert.equal(prohibited.status, 'jump-failed')
    assert.match(prohibited.error!, /administratively prohibited/)
    const findings = parse(result).findings
    assert.ok(findings.some((f) => f.kind === 'new_host' && f.host === '10.83.1.2'), 'the jump host entered the history')
  })

  it('records the jump hosts each target was probed through with the scan', async () => {
    const pglite = await PGlite.create({ dataDir: db })
    try {
      const { rows } = await pglite.query<{ request: { jump: string; via: Record<string, string[]> } }>('SELECT request FROM scans ORDER BY id')
      assert.equal(rows.length, 1)
      assert.equal(rows[0]!.request.jump, 'root@10.83.1.2')
      assert.deepEqual(rows[0]!.request.via, { 'root@10.83.1.2:22': ['127.83.9.1', '127.83.9.2', '127.83.9.3', '127.83.9.4'] })
    } finally {
      await pglite.close()
    }
  })

  it('multiplexes many probes over at most two logins to the jump host', async () => {
    const logins = (): number => (readFileSync(bastion1.logFile, 'utf8').match(/Accepted publickey for root/g) ?? []).length
    const before = logins()
    const result = await scan(['--no-store', '-c', '64', '--jump', 'root@10.83.1.2', ...fleetAddresses])
    const hosts = parse(result).hosts.filter((h) => h.host !== '10.83.1.2')
    assert.equal(hosts.length, fleetAddresses.length)
    const expected = ['ed25519', 'ecdsa-256', 'rsa'].map((t) => fingerprint(fleet.publicKeyFiles[t as 'rsa']!)).sort()
    for (const host of hosts) {
      assert.equal(host.status, 'ok', `${host.host}: ${host.error}`)
      assert.deepEqual(host.keys.map((k) => k.sha256).sort(), expected)
    }
    // 16 hosts x 3 key families = 48 channels, at most 10 at once on each connection.
    const made = logins() - before
    assert.ok(made >= 1 && made <= 2, `${made} logins`)
  })

  it('follows a chain of two jump hosts, the second reached through the first', async () => {
    const result = await scan(['--no-store', '--jump', 'root@10.83.1.2,root@10.83.2.2', '127.83.10.1'])
    const hosts = byHost(parse(result))
    const three = hosts.get('127.83.10.1')!
    assert.equal(three.status, 'ok', three.error ?? '')
    assert.equal(three.via, 'root@10.83.1.2:22,root@10.83.2.2:22')
    assert.deepEqual(three.keys.map((k) => k.sha256), [fingerprint(t3.publicKeyFiles.ed25519!)])
    const second = hosts.get('10.83.2.2')!
    assert.equal(second.status, 'ok')
    assert.equal(second.via, 'root@10.83.1.2:22', 'the second jump host is probed through the first')
    assert.deepEqual(second.keys.map((k) => k.sha256).sort(), [fingerprint(bastion2.publicKeyFiles.ed25519!), fingerprint(bastion2.publicKeyFiles['ecdsa-256']!)].sort())
  })

  it('takes per-target jumps, HostName, User and IdentityFile from a client config', async () => {
    const keyElsewhere = path.join(lab.dir, 'jump-key')
    writeFileSync(keyElsewhere, readFileSync(userKey), { mode: 0o600 })
    const config = path.join(lab.dir, 'ssh_config')
    writeFileSync(
      config,
      [
        'Host inner-web',
        '  HostName 127.83.10.1',
        '  ProxyJump inner-bastion',
        'Host inner-bastion',
        '  HostName 10.83.2.2',
        '  ProxyJump edge',
        'Match user nobody',
        '  ProxyJump nowhere.invalid',
        'Host 127.83.9.* !127.83.9.2',
        '  ProxyJump edge',
        'Host edge',
        '  HostName 10.83.1.2',
        `  IdentityFile ${path.join(lab.dir, '%r-never-there')}`,
        'Host *',
        '  User root',
        `  IdentityFile ${keyElsewhere}`,
        '',
      ].join('\n'),
    )
    // HOME without keys: only the config's IdentityFile can log in.
    const bare = path.join(lab.dir, 'bare-home')
    mkdirSync(bare, { recursive: true })
    const result = await scan(['--no-store', '-F', config, 'inner-web', '127.83.9.1', '127.83.9.2'], { HOME: bare })
    assert.match(result.stderr, new RegExp(`${config}:7: Match blocks are not supported`))
    const hosts = byHost(parse(result))
    const web = hosts.get('inner-web')!
    assert.equal(web.status, 'ok', web.error ?? '')
    assert.equal(web.via, 'root@edge:22,root@inner-bastion:22')
    assert.deepEqual(web.keys.map((k) => k.sha256), [fingerprint(t3.publicKeyFiles.ed25519!)])
    assert.equal(hosts.get('127.83.9.1')!.status, 'ok', hosts.get('127.83.9.1')!.error ?? '')
    assert.equal(hosts.get('127.83.9.2')!.status, 'refused', 'negated in the Host line: scanned directly')
  })

  it('logs in with the agent alone, and says what to do with an encrypted key and no agent', async () => {
    const agentHome = path.join(lab.dir, 'agent-home')
    mkdirSync(path.join(agentHome, '.ssh'), { recursive: true })
    const socket = path.join(lab.dir, 'agent.sock')
    const agent = spawnSync('ssh-agent', ['-a', socket, '-s'], { encoding: 'utf8' })
    assert.equal(agent.status, 0, agent.stderr)
    const agentPid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)![1]!
    try {
      const add = spawnSync('ssh-add', [userKey], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: socket } })
      assert.equal(add.status, 0, add.stderr)
      const result = await scan(['--no-store', '--jump', 'root@10.83.1.2', '127.83.9.1'], { HOME: agentHome, SSH_AUTH_SOCK: socket })
      const one = byHost(parse(result)).get('127.83.9.1')!
      assert.equal(one.status, 'ok', one.error ?? '')
    } finally {
      process.kill(Number(agentPid))
    }
    // The same key, encrypted, in the default place, and no agent: a per-target error that says why.
    const encrypted = path.join(agentHome, '.ssh', 'id_ed25519')
    writeFileSync(encrypted, readFileSync(userKey), { mode: 0o600 })
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'secret words', '-f', encrypted])
    const result = await scan(['--no-store', '--jump', 'root@10.83.1.2', '127.83.9.1'], { HOME: agentHome })
    const one = byHost(parse(result)).get('127.83.9.1')!
    assert.equal(one.status, 'jump-failed')
    assert.match(one.error!, /id_ed25519 is encrypted .*ssh-add/)
  })

  it('a jump host that does not answer fails the targets behind it, each with the reason', async () => {
    const result = await scan(['--no-store', '--jump', 'root@10.83.1.2:2222', '127.83.9.1', '127.83.9.2'])
    const hosts = byHost(parse(result))
    assert.equal(hosts.get('[10.83.1.2]:2222')!.status, 'refused')
    for (const target of ['127.83.9.1', '127.83.9.2']) {
      assert.equal(hosts.get(target)!.status, 'jump-failed')
      assert.equal(hosts.get(target)!.error, 'jump host root@10.83.1.2:2222: refused: connection refused')
    }
  })

  it('goes on to the identity files when SSH_AUTH_SOCK names no agent (a stale socket in cron)', async () => {
    const result = await scan(['--no-store', '--jump', 'root@10.83.1.2', '127.83.9.1'], { SSH_AUTH_SOCK: path.join(lab.dir, 'no-agent-here.sock') })
    const one = byHost(parse(result)).get('127.83.9.1')!
    assert.equal(one.status, 'ok', one.error ?? '')
  })

  it('stops at a rebuilt bastion: key_changed for it, and no probe of the hosts behind it', async () => {
    const before = connectionsLogged(t1) + connectionsLogged(t2)
    await bastion1.stop()
    rmSync(bastion1.keyDir, { recursive: true, force: true })
    bastion1 = await lab.sshd({ namespace: bastionNs, addresses: ['10.83.1.2'], config: bastionConfig() })
    const result = await scan(['--db', db, '--jump', 'root@10.83.1.2', '127.83.9.1', '127.83.9.2'])
    assert.equal(result.code, 1, result.stderr)
    const document = parse(result)
    const hosts = byHost(document)
    for (const target of ['127.83.9.1', '127.83.9.2']) {
      assert.equal(hosts.get(target)!.status, 'jump-failed')
      assert.match(hosts.get(target)!.error!, /host key changed/)
    }
    const changed = document.findings.filter((f) => f.kind === 'key_changed')
    assert.ok(changed.length > 0 && changed.every((f) => f.host === '10.83.1.2'), JSON.stringify(document.findings))
    assert.equal(changed[0]!.severity, 'critical')
    assert.equal(connectionsLogged(t1) + connectionsLogged(t2), before, 'nothing reached the targets behind the bastion')
  })
})
