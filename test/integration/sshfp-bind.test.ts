import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { HostKey } from '../../src/domain/host-key.js'
import type { SshfpAnswer } from '../../src/dns/sshfp-answer.js'
import { DnsSshfpResolver } from '../../src/dns/sshfp-resolver.js'
import { compareSshfp } from '../../src/dns/sshfp.js'
import { expectedRecords } from '../../src/domain/fingerprint/sshfp-record.js'
import { renderSshfpNsupdate, renderSshfpNsupdateDiff, renderSshfpZone } from '../../src/report/sshfp-zone.js'
import { checkZone, runNsupdate, skipUnlessBind, startNamed, startUnbound, type NamedServer, type UnboundServer } from '../support/bind.js'
import { fixtureKey } from '../support/sshfp-key-fixtures.js'

/* Our SSHFP client and renderers against a real BIND (authoritative, one dynamic zone, one signed zone,
 * one plain zone) and a real validating unbound in front of it. Loopback 127.3.2.x only. */

const NAMED_ADDRESS = '127.3.2.1'
const UNBOUND_ADDRESS = '127.3.2.2'

const ed = fixtureKey('ed25519')
const edOld = fixtureKey('ed25519-rebuilt')
const rsa = fixtureKey('rsa')
const p256 = fixtureKey('ecdsa256')
const p384 = fixtureKey('ecdsa384')
const ALL = [ed, p256, p384, fixtureKey('ecdsa521'), rsa, fixtureKey('dsa')]

function soa(zone: string): string {
  return [`$TTL 300`, `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`, `@ IN NS ns.${zone}.`, `ns IN A ${NAMED_ADDRESS}`, ''].join('\n')
}

/** Zone text for `zone`, its hosts' records rendered by us (absolute names). */
function zoneText(zone: string, hosts: [string, HostKey[]][], extra = ''): string {
  return soa(zone) + renderSshfpZone(hosts.map(([h, keys]) => ({ host: `${h}.${zone}`, records: expectedRecords(keys) }))) + extra
}

const BIG_RECORDS = Array.from({ length: 40 }, () => `big IN SSHFP 1 2 ${randomBytes(32).toString('hex')}\n`).join('')

const LISTED_TYPE = /\b(?:ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa|ssh-dss)(?= SHA256:)/g

/** Finding kinds, sorted; a host's one sshfp_missing also names the key types it lists. */
function kinds(host: string, keys: HostKey[], answer: SshfpAnswer): string[] {
  return compareSshfp(host, keys, answer)
    .map((f) => (f.kind === 'sshfp_missing' ? `${f.kind} ${(f.message.match(LISTED_TYPE) ?? []).join(',')}` : f.kind))
    .sort()
}

