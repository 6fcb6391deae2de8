import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { matchesHostPatterns } from '../../src/domain/host-patterns.js'
import { runInProcess } from '../support/cli-in-process.js'
import { ensureHostKeys, skipUnlessSshd, SSH_KEYGEN_PATH, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* The point of trusting a CA: a known_hosts file written by `hostkeys known-hosts` lets real ssh, with
 * StrictHostKeyChecking=yes, accept a host it has never seen because a trusted CA signed its host key
 * (ssh then fails to log in, as nobody may: only host key verification is at stake). Without the
 * @cert-authority line, or with patterns that do not name the host as ssh looks it up, ssh refuses
 * the host. Each pattern list's outcome is also checked against matchesHostPatterns.
 *
 * The CA and the host certificate are made here with ssh-keygen -s; sshd (on 127.70.1.1, this file's
 * /16) serves the certificate through HostCertificate. Everything runs on loopback. */

const ADDRESS = '127.70.1.1'
const SSH_PATH = '/usr/bin/ssh'

function keygen(args: readonly string[]): void {
  const result = spawnSync(SSH_KEYGEN_PATH, args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed: ${result.stderr}`)
}

/** ssh to the server with only `knownHosts` to verify it by; its exit code and stderr. */
function ssh(port: number, knownHosts: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      SSH_PATH,
      [
        '-F', '/dev/null', // no ~/.ssh/config of whoever runs the tests
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'CheckHostIP=no',
        '-o', 'UpdateHostKeys=no',
        '-o', 'BatchMode=yes',
        '-o', 'PreferredAuthentications=none',
        '-o', 'ConnectTimeout=10',
        '-p', String(port),
        `nobody@${ADDRESS}`,
        'true',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

const skip = skipUnlessSshd() || (existsSync(SSH_PATH) ? false : `${SSH_PATH} is needed (apt-get install openssh-client)`)

describe('ssh trusts a host certificate through the @cert-authority line known-hosts writes', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-ca-ssh-'))
  const backend = testBackends().at(-1)! // PostgreSQL when configured (cheap), else an embedded copy
  let server: SshdServer
  let opened: OpenedStore

  before(async () => {
    // The CA, and the host key it signs for the name ssh will be given (the address), valid for an hour.
    keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'test-ca', '-f', join(dir, 'ca')])
    const keyDir = join(dir, 'hostkeys')
    ensureHostKeys(keyDir, ['ed25519'])
    keygen(['-q', '-s', join(dir, 'ca'), '-I', 'web', '-h', '-n', ADDRESS, '-V', '-5m:+1h', join(keyDir, 'ssh_host_ed25519_key.pub')])
    server = await startSshd({
      addresses: [ADDRESS],
      keyTypes: ['ed25519'],
      keyDir,
      extraConfig: [`HostCertificate ${join(keyDir, 'ssh_host_ed25519_key-cert.pub')}`],
    })
    opened = await backend.open()
  })
  after(async () => {
    await server?.stop()
    await opened?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Trusts the CA for `patterns` (replacing what it had) and writes the known_hosts file hostkeys exports
   * (the CLI run in this process on the open store: main(), the same wiring and output). */
  async function exportTrusting(patterns: string | null, options: { hash?: boolean } = {}): Promise<string> {
    if (patterns !== null) {
      const trusted = await runInProcess(['ca', 'trust', join(dir, 'ca.pub'), '--names', patterns], { history: opened.store })
      assert.equal(trusted.code, 0, trusted.stderr)
    }
    const exported = await runInProcess(['known-hosts', ...(options.hash ? ['--hash'] : [])], { history: opened.store })
    assert.equal(exported.code, 0, exported.stderr)
    const file = join(dir, `known_hosts_${Math.random().toString(36).slice(2)}`)
    writeFileSync(file, exported.stdout)
    return file
  }

  it('without a trusted CA, ssh refuses the host: Host key verification failed', async () => {
    const knownHosts = await exportTrusting(null)
    const result = await ssh(server.port, knownHosts)
    assert.equal(result.code, 255)
    assert.match(result.stderr, /Host key verification failed/)
  })

  it('with the CA trusted for [address]:port, ssh verifies the certificate and goes on to authentication', async () => {
    const knownHosts = await exportTrusting(`[${ADDRESS}]:${server.port}`)
    const result = await ssh(server.port, knownHosts)
    assert.doesNotMatch(result.stderr, /Host key verification failed/)
    assert.match(result.stderr, /Permission denied/, result.stderr)
  })

  it('known-hosts --hash keeps the CA line usable', async () => {
    const knownHosts = await exportTrusting('[127.70.*]:*', { hash: true })
    const result = await ssh(server.port, knownHosts)
    assert.doesNotMatch(result.stderr, /Host key verification failed/)
    assert.match(result.stderr, /Permission denied/, result.stderr)
  })

  // Off port 22 ssh looks the host up as [address]:port and, when no line names that, as the bare
  // address (sshconnect.c check_host_key(): "checking without port identifier"); a negation refuses
  // only the form it matches.
  const cases: [patterns: string, named: boolean, why: string][] = [
    ['*', true, 'every host'],
    [ADDRESS, true, 'the bare address, by the second lookup'],
    ['127.70.1.*', true, 'a bare wildcard, by the second lookup'],
    ['[127.70.1.?]:*', true, 'bracketed, any port'],
    [`[${ADDRESS}]:22`, false, 'another port'],
    ['[127.70.1.1]:*,![127.70.1.1]:*', false, 'negated, and the bare address not named'],
    [`*,!${ADDRESS}`, true, 'a bare negation leaves [address]:port to *'],
    [`*,!${ADDRESS},![${ADDRESS}]:*`, false, 'both forms negated'],
    ['[127.70.2.1]:*,127.70.2.1', false, 'another address'],
  ]
  for (const [patterns, named, why] of cases) {
    it(`${patterns} ${named ? 'names' : 'does not name'} the host on its port: ${why}; matchesHostPatterns agrees`, async () => {
      const knownHosts = await exportTrusting(patterns)
      const result = await ssh(server.port, knownHosts)
      const accepted = !/Host key verification failed/.test(result.stderr)
      assert.equal(accepted, named, result.stderr)
      if (accepted) assert.match(result.stderr, /Permission denied/, result.stderr)
      assert.equal(matchesHostPatterns(patterns.split(','), [ADDRESS], server.port), named)
    })
  }
})
