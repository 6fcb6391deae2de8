import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UserError } from '../../src/domain/errors.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import { parseSshfpDigests } from '../../src/domain/fingerprint/sshfp-record.js'
import { renderSshfpNsupdate, renderSshfpNsupdateDiff, renderSshfpZone } from '../../src/report/sshfp-zone.js'
import { FIXTURE_KEY_NAMES, fixtureKey, fixtureText } from '../support/sshfp-key-fixtures.js'

const HOST = 'web1.example.com'

describe('renderSshfpZone against ssh-keygen -r', () => {
  for (const name of FIXTURE_KEY_NAMES) {
    it(`${name}: same lines as ssh-keygen -r web1.example.com.`, () => {
      const records = expectedRecords([fixtureKey(name)])
      assert.equal(renderSshfpZone([{ host: HOST, records }]), fixtureText(`${name}.sshfp`))
    })
    it(`${name}: generic form same as ssh-keygen -r -g`, () => {
      const records = expectedRecords([fixtureKey(name)])
      assert.equal(renderSshfpZone([{ host: `${HOST}.`, records }], { generic: true }), fixtureText(`${name}.sshfp-generic`))
    })
  }

  it('several keys: each key SHA-1 then SHA-256, in the order given', () => {
    const records = expectedRecords(FIXTURE_KEY_NAMES.map(fixtureKey))
    const golden = FIXTURE_KEY_NAMES.map((n) => fixtureText(`${n}.sshfp`)).join('')
    assert.equal(renderSshfpZone([{ host: HOST, records }]), golden)
  })

  it('--digest sha256 keeps only type-2 lines', () => {
    const records = expectedRecords([fixtureKey('ed25519')], parseSshfpDigests('sha256'))
    const golden = fixtureText('ed25519.sshfp').split('\n').filter((l) => / SSHFP 4 2 /.test(l))
    assert.equal(renderSshfpZone([{ host: HOST, records }]), `${golden.join('\n')}\n`)
  })

  it('--origin writes relative names and @ for the apex; --ttl goes before the class', () => {
    const records = expectedRecords([fixtureKey('ed25519')], [2])
    const out = renderSshfpZone(
      [
        { host: 'web1.Example.com', records },
        { host: 'example.com.', records },
      ],
      { origin: 'example.com', ttl: 300 },
    )
    const hex = records[0]!.fingerprint
    assert.equal(out, `web1 300 IN SSHFP 4 2 ${hex}\n@ 300 IN SSHFP 4 2 ${hex}\n`)
  })

  it('--origin refuses a host outside the zone', () => {
    const records = expectedRecords([fixtureKey('ed25519')])
    assert.throws(() => renderSshfpZone([{ host: 'web1.example.org', records }], { origin: 'example.com' }), UserError)
    assert.throws(() => renderSshfpZone([{ host: 'notexample.com', records }], { origin: 'example.com' }), UserError)
  })

  it('refuses a bad TTL', () => {
    assert.throws(() => renderSshfpZone([{ host: HOST, records: [] }], { ttl: -1 }), /TTL/)
    assert.throws(() => renderSshfpZone([{ host: HOST, records: [] }], { ttl: 2 ** 31 }), /TTL/)
  })
})

