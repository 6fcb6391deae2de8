import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import dnsPacket from 'dns-packet'
import type { SshfpAnswer } from '../../src/dns/sshfp-answer.js'
import { DnsSshfpResolver } from '../../src/dns/sshfp-resolver.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import { RCODE, respond, sshfpAnswer, startDnsTestServer, withRawAnswers, type DnsTestServer, type TestQuery } from '../support/dns-test-server.js'
import { fixtureKey } from '../support/sshfp-key-fixtures.js'

/* Hostile and failing nameservers, in process, on 127.3.1.x (loopback only). */

const NAME = 'web1.example.test'
const ed = fixtureKey('ed25519')
const rsa = fixtureKey('rsa')
const GOOD = expectedRecords([ed, rsa])
const goodAnswers = (name = NAME) => GOOD.map((r) => sshfpAnswer(name, r.algorithm, r.digestType, r.fingerprint))
const sshfpRdata = (algorithm: number, hash: number, hex: string) => Buffer.concat([Buffer.from([algorithm, hash]), Buffer.from(hex, 'hex')])

let primary: DnsTestServer
let secondary: DnsTestServer

function resolver(servers = [primary], timeoutMs = 300, attempts = 1) {
  return new DnsSshfpResolver({ nameservers: servers.map((s) => s.nameserver), timeoutMs, attempts })
}

function assertGood(answer: SshfpAnswer, authenticated = false) {
  assert.equal(answer.kind, 'records', JSON.stringify(answer))
  if (answer.kind !== 'records') return
  assert.deepEqual(answer.records, GOOD)
  assert.equal(answer.authenticated, authenticated)
}

before(async () => {
  primary = await startDnsTestServer('127.3.1.1', () => [])
  secondary = await startDnsTestServer('127.3.1.2', () => [])
})
after(async () => {
  await primary.close()
  await secondary.close()
})
beforeEach(() => {
  primary.queries.length = 0
  secondary.queries.length = 0
})

