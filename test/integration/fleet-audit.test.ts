import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { auditFleet } from '../../src/analysis/fleet-audit.js'
import { policyFindings } from '../../src/analysis/policy.js'
import { readPolicyFile } from '../../src/app/read-policy.js'
import type { Observation } from '../../src/domain/observation.js'
import { hostIdentity, type Target } from '../../src/domain/target.js'
import { renderAuditText } from '../../src/report/audit-report.js'
import { scanHost } from '../../src/ssh/scan-host.js'
import { HARDENED_SSHD_CONFIG } from '../support/kexinit-fixtures.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* The fleet audit and the policy over what real sshd send: three servers configured as
 * docs/policy.example says (ssh-audit's Debian 12 hardening, RSA 3072) and one left at the defaults
 * with a 2048-bit RSA key and an ECDSA key. Collected by the scan's own scanHost. 127.81.0.0/16. */

const EXAMPLE = fileURLToPath(new URL('../../docs/policy.example', import.meta.url))
// Generous: two cores shared by several parallel test runs.
const TIMEOUT_MS = 20_000

function target(address: string, port: number): Target {
  return { host: hostIdentity(address, port), address, port, aliases: [], source: 'test' }
}

describe('fleet audit and policy against real sshd', { skip: skipUnlessSshd() }, () => {
  let hardened: SshdServer
  let defaults: SshdServer
  let observations: Observation[]
  before(async () => {
    ;[hardened, defaults] = await Promise.all([
      startSshd({ addresses: ['127.81.0.1', '127.81.0.2', '127.81.0.3'], keyTypes: ['ed25519', 'rsa'], rsaBits: 3072, extraConfig: HARDENED_SSHD_CONFIG }),
      startSshd({ addresses: ['127.81.0.4'], keyTypes: ['ed25519', 'rsa', 'ecdsa-256'] }),
    ])
    const targets = [...hardened.addresses.map((a) => target(a, hardened.port)), target('127.81.0.4', defaults.port)]
    observations = await Promise.all(targets.map((t) => scanHost(t, { families: null, timeoutMs: TIMEOUT_MS })))
    for (const o of observations) assert.equal(o.status, 'ok', `${o.target.host}: ${o.error}`)
  })
  after(async () => {
    await Promise.all([hardened?.stop(), defaults?.stop()])
  })

  const audited = () => observations.map((o) => ({ host: o.target.host, banner: o.banner, offered: o.offered!, keys: o.keys }))

  it('the host configured unlike the others is the deviant, with what its sshd_config adds', () => {
    const audit = auditFleet(audited())
    const deviant = hostIdentity('127.81.0.4', defaults.port)
    const software = observations[0]!.banner!.replace(/^SSH-2\.0-/, '')
    assert.match(software, /^OpenSSH_/)
    assert.deepEqual(audit.groups.map((g) => [g.software, g.hostCount, g.configurations.map((c) => c.hostCount)]), [[software, 4, [3, 1]]])
    assert.deepEqual(audit.configurations[0]!.hosts, hardened.addresses.map((a) => hostIdentity(a, hardened.port)))
    assert.deepEqual(audit.deviants.map((d) => d.host), [deviant])
    const differences = new Map(audit.deviants[0]!.differences.map((d) => [d.list, d]))
    // What HARDENED_SSHD_CONFIG took out of the defaults comes back as added on the default server.
    for (const name of ['ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256']) assert.ok(differences.get('kex')!.added.includes(name), name)
    assert.deepEqual(differences.get('hostkey')!.added, ['ecdsa-sha2-nistp256'])
    assert.ok(differences.get('macs')!.added.includes('hmac-sha1'))
    assert.deepEqual(audit.keys.map((k) => [`${k.type} ${k.bits}`, k.hosts.length]), [['ssh-ed25519 256', 4], ['ssh-rsa 3072', 3], ['ecdsa-sha2-nistp256 256', 1], ['ssh-rsa 2048', 1]])
    const text = renderAuditText(audit)
    assert.match(text, new RegExp(`^  \\[127\\.81\\.0\\.4\\]:${defaults.port}: ${audit.deviants[0]!.configuration}, majority ${audit.configurations[0]!.id} `, 'm'))
  })

  it('docs/policy.example: the hardened servers meet it; the default one breaks it, and the finding says what to change', async () => {
    const policy = await readPolicyFile(EXAMPLE)
    const [a, b, c, d] = observations.map((o) => policyFindings(o.target.host, o.offered!, o.keys, policy))
    assert.deepEqual([a, b, c], [[], [], []])
    assert.equal(d!.length, 1)
    const message = d![0]!.message
    assert.match(message, /it offers ecdh-sha2-nistp256, ecdh-sha2-nistp384, ecdh-sha2-nistp521, diffie-hellman-group14-sha256 \(not allowed\): remove them from KexAlgorithms in sshd_config/)
    assert.match(message, /it offers ecdsa-sha2-nistp256 \(not allowed\): remove it from HostKeyAlgorithms/)
    assert.match(message, /hmac-sha1 \(not allowed\)/)
    assert.match(message, /its ssh-rsa host key has 2048 bits, under the policy's 3072 for rsa/)
    assert.doesNotMatch(message, /kex-strict/, 'the strict-kex marker is never a violation')
  })
})
