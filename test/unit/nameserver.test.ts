import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { UserError } from '../../src/domain/errors.js'
import { formatNameserver, LOCAL_NAMESERVER, parseNameserver, parseResolvConf, readResolvConf } from '../../src/dns/nameserver.js'

describe('parseNameserver (--resolver)', () => {
  const good: [string, string, number, 4 | 6][] = [
    ['127.3.0.1', '127.3.0.1', 53, 4],
    ['127.3.0.1:5353', '127.3.0.1', 5353, 4],
    [' 127.3.0.1:53 ', '127.3.0.1', 53, 4],
    ['::1', '::1', 53, 6],
    ['::1:53', '::1:53', 53, 6], // a bare IPv6 address never carries a port
    ['[::1]', '::1', 53, 6],
    ['[::1]:5300', '::1', 5300, 6],
  ]
  for (const [input, address, port, family] of good) {
    it(`${input} -> ${address} port ${port}`, () => assert.deepEqual(parseNameserver(input), { address, port, family }))
  }
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['resolver.example.com', /not an IP address.*names are not accepted/],
    ['127.3.0.1:0', /port '0'/],
    ['127.3.0.1:65536', /port '65536'/],
    ['127.3.0.1:53x', /port '53x'/],
    ['127.3.0.1:', /port ''/],
    ['[127.3.0.1]:53', /not an IPv6 address/],
    ['[::1]:', /port ''/],
    ['[::1', /expected \[IPv6\]/],
    ['300.1.1.1', /not an IP address/],
  ]
  for (const [input, why] of bad) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseNameserver(input), (e: unknown) => e instanceof UserError && why.test(e.message))
    })
  }
  it('formats addresses back for messages', () => {
    assert.equal(formatNameserver(parseNameserver('[::1]:5300')), '[::1]:5300')
    assert.equal(formatNameserver(parseNameserver('127.3.0.1')), '127.3.0.1:53')
  })
})

describe('parseResolvConf', () => {
  it('reads nameserver lines, v4 and v6, port 53, first three only, and options', () => {
    const conf = parseResolvConf(
      [
        '# generated',
        'search example.com',
        'nameserver 127.3.0.1',
        'nameserver   ::1   # local',
        '; nameserver 127.3.0.9',
        'nameserver not-an-address',
        'nameserver 127.3.0.2',
        'nameserver 127.3.0.3',
        'options ndots:2 timeout:3 attempts:9 rotate',
      ].join('\n'),
    )
    assert.deepEqual(
      conf.nameservers.map((s) => [s.address, s.port, s.family]),
      [
        ['127.3.0.1', 53, 4],
        ['::1', 53, 6],
        ['127.3.0.2', 53, 4],
      ],
    )
    assert.equal(conf.timeoutMs, 3000)
    assert.equal(conf.attempts, 5) // resolv.conf(5) caps attempts at 5
  })
  it('has no nameservers and no options for empty text', () => {
    assert.deepEqual(parseResolvConf(''), { nameservers: [], timeoutMs: null, attempts: null })
  })
  it('readResolvConf falls back to the local resolver, as glibc does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostkeys-resolv-'))
    try {
      writeFileSync(join(dir, 'resolv.conf'), 'search example.com\n')
      assert.deepEqual((await readResolvConf(join(dir, 'resolv.conf'))).nameservers, [LOCAL_NAMESERVER])
      assert.deepEqual((await readResolvConf(join(dir, 'missing'))).nameservers, [LOCAL_NAMESERVER])
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.3.0.7\n')
      assert.deepEqual((await readResolvConf(join(dir, 'resolv.conf'))).nameservers, [{ address: '127.3.0.7', port: 53, family: 4 }])
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})
