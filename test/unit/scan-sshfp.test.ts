import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Observation } from '../../src/domain/observation.js'
import { renderScanSshfp, sshfpOwnerNames } from '../../src/report/scan-sshfp.js'
import { renderSshfpZone } from '../../src/report/sshfp-zone.js'
import { FIXTURE_KEY_NAMES, fixtureKey, fixtureText } from '../support/sshfp-key-fixtures.js'

/* `scan -D` lines: the fixtures hold `ssh-keygen -r web1.example.com.` output; ssh-keyscan -D and
 * `ssh-keygen -r web1.example.com` print the same lines with the name as given, without the dot. */

const keys = FIXTURE_KEY_NAMES.map(fixtureKey)

function observation(overrides: Partial<Observation> = {}, target: Partial<Observation['target']> = {}): Observation {
  return {
    target: { host: 'web1.example.com', address: '192.0.2.10', port: 22, aliases: [], source: 'argv', ...target },
    address: '192.0.2.10',
    status: 'ok',
    error: null,
    banner: 'SSH-2.0-OpenSSH_9.2p1',
    offered: null,
    keys,
    failedFamilies: [],
    connections: 1,
    startedAt: new Date(0),
    durationMs: 1,
    ...overrides,
  }
}

function golden(name: string): string {
  return FIXTURE_KEY_NAMES.map((key) => fixtureText(`${key}.sshfp`))
    .join('')
    .replaceAll('web1.example.com. ', `${name} `)
}

describe('scan -D: SSHFP lines for a scanned host', () => {
  it('prints what ssh-keygen -r prints for each key, SHA-1 then SHA-256, with the name as given', () => {
    assert.deepEqual(renderScanSshfp(observation()), { records: golden('web1.example.com'), notes: [] })
  })

  it('drops the port from the identity: SSHFP has no port', () => {
    const { records } = renderScanSshfp(observation({}, { host: '[web1.example.com]:2222', port: 2222 }))
    assert.equal(records, golden('web1.example.com'))
  })

  it('repeats the records for every DNS name of the host, and leaves its IP addresses out', () => {
    const scanned = observation({}, { aliases: ['192.0.2.10', '192.0.2.11', 'www.example.com', '2001:db8::1'] })
    assert.deepEqual(sshfpOwnerNames(scanned), ['web1.example.com', 'www.example.com'])
    assert.equal(renderScanSshfp(scanned).records, golden('web1.example.com') + golden('www.example.com'))
  })

  it('gives a host known only by address a ; note instead of records', () => {
    for (const host of ['192.0.2.10', '[2001:db8::1]:2222']) {
      const result = renderScanSshfp(observation({}, { host, aliases: ['192.0.2.11'] }))
      assert.equal(result.records, '')
      assert.equal(result.notes.length, 1)
      assert.match(result.notes[0]!, /^; .*: no SSHFP records: they live at DNS names, and this host is known only by IP address; name it in the inventory \(ADDR NAME\)$/)
    }
  })

  it('gives a failed host, or one without keys, a ; note saying why', () => {
    const failed = renderScanSshfp(observation({ status: 'timeout', error: 'no answer within 5 s', keys: [] }))
    assert.deepEqual(failed, { records: '', notes: ['; web1.example.com (192.0.2.10:22): timeout: no answer within 5 s'] })
    const keyless = renderScanSshfp(observation({ keys: [] }))
    assert.deepEqual(keyless, { records: '', notes: ['; web1.example.com (192.0.2.10:22): no host key of the requested types offered'] })
  })

  it('prints the keys that came back from a host some probe failed at, and notes the failure', () => {
    // As ssh-keyscan -D, which prints every key it got; the status (say, a stalled RSA probe) is a note.
    const some = renderScanSshfp(observation({ status: 'timeout', error: 'rsa: no answer within 5 s', keys: keys.slice(-1) }))
    assert.deepEqual(some, { records: fixtureText('ed25519.sshfp').replaceAll('web1.example.com. ', 'web1.example.com '), notes: ['; web1.example.com (192.0.2.10:22): timeout: rsa: no answer within 5 s'] })
  })

  it('renderSshfpZone: names as given still go through the name check', () => {
    assert.throws(() => renderSshfpZone([{ host: 'web 1.example.com', records: [] }], { namesAsGiven: true }), /cannot be used as a DNS name/)
    assert.throws(() => renderSshfpZone([{ host: 'web1', records: [] }], { namesAsGiven: true, origin: 'example.com' }), /exclude each other/)
  })
})