describe('host names are validated before they reach zone text', () => {
  const records = expectedRecords([fixtureKey('ed25519')])
  const bad: [string, RegExp][] = [
    ['web 1.example.com', /a space/],
    ['web1.example.com\nevil IN A 1.2.3.4', /line break/],
    ['"web1".example.com', /quote/],
    ["web1'.example.com", /quote/],
    ['web1\\.example.com', /backslash/],
    ['web1;x.example.com', /special meaning/],
    ['web1(.example.com', /special meaning/],
    ['$INCLUDE', /special meaning/],
    ['@', /special meaning/],
    ['wéb1.example.com', /non-ASCII.*xn--/],
    [`${'a'.repeat(64)}.example.com`, /64 octets.*63/],
    [`${'a'.repeat(63)}.`.repeat(4) + 'com', /DNS allows at most 253/],
    ['web1..example.com', /empty label/],
    ['.web1.example.com', /empty label/],
    ['', /empty/],
    ['.', /root/],
    ['192.0.2.1', /IP address/],
    ['2001:db8::1', /cannot contain/],
    ['web1.example.com/24', /cannot contain/],
  ]
  for (const [name, why] of bad) {
    it(`refuses ${JSON.stringify(name).slice(0, 40)}`, () => {
      for (const render of [
        () => renderSshfpZone([{ host: name, records }]),
        () => renderSshfpNsupdate([{ host: name, records }]),
        () => renderSshfpNsupdateDiff([{ host: name, records, served: [] }]),
      ]) {
        assert.throws(render, (e: unknown) => e instanceof UserError && why.test(e.message) && e.message.includes(JSON.stringify(name)))
      }
    })
  }

  it('accepts the longest legal name: 63-octet labels, 253 characters', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`
    assert.equal(name.length, 253)
    assert.match(renderSshfpZone([{ host: name, records }]), /^a{63}\.b{63}\.c{63}\.d{61}\. IN SSHFP/)
  })

  it('refuses --origin and zone names the same way', () => {
    assert.throws(() => renderSshfpZone([{ host: HOST, records }], { origin: 'exa mple.com' }), UserError)
    assert.throws(() => renderSshfpNsupdate([{ host: HOST, records }], { zone: 'example.com\nsend' }), UserError)
  })
})

describe('nsupdate scripts', () => {
  const ed = fixtureKey('ed25519')
  const rsa = fixtureKey('rsa')
  const old = fixtureKey('ed25519-rebuilt')

  it('replaces each RRset: delete, adds, send per host', () => {
    const out = renderSshfpNsupdate(
      [
        { host: 'web1.example.com', records: expectedRecords([ed], [2]) },
        { host: 'web2.example.com.', records: expectedRecords([rsa], [1]) },
      ],
      { ttl: 600, server: { address: '127.3.0.1', port: 5300 }, zone: 'example.com' },
    )
    assert.equal(
      out,
      [
        'server 127.3.0.1 5300',
        'zone example.com.',
        'update delete web1.example.com. SSHFP',
        `update add web1.example.com. 600 SSHFP 4 2 ${ed.sha256Hex}`,
        'send',
        'update delete web2.example.com. SSHFP',
        `update add web2.example.com. 600 SSHFP 1 1 ${rsa.sha1Hex}`,
        'send',
        '',
      ].join('\n'),
    )
  })

  it('diff: only the deletes and adds needed; nothing for hosts in line', () => {
    const wanted = expectedRecords([ed, rsa])
    const out = renderSshfpNsupdateDiff([
      { host: 'same.example.com', records: wanted, served: [...wanted].reverse() },
      {
        host: 'rebuilt.example.com',
        records: wanted,
        // DNS serves the rsa records plus the old ed25519 key's, uppercase as dns-packet would decode them
        served: [...expectedRecords([rsa]), ...expectedRecords([old]).map((r) => ({ ...r, fingerprint: r.fingerprint.toUpperCase() }))],
      },
    ])
    assert.equal(
      out,
      [
        `update delete rebuilt.example.com. SSHFP 4 1 ${old.sha1Hex}`,
        `update delete rebuilt.example.com. SSHFP 4 2 ${old.sha256Hex}`,
        `update add rebuilt.example.com. 3600 SSHFP 4 1 ${ed.sha1Hex}`,
        `update add rebuilt.example.com. 3600 SSHFP 4 2 ${ed.sha256Hex}`,
        'send',
        '',
      ].join('\n'),
    )
  })

  it('diff: empty when DNS is in line, even with a server line asked for', () => {
    const wanted = expectedRecords([ed])
    assert.equal(renderSshfpNsupdateDiff([{ host: HOST, records: wanted, served: wanted }], { server: { address: '127.3.0.1', port: 53 } }), '')
  })

  it('diff: a failed lookup replaces the whole RRset', () => {
    const wanted = expectedRecords([ed], [2])
    assert.equal(
      renderSshfpNsupdateDiff([{ host: HOST, records: wanted, served: null }]),
      [
        '; the SSHFP lookup for web1.example.com. failed: replacing the whole RRset',
        'update delete web1.example.com. SSHFP',
        `update add web1.example.com. 3600 SSHFP 4 2 ${ed.sha256Hex}`,
        'send',
        '',
      ].join('\n'),
    )
  })
})

describe('parseSshfpDigests', () => {
  it('parses lists in any order', () => {
    assert.deepEqual(parseSshfpDigests('sha256,sha1'), [1, 2])
    assert.deepEqual(parseSshfpDigests('SHA256'), [2])
    assert.deepEqual(parseSshfpDigests('sha1, sha1'), [1])
  })
  it('refuses unknown digests', () => {
    assert.throws(() => parseSshfpDigests('md5'), (e: unknown) => e instanceof UserError && /md5/.test(e.message))
    assert.throws(() => parseSshfpDigests(''), UserError)
  })
})