describe('SSHFP resolver against an in-process server', () => {
  it('asks with RD, EDNS0 and DO, a fresh ID and source port per query; returns records and the AD bit', async () => {
    primary.handler = (q) => [respond(q, { answers: goodAnswers(), authenticated: true })]
    const r = resolver()
    assertGood(await r.lookupSshfp(NAME), true)
    assertGood(await r.lookupSshfp(`${NAME}.`), true)
    const [first, second] = primary.queries as [TestQuery, TestQuery]
    assert.equal(first.packet.questions![0]!.type, 'SSHFP')
    assert.equal(first.packet.questions![0]!.name, NAME)
    assert.ok(((first.packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0)
    const opt = first.packet.additionals!.find((a) => a.type === 'OPT')
    assert.ok(opt && opt.type === 'OPT' && opt.flag_do && opt.udpPayloadSize === 1232)
    assert.notEqual(first.port, second.port)
    assert.notEqual(first.packet.id, second.packet.id) // 1 in 65536 chance of a false failure
  })

  it('falls back to TCP when the UDP answer is truncated', async () => {
    primary.handler = (q) => (q.transport === 'udp' ? [respond(q, { truncated: true })] : [respond(q, { answers: goodAnswers() })])
    assertGood(await resolver().lookupSshfp(NAME))
    assert.deepEqual(primary.queries.map((q) => q.transport), ['udp', 'tcp'])
  })

  it('skips answers with the wrong ID and keeps waiting for the right one', async () => {
    const stale = expectedRecords([fixtureKey('ed25519-rebuilt')], [2])[0]!
    primary.handler = (q) => [
      respond(q, { id: (q.packet.id! + 1) & 0xffff, answers: [sshfpAnswer(NAME, 4, 2, stale.fingerprint)], authenticated: true }),
      respond(q, { id: (q.packet.id! + 2) & 0xffff, rcode: RCODE.SERVFAIL }),
      { bytes: respond(q, { answers: goodAnswers() }), delayMs: 20 },
    ]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  it('skips answers to another question (name) and keeps waiting', async () => {
    primary.handler = (q) => [respond(q, { name: 'evil.example.test', rcode: RCODE.NXDOMAIN }), { bytes: respond(q, { answers: goodAnswers() }), delayMs: 20 }]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  it('over TCP too, skips a message with the wrong ID', async () => {
    primary.handler = (q) =>
      q.transport === 'udp'
        ? [respond(q, { truncated: true })]
        : [respond(q, { id: (q.packet.id! + 1) & 0xffff, rcode: RCODE.REFUSED }), respond(q, { answers: goodAnswers() })]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  it('ignores an answer from the wrong source port', async () => {
    primary.handler = (q) => [
      { bytes: respond(q, { rcode: RCODE.NXDOMAIN, authenticated: true }), fromOtherPort: true },
      { bytes: respond(q, { answers: goodAnswers() }), delayMs: 30 },
    ]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  it('ignores an answer only ever from the wrong source: timeout, not "no records"', async () => {
    primary.handler = (q) => [{ bytes: respond(q, { rcode: RCODE.NXDOMAIN }), fromOtherPort: true }]
    const answer = await resolver([primary], 150).lookupSshfp(NAME)
    assert.equal(answer.kind === 'error' && answer.status, 'timeout')
  })

  it('ignores garbage and waits for the real answer', async () => {
    primary.handler = (q) => [Buffer.from('garbage'), Buffer.alloc(600, 0xff), Buffer.alloc(0), { bytes: respond(q, { answers: goodAnswers() }), delayMs: 20 }]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  it('garbage only ends in a timeout', async () => {
    primary.handler = () => [Buffer.from('\x00\x01\x02garbage')]
    const answer = await resolver([primary], 150).lookupSshfp(NAME)
    assert.equal(answer.kind === 'error' && answer.status, 'timeout')
  })

  it('an SSHFP with an unknown hash type is skipped without corrupting the records after it', async () => {
    // dns-packet would read 0 octets for hash type 3 and then decode the rest of the RDATA as the next record.
    primary.handler = (q) => [
      withRawAnswers(respond(q), [
        { type: 44, rdata: sshfpRdata(4, 3, 'ab'.repeat(48)) },
        ...GOOD.map((r) => ({ type: 44, rdata: sshfpRdata(r.algorithm, r.digestType, r.fingerprint) })),
        { type: 44, rdata: sshfpRdata(6, 2, 'cd'.repeat(32)) }, // Ed448 (RFC 8709): well-formed, not ours to compare
      ]),
    ]
    const answer = await resolver().lookupSshfp(NAME)
    assertGood(answer)
    assert.equal(answer.kind === 'records' && answer.ignored, 2)
  })

  it('an SSHFP whose digest length does not fit its type is a malformed answer, not records', async () => {
    primary.handler = (q) => [
      withRawAnswers(respond(q), [
        { type: 44, rdata: sshfpRdata(4, 2, 'ab'.repeat(20)) },
        ...GOOD.map((r) => ({ type: 44, rdata: sshfpRdata(r.algorithm, r.digestType, r.fingerprint) })),
      ]),
    ]
    const answer = await resolver().lookupSshfp(NAME)
    assert.equal(answer.kind, 'error')
    assert.equal(answer.kind === 'error' && answer.status, 'malformed')
    assert.match(answer.kind === 'error' ? answer.detail : '', /20-octet digest for digest type 2/)
  })

  const malformed: [string, (q: TestQuery) => Buffer][] = [
    ['RDLENGTH past the end', (q) => withRawAnswers(respond(q), [{ type: 44, rdata: sshfpRdata(4, 2, 'ab'.repeat(32)), rdlength: 200 }])],
    ['answer count larger than the answers', (q) => {
      const b = respond(q, { answers: goodAnswers() })
      b.writeUInt16BE(9, 6)
      return b
    }],
    ['SSHFP of one octet', (q) => withRawAnswers(respond(q), [{ type: 44, rdata: Buffer.from([4]) }])],
    ['compression pointer loop in an owner name', (q) => {
      const b = withRawAnswers(respond(q), [{ type: 44, rdata: sshfpRdata(4, 2, 'ab'.repeat(32)) }])
      const at = b.length - 34 - 12
      b.writeUInt16BE(0xc000 | at, at) // points at itself
      return b
    }],
  ]
  for (const [what, build] of malformed) {
    it(`malformed: ${what}`, async () => {
      primary.handler = (q) => [build(q)]
      const answer = await resolver().lookupSshfp(NAME)
      assert.equal(answer.kind === 'error' && answer.status, 'malformed', JSON.stringify(answer))
    })
  }

  it('follows a CNAME in the answer; records at other names do not count', async () => {
    primary.handler = (q) => [
      respond(q, {
        answers: [
          { type: 'CNAME', name: NAME, ttl: 300, class: 'IN', data: 'real.example.test' },
          ...goodAnswers('real.example.test'),
          sshfpAnswer('unrelated.example.test', 1, 2, 'ee'.repeat(32)),
        ],
      }),
    ]
    assertGood(await resolver().lookupSshfp(NAME))
  })

  const failures: [string, number, SshfpAnswer['kind'], string][] = [
    ['SERVFAIL', RCODE.SERVFAIL, 'error', 'servfail'],
    ['REFUSED', RCODE.REFUSED, 'error', 'refused'],
    ['NOTIMP', RCODE.NOTIMP, 'error', 'rcode'],
    ['NXDOMAIN', RCODE.NXDOMAIN, 'records', 'NXDOMAIN'],
  ]
  for (const [what, rcode, kind, status] of failures) {
    it(`${what} -> ${kind} ${status}`, async () => {
      primary.handler = (q) => [respond(q, { rcode, answers: rcode === RCODE.NXDOMAIN ? [] : goodAnswers() })]
      const answer = await resolver().lookupSshfp(NAME)
      assert.equal(answer.kind, kind)
      assert.equal(answer.kind === 'error' ? answer.status : answer.rcode, status)
      if (answer.kind === 'records') assert.deepEqual(answer.records, [])
    })
  }

  it('NOERROR with no SSHFP data is "no records"', async () => {
    primary.handler = (q) => [respond(q, { answers: [{ type: 'A', name: NAME, ttl: 1, class: 'IN', data: '127.3.9.9' }] })]
    const answer = await resolver().lookupSshfp(NAME)
    assert.deepEqual(answer.kind === 'records' && [answer.rcode, answer.records], ['NOERROR', []])
  })

  it('a silent server times out after attempts × timeout, one query per attempt', async () => {
    primary.handler = () => []
    const started = performance.now()
    const answer = await resolver([primary], 100, 3).lookupSshfp(NAME)
    const elapsed = performance.now() - started
    assert.equal(answer.kind === 'error' && answer.status, 'timeout')
    assert.equal(primary.queries.length, 3)
    assert.ok(elapsed >= 290 && elapsed < 1000, `took ${elapsed} ms`)
  })

  it('a TCP peer that never finishes its answer is bounded by the timeout', async () => {
    primary.handler = (q) => (q.transport === 'udp' ? [respond(q, { truncated: true })] : [respond(q, { answers: goodAnswers() }).subarray(0, 20)])
    const answer = await resolver([primary], 150).lookupSshfp(NAME)
    assert.equal(answer.kind === 'error' && answer.status, 'timeout')
  })

  it('retries the next nameserver after a timeout, and after SERVFAIL', async () => {
    primary.handler = () => []
    secondary.handler = (q) => [respond(q, { answers: goodAnswers() })]
    assertGood(await resolver([primary, secondary], 100).lookupSshfp(NAME))
    primary.handler = (q) => [respond(q, { rcode: RCODE.SERVFAIL })]
    assertGood(await resolver([primary, secondary], 100).lookupSshfp(NAME))
  })

  it('reports every server it tried when all fail', async () => {
    primary.handler = (q) => [respond(q, { rcode: RCODE.SERVFAIL })]
    secondary.handler = (q) => [respond(q, { rcode: RCODE.REFUSED })]
    const answer = await resolver([primary, secondary], 100, 2).lookupSshfp(NAME)
    assert.equal(answer.kind === 'error' && answer.status, 'refused')
    assert.equal(primary.queries.length + secondary.queries.length, 4)
    assert.match(answer.kind === 'error' ? answer.detail : '', /127\.3\.1\.1:\d+ over UDP answered SERVFAIL; 127\.3\.1\.2:\d+ over UDP answered REFUSED/)
  })

  it('nobody listening: a network error, fast (connected UDP sees ICMP port unreachable)', async () => {
    const started = performance.now()
    const answer = await new DnsSshfpResolver({ nameservers: [{ address: '127.3.1.9', port: 9, family: 4 }], timeoutMs: 2000, attempts: 1 }).lookupSshfp(NAME)
    assert.equal(answer.kind === 'error' && answer.status, 'network', JSON.stringify(answer))
    assert.ok(performance.now() - started < 1000)
  })

  it('a name that cannot be queried is an error without any query', async () => {
    const answer = await resolver().lookupSshfp('bad name.example.test')
    assert.equal(answer.kind === 'error' && answer.status, 'bad-name')
    assert.equal(primary.queries.length, 0)
  })

  it('200 concurrent lookups each get their own answer', async () => {
    primary.handler = (q) => {
      const name = q.packet.questions![0]!.name
      const i = Number(/^h(\d+)\./.exec(name)![1])
      return [{ bytes: respond(q, { answers: [sshfpAnswer(name, 4, 2, i.toString(16).padStart(64, '0'))] }), delayMs: i % 7 }]
    }
    const r = resolver([primary], 2000)
    const started = performance.now()
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => r.lookupSshfp(`h${i}.example.test`)))
    const elapsed = performance.now() - started
    answers.forEach((a, i) => assert.equal(a.kind === 'records' && a.records[0]!.fingerprint, i.toString(16).padStart(64, '0')))
    assert.ok(elapsed < 2000, `took ${elapsed} ms`)
  })

  it('dns-packet itself mis-decodes the unknown-hash case (why we read answers ourselves)', () => {
    const q: TestQuery = { transport: 'udp', raw: Buffer.alloc(0), port: 0, packet: { id: 1, questions: [{ type: 'SSHFP', name: NAME, class: 'IN' }] } }
    const bytes = withRawAnswers(respond(q), [
      { type: 44, rdata: sshfpRdata(4, 3, 'ab'.repeat(48)) },
      { type: 44, rdata: sshfpRdata(4, 2, GOOD[1]!.fingerprint) },
    ])
    let decoded: string[] | Error
    try {
      decoded = dnsPacket.decode(bytes).answers!.map((a) => JSON.stringify('data' in a ? a.data : null))
    } catch (e) {
      decoded = e as Error
    }
    assert.ok(decoded instanceof Error || !decoded.some((d) => d.includes(GOOD[1]!.fingerprint.toUpperCase())), `dns-packet now decodes it right: ${decoded}`)
  })
})

describe('SSHFP resolver over IPv6 loopback', () => {
  it('a non-canonical ::1 from --resolver still matches the replies', async (t) => {
    const { createSocket } = await import('node:dgram')
    const udp = createSocket('udp6')
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject)
        udp.bind({ address: '::1', port: 0 }, () => resolve())
      })
    } catch {
      t.skip('no IPv6 loopback here')
      return
    }
    udp.on('message', (raw, from) => {
      const packet = dnsPacket.decode(raw)
      const q: TestQuery = { transport: 'udp', packet, raw, port: from.port }
      udp.send(respond(q, { answers: goodAnswers() }), from.port, from.address)
    })
    const port = udp.address().port
    try {
      const r = new DnsSshfpResolver({ nameservers: [{ address: '0:0:0:0:0:0:0:1', port, family: 6 }], timeoutMs: 500, attempts: 1 })
      assertGood(await r.lookupSshfp(NAME))
    } finally {
      udp.close()
    }
  })
})
