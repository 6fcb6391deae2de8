import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { Finding } from '../../src/domain/finding.js'
import type { Observation } from '../../src/domain/observation.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { hostIdentity as knownHostsName } from '../../src/domain/target.js'
import { hashHostName as hashKnownHostsName } from '../../src/domain/fingerprint/known-hosts-hash.js'
import { renderKnownHostsLines } from '../../src/report/known-hosts.js'
import { renderMetrics } from '../../src/report/metrics.js'
import { ScanJsonWriter } from '../../src/report/scan-json.js'
import { renderTextHost } from '../../src/report/scan-text.js'

const pub = readFileSync(new URL('../fixtures/keys/ed25519.pub', import.meta.url), 'utf8')
const key = describeKey(Buffer.from(pub.split(' ')[1]!, 'base64'))

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    target: { host: 'web1.example.com', address: '192.0.2.10', port: 22, aliases: [], source: 'argv' },
    address: '192.0.2.10',
    status: 'ok',
    error: null,
    banner: 'SSH-2.0-OpenSSH_9.2p1',
    offered: {
      kex: ['curve25519-sha256'],
      serverHostKey: ['ssh-ed25519'],
      ciphers: { clientToServer: ['aes128-ctr'], serverToClient: ['aes128-ctr'] },
      macs: { clientToServer: ['hmac-sha2-256'], serverToClient: ['hmac-sha2-256'] },
      compression: { clientToServer: ['none'], serverToClient: ['none'] },
    },
    keys: [key],
    failedFamilies: [],
    connections: 1,
    startedAt: new Date(0),
    durationMs: 12.4,
    ...overrides,
  }
}

describe('known_hosts lines', () => {
  it('decorates non-default ports as OpenSSH does', () => {
    assert.equal(knownHostsName('web1', 22), 'web1')
    assert.equal(knownHostsName('web1', 2222), '[web1]:2222')
    assert.equal(knownHostsName('::1', 2222), '[::1]:2222')
  })

  it('writes hashed names that ssh-keygen -F finds, one line per name', () => {
    const lines = renderKnownHostsLines({ names: ['web1.example.com', '192.0.2.10'], port: 2222, key }, { hash: true })
    assert.equal(lines.length, 2)
    for (const line of lines) assert.match(line, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 AAAA/)
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-kh-'))
    const file = join(dir, 'known_hosts')
    writeFileSync(file, `${lines.join('\n')}\n`)
    for (const name of ['[web1.example.com]:2222', '[192.0.2.10]:2222']) {
      const found = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' })
      assert.match(found, /ssh-ed25519 AAAA/, `ssh-keygen -F ${name} finds the hashed line`)
    }
  })

  it('hashes a name with HMAC-SHA1 over the salt (value from openssl dgst -mac HMAC)', () => {
    const salt = Buffer.alloc(20, 7)
    assert.equal(hashKnownHostsName('web1', salt), '|1|BwcHBwcHBwcHBwcHBwcHBwcHBwc=|4uW5fXcLbk6yqCXJs4UXyxL36kY=')
  })

  it('lists every name on one line when not hashing', () => {
    const [line] = renderKnownHostsLines({ names: ['web1', '192.0.2.10', 'web1'], port: 22, key }, { hash: false })
    assert.equal(line, `web1,192.0.2.10 ${pub.split(' ').slice(0, 2).join(' ')}`)
  })
})

describe('scan JSON', () => {
  it('is one valid document with the documented fields', () => {
    const writer = new ScanJsonWriter()
    const finding: Finding = {
      kind: 'weak_key',
      severity: 'warning',
      host: 'web1.example.com',
      hosts: ['web1.example.com'],
      keyType: 'ssh-dss',
      fingerprint: key.sha256,
      previous: null,
      message: 'web1.example.com serves a DSA key.',
    }
    const text =
      writer.open() +
      writer.host(observation()) +
      writer.host(observation({ status: 'timeout', error: 'no answer within 5 s', keys: [], banner: null, offered: null })) +
      writer.close([finding])
    const document = JSON.parse(text)
    assert.equal(document.hosts.length, 2)
    assert.deepEqual(Object.keys(document.hosts[0]).slice(0, 7), ['host', 'address', 'port', 'status', 'error', 'banner', 'keys'])
    assert.deepEqual(document.hosts[0].keys[0], {
      type: 'ssh-ed25519',
      bits: 256,
      sha256: key.sha256,
      md5: key.md5,
      publicKey: `ssh-ed25519 ${key.blob.toString('base64')}`,
      certificate: null,
    })
    assert.equal(document.hosts[1].status, 'timeout')
    // The catalogue's classification travels with each finding (docs/findings.md).
    assert.deepEqual(document.findings[0], { ...finding, lifecycle: 'condition', closedBy: 'waiver' })
  })

  it('is valid with no hosts and no findings', () => {
    const writer = new ScanJsonWriter()
    assert.deepEqual(JSON.parse(writer.open() + writer.close([])), { hosts: [], findings: [] })
  })
})

describe('text rows', () => {
  it('shows each key with its fingerprint, and a failed host with its reason', () => {
    assert.match(renderTextHost(observation())[0]!, /^web1\.example\.com +192\.0\.2\.10:22 +ssh-ed25519 +256 +SHA256:/)
    const failed = renderTextHost(observation({ status: 'refused', error: 'connection refused', keys: [], address: '::1' }))
    assert.match(failed[0]!, /\[::1\]:22 .* refused: connection refused$/)
  })
})

describe('Prometheus metrics', () => {
  it('writes every kind and severity, and the last success time', () => {
    const text = renderMetrics({
      targets: 3,
      reached: 2,
      failed: 1,
      keys: 6,
      durationMs: 1500,
      finishedAt: new Date(1_700_000_000_000),
      findings: [],
    })
    assert.match(text, /^hostkeys_hosts_scanned 3$/m)
    assert.match(text, /^hostkeys_findings\{kind="key_changed"\} 0$/m)
    assert.match(text, /^hostkeys_findings_by_severity\{severity="critical"\} 0$/m)
    assert.match(text, /^hostkeys_scan_duration_seconds 1\.5$/m)
    assert.match(text, /^hostkeys_last_success_timestamp_seconds 1700000000$/m)
    // Every sample line is NAME{labels} VALUE, and every metric has HELP and TYPE.
    for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="\w+"\})? [\d.]+)$/)
  })
})