describe('SSHFP against real BIND and unbound', { skip: skipUnlessBind() }, () => {
  let named: NamedServer
  let unbound: UnboundServer
  let direct: DnsSshfpResolver
  let validating: DnsSshfpResolver

  before(async () => {
    named = await startNamed(NAMED_ADDRESS, [
      {
        name: 'dyn.test',
        dynamic: true,
        text: zoneText('dyn.test', [
          ['web1', [ed, rsa]],
          ['web2', [edOld, rsa]],
          ['web3', [edOld]],
          ['all', ALL],
        ], BIG_RECORDS),
      },
      { name: 'secure.test', signed: true, text: zoneText('secure.test', [['web1', [ed, rsa]]]) },
      { name: 'plain.test', text: zoneText('plain.test', [['web1', [ed, rsa]]]) },
    ])
    unbound = await startUnbound(UNBOUND_ADDRESS, named.nameserver, ['secure.test', 'plain.test'], named.trustAnchors)
    direct = new DnsSshfpResolver({ nameservers: [named.nameserver], timeoutMs: 2000, attempts: 1 })
    validating = new DnsSshfpResolver({ nameservers: [unbound.nameserver], timeoutMs: 2000, attempts: 1 })
  })
  after(async () => {
    await unbound?.stop()
    await named?.stop()
  })

  it('named-checkzone accepts every output form: absolute, --origin relative, --ttl, generic', () => {
    const hosts = [
      { host: 'web1.dyn.test', records: expectedRecords(ALL) },
      { host: 'dyn.test', records: expectedRecords([ed], [2]) },
    ]
    for (const options of [{}, { origin: 'dyn.test' }, { origin: 'dyn.test.', ttl: 60 }, { generic: true }, { generic: true, origin: 'dyn.test', ttl: 0 }]) {
      const complaint = checkZone('dyn.test', soa('dyn.test') + renderSshfpZone(hosts, options))
      assert.equal(complaint, null, `${JSON.stringify(options)}: ${complaint}`)
    }
  })

  it('serves back exactly the records we published, for every key type', async () => {
    const answer = await direct.lookupSshfp('all.dyn.test')
    assert.equal(answer.kind, 'records', JSON.stringify(answer))
    if (answer.kind !== 'records') return
    const sorted = (r: readonly { algorithm: number; digestType: number; fingerprint: string }[]) =>
      r.map((x) => `${x.algorithm} ${x.digestType} ${x.fingerprint}`).sort()
    assert.deepEqual(sorted(answer.records), sorted(expectedRecords(ALL)))
    assert.equal(answer.authenticated, false) // an authoritative server does not set AD
    // Both ECDSA keys published: both match; only the unvalidated answer is reported.
    assert.deepEqual(kinds('all.dyn.test', ALL, answer), ['sshfp_insecure'])
  })

  it('a truncated UDP answer (40 records > 1232 octets) is fetched again over TCP', async () => {
    const answer = await direct.lookupSshfp('big.dyn.test')
    assert.equal(answer.kind === 'records' && answer.records.length, 40, JSON.stringify(answer).slice(0, 300))
  })

  it('NXDOMAIN is no records; a zone BIND does not serve is REFUSED, an error', async () => {
    const nx = await direct.lookupSshfp('nosuch.dyn.test')
    assert.deepEqual(nx.kind === 'records' && [nx.rcode, nx.records.length], ['NXDOMAIN', 0])
    const refused = await direct.lookupSshfp('web1.elsewhere.test')
    assert.equal(refused.kind === 'error' && refused.status, 'refused')
  })

  it('findings for a right, a rebuilt and a partly published host', async () => {
    assert.deepEqual(kinds('web1.dyn.test', [ed, rsa], await direct.lookupSshfp('web1.dyn.test')), ['sshfp_insecure'])
    assert.deepEqual(kinds('web2.dyn.test', [ed, rsa, p256], await direct.lookupSshfp('web2.dyn.test')), [
      'sshfp_insecure',
      'sshfp_mismatch',
      'sshfp_missing ecdsa-sha2-nistp256',
    ])
  })

  it('a host absent from the zone (NXDOMAIN) serving three key types: one sshfp_missing naming all three', async () => {
    const answer = await direct.lookupSshfp('web9.dyn.test')
    assert.equal(answer.kind === 'records' && answer.rcode, 'NXDOMAIN', JSON.stringify(answer))
    assert.deepEqual(kinds('web9.dyn.test', [rsa, p256, ed], answer), ['sshfp_missing ssh-ed25519,ecdsa-sha2-nistp256,ssh-rsa'])
  })

  it('nsupdate --diff applied with nsupdate brings DNS in line; a second diff is empty', async () => {
    const trusted = [ed, rsa, p256]
    const before = await direct.lookupSshfp('web2.dyn.test')
    assert.equal(before.kind, 'records')
    if (before.kind !== 'records') return
    const script = renderSshfpNsupdateDiff([{ host: 'web2.dyn.test', records: expectedRecords(trusted), served: before.records }], {
      server: named.nameserver,
      zone: 'dyn.test',
    })
    // Only the two old ed25519 records go and the four new ones come; the rsa records stay untouched.
    assert.equal(script.split('\n').filter((l) => l.startsWith('update delete')).length, 2, script)
    assert.equal(script.split('\n').filter((l) => l.startsWith('update add')).length, 4, script)
    runNsupdate(script)
    const afterUpdate = await direct.lookupSshfp('web2.dyn.test')
    assert.deepEqual(kinds('web2.dyn.test', trusted, afterUpdate), ['sshfp_insecure'])
    assert.equal(
      renderSshfpNsupdateDiff([{ host: 'web2.dyn.test', records: expectedRecords(trusted), served: afterUpdate.kind === 'records' ? afterUpdate.records : null }]),
      '',
    )
  })

  it('the full nsupdate script replaces an RRset, even when the lookup had failed', async () => {
    runNsupdate(renderSshfpNsupdate([{ host: 'web3.dyn.test', records: expectedRecords([ed], [2]) }], { server: named.nameserver, ttl: 120 }))
    const answer = await direct.lookupSshfp('web3.dyn.test')
    assert.deepEqual(answer.kind === 'records' && answer.records, expectedRecords([ed], [2]))
    runNsupdate(renderSshfpNsupdateDiff([{ host: 'web3.dyn.test', records: expectedRecords([rsa]), served: null }], { server: named.nameserver }))
    assert.deepEqual(kinds('web3.dyn.test', [rsa], await direct.lookupSshfp('web3.dyn.test')), ['sshfp_insecure'])
  })

  it('DNSSEC: through validating unbound the signed zone has AD set, and no sshfp_insecure', async () => {
    const answer = await validating.lookupSshfp('web1.secure.test')
    assert.equal(answer.kind === 'records' && answer.authenticated, true, `${JSON.stringify(answer)}\n${unbound.log().slice(-1500)}`)
    assert.deepEqual(kinds('web1.secure.test', [ed, rsa], answer), [])
  })

  it('DNSSEC: the same signed records straight from BIND, or an unsigned zone through unbound, are insecure', async () => {
    assert.deepEqual(kinds('web1.secure.test', [ed, rsa], await direct.lookupSshfp('web1.secure.test')), ['sshfp_insecure'])
    const plain = await validating.lookupSshfp('web1.plain.test')
    assert.equal(plain.kind === 'records' && plain.authenticated, false)
    assert.deepEqual(kinds('web1.plain.test', [ed, rsa], plain), ['sshfp_insecure'])
  })

  it('a rebuilt host behind DNSSEC is still a mismatch (validated records, wrong key)', async () => {
    assert.deepEqual(kinds('web1.secure.test', [edOld, rsa], await validating.lookupSshfp('web1.secure.test')), ['sshfp_mismatch'])
  })

  it('200 concurrent lookups against BIND', async (t) => {
    const started = performance.now()
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => direct.lookupSshfp(i % 2 ? 'web1.dyn.test' : `h${i}.dyn.test`)))
    const elapsed = performance.now() - started
    assert.ok(answers.every((a) => a.kind === 'records'), JSON.stringify(answers.find((a) => a.kind !== 'records')))
    t.diagnostic(`200 concurrent SSHFP lookups against BIND on loopback: ${elapsed.toFixed(0)} ms`)
  })
})
