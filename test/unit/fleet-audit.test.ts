import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { auditFleet, compareConfigurations, softwareOf } from '../../src/analysis/fleet-audit.js'
import type { AuditedHost } from '../../src/domain/fleet-audit.js'
import type { OfferedAlgorithms } from '../../src/domain/observation.js'
import { hasshServer } from '../../src/domain/fingerprint/hassh.js'
import { OPENSSH_92_BANNER, OPENSSH_92_DEFAULT, OPENSSH_92_HARDENED } from '../support/kexinit-fixtures.js'

/* The fleet view over KEXINITs read from real OpenSSH 9.2 servers (test/support/kexinit-fixtures.ts). */

const ED25519 = { type: 'ssh-ed25519', bits: 256 } as const
const RSA3072 = { type: 'ssh-rsa', bits: 3072 } as const
const RSA2048 = { type: 'ssh-rsa', bits: 2048 } as const
const ECDSA256 = { type: 'ecdsa-sha2-nistp256', bits: 256 } as const

const host = (name: string, offered: OfferedAlgorithms, banner: string | null = OPENSSH_92_BANNER, keys: AuditedHost['keys'] = [ED25519]): AuditedHost => ({ host: name, banner, offered, keys })

/** Three hardened Debian 12 servers and one left at the defaults, with an ECDSA key and a smaller RSA key. */
const debianFleet: AuditedHost[] = [
  host('web1', OPENSSH_92_HARDENED, OPENSSH_92_BANNER, [ED25519, RSA3072]),
  host('web2', OPENSSH_92_HARDENED, OPENSSH_92_BANNER, [ED25519, RSA3072]),
  host('web10', OPENSSH_92_HARDENED, OPENSSH_92_BANNER, [ED25519, RSA3072]),
  host('web3', OPENSSH_92_DEFAULT, OPENSSH_92_BANNER, [ED25519, RSA2048, ECDSA256]),
]

const usage = (audit: ReturnType<typeof auditFleet>, list: string, name: string, direction = 'both') =>
  audit.lists.find((s) => s.list === list && s.direction === direction)?.algorithms.find((a) => a.name === name)

describe('fleet audit', () => {
  it('counts who offers each algorithm, hosts in numeric order', () => {
    const audit = auditFleet(debianFleet)
    assert.equal(audit.hostCount, 4)
    assert.deepEqual(usage(audit, 'kex', 'curve25519-sha256')?.hosts, ['web1', 'web2', 'web3', 'web10'])
    assert.deepEqual(usage(audit, 'kex', 'ecdh-sha2-nistp256')?.hosts, ['web3'])
    assert.deepEqual(usage(audit, 'hostkey', 'ecdsa-sha2-nistp256')?.hosts, ['web3'])
    assert.deepEqual(usage(audit, 'macs', 'hmac-sha1')?.hosts, ['web3'])
    assert.deepEqual(usage(audit, 'compression', 'zlib@openssh.com')?.hosts.length, 4)
    // OpenSSH sends ciphers, MACs and compression the same both ways: one section each.
    assert.deepEqual(audit.lists.map((s) => `${s.list} ${s.direction}`), ['kex both', 'hostkey both', 'ciphers both', 'macs both', 'compression both'])
    const kex = audit.lists[0]!.algorithms
    assert.ok(kex.every((a, i) => i === 0 || kex[i - 1]!.hosts.length >= a.hosts.length), 'most offered first')
  })

  it('marks post-quantum methods, markers and weak names (algorithm-findings\' list)', () => {
    const weak: OfferedAlgorithms = { ...OPENSSH_92_DEFAULT, kex: ['diffie-hellman-group14-sha1', ...OPENSSH_92_DEFAULT.kex] }
    const audit = auditFleet([...debianFleet, host('old1', weak, 'SSH-2.0-OpenSSH_7.4')])
    assert.deepEqual(usage(audit, 'kex', 'sntrup761x25519-sha512@openssh.com'), {
      name: 'sntrup761x25519-sha512@openssh.com',
      hosts: ['old1', 'web1', 'web2', 'web3', 'web10'],
      weak: null,
      postQuantum: true,
      marker: false,
    })
    assert.equal(usage(audit, 'kex', 'kex-strict-s-v00@openssh.com')?.marker, true)
    assert.match(usage(audit, 'kex', 'diffie-hellman-group14-sha1')?.weak ?? '', /SHA-1 key exchange/)
    assert.deepEqual(audit.summary, { weak: ['old1'], noPostQuantumKex: [], terrapin: [] })
  })

  it('summarises hosts without post-quantum kex and open to Terrapin', () => {
    const classical: OfferedAlgorithms = { ...OPENSSH_92_DEFAULT, kex: ['curve25519-sha256'] }
    const audit = auditFleet([host('a', OPENSSH_92_DEFAULT), host('b', classical)])
    assert.deepEqual(audit.summary, { weak: [], noPostQuantumKex: ['b'], terrapin: ['b'] })
  })

  it('lists host keys by type and size', () => {
    assert.deepEqual(auditFleet(debianFleet).keys, [
      { type: 'ssh-ed25519', bits: 256, hosts: ['web1', 'web2', 'web3', 'web10'] },
      { type: 'ssh-rsa', bits: 3072, hosts: ['web1', 'web2', 'web10'] },
      { type: 'ecdsa-sha2-nistp256', bits: 256, hosts: ['web3'] },
      { type: 'ssh-rsa', bits: 2048, hosts: ['web3'] },
    ])
  })

  it('folds hosts into distinct configurations, most common first, with HASSH and a stable id', () => {
    const audit = auditFleet(debianFleet)
    assert.deepEqual(audit.configurations.map((c) => [c.hosts, c.hassh, c.banner, c.software]), [
      [['web1', 'web2', 'web10'], hasshServer(OPENSSH_92_HARDENED), OPENSSH_92_BANNER, 'OpenSSH_9.2p1 Debian-2+deb12u10'],
      [['web3'], hasshServer(OPENSSH_92_DEFAULT), OPENSSH_92_BANNER, 'OpenSSH_9.2p1 Debian-2+deb12u10'],
    ])
    for (const c of audit.configurations) assert.match(c.id, new RegExp(`^${c.hassh.slice(0, 8)}-[0-9a-f]{8}$`))
    // The same configuration has the same id in another fleet, whatever else is in it.
    const again = auditFleet([host('other', OPENSSH_92_DEFAULT), host('x', OPENSSH_92_HARDENED, 'SSH-2.0-dropbear_2022.83')])
    assert.equal(again.configurations.find((c) => c.hosts[0] === 'other')!.id, audit.configurations[1]!.id)
  })

  it('tells apart configurations HASSH does not: banner, host key list, client-to-server lists', () => {
    const otherKeys: OfferedAlgorithms = { ...OPENSSH_92_HARDENED, serverHostKey: ['ssh-ed25519'] }
    const otherUpstream: OfferedAlgorithms = { ...OPENSSH_92_HARDENED, ciphers: { clientToServer: ['aes256-gcm@openssh.com'], serverToClient: OPENSSH_92_HARDENED.ciphers.serverToClient } }
    const audit = auditFleet([host('a', OPENSSH_92_HARDENED), host('b', otherKeys), host('c', otherUpstream), host('d', OPENSSH_92_HARDENED, 'SSH-2.0-OpenSSH_9.6')])
    const ids = audit.configurations.map((c) => c.id)
    assert.equal(new Set(ids).size, 4)
    assert.equal(new Set(ids.map((id) => id.split('-')[0])).size, 1, 'one HASSH: the same first half')
  })

  it('finds the host configured unlike the majority of its group, and what differs', () => {
    const audit = auditFleet(debianFleet)
    assert.deepEqual(audit.groups, [
      { software: 'OpenSSH_9.2p1 Debian-2+deb12u10', hostCount: 4, configurations: audit.configurations.map((c) => ({ id: c.id, hostCount: c.hosts.length })), majority: audit.configurations[0]!.id },
    ])
    assert.deepEqual(audit.deviants, [
      {
        host: 'web3',
        software: 'OpenSSH_9.2p1 Debian-2+deb12u10',
        configuration: audit.configurations[1]!.id,
        majority: audit.configurations[0]!.id,
        bannerDiffers: false,
        differences: [
          { list: 'kex', direction: 'both', added: ['sntrup761x25519-sha512', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group14-sha256'], missing: [], reordered: false },
          { list: 'hostkey', direction: 'both', added: ['ecdsa-sha2-nistp256'], missing: [], reordered: false },
          { list: 'ciphers', direction: 'both', added: [], missing: [], reordered: true },
          {
            list: 'macs',
            direction: 'both',
            added: ['umac-64-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'],
            missing: [],
            reordered: false,
          },
        ],
      },
    ])
  })

  const majorities: [string, number[], boolean][] = [
    ['3 of 4: a majority', [3, 1], true],
    ['4 of 5 over three configurations', [4, 1], true],
    ['2 of 4 and 2 of 4: a tie, no majority', [2, 2], false],
    ['2, 1 and 1: most, but not more than half', [2, 1, 1], false],
    ['1, 1 and 1', [1, 1, 1], false],
    ['3 of 5', [3, 1, 1], true],
    ['a lone host is its own majority', [1], true],
  ]
  const variants: OfferedAlgorithms[] = [OPENSSH_92_HARDENED, OPENSSH_92_DEFAULT, { ...OPENSSH_92_DEFAULT, kex: ['curve25519-sha256'] }]
  for (const [name, sizes, hasMajority] of majorities) {
    it(`majority: ${name}`, () => {
      const hosts = sizes.flatMap((size, v) => Array.from({ length: size }, (_, i) => host(`h${v}-${i}`, variants[v]!)))
      const audit = auditFleet(hosts)
      const [group] = audit.groups
      assert.deepEqual(group!.configurations.map((c) => c.hostCount), sizes)
      if (hasMajority) {
        assert.equal(group!.majority, audit.configurations.find((c) => c.hosts[0] === 'h0-0')!.id)
        assert.deepEqual(audit.deviants.map((d) => d.host).sort(), hosts.filter((h) => !h.host.startsWith('h0-')).map((h) => h.host).sort())
      } else {
        assert.equal(group!.majority, null)
        assert.deepEqual(audit.deviants, [])
      }
    })
  }

  it('groups by the software the banner names; hosts without a banner are the unknown group, last', () => {
    const audit = auditFleet([
      host('a', OPENSSH_92_HARDENED, 'SSH-2.0-OpenSSH_9.6'),
      host('b', OPENSSH_92_DEFAULT, null),
      host('c', OPENSSH_92_HARDENED, null),
      host('d', OPENSSH_92_HARDENED, OPENSSH_92_BANNER),
      host('e', OPENSSH_92_HARDENED, OPENSSH_92_BANNER),
    ])
    assert.deepEqual(audit.groups.map((g) => [g.software, g.hostCount, g.majority === null]), [
      ['OpenSSH_9.2p1 Debian-2+deb12u10', 2, false],
      ['OpenSSH_9.6', 1, false],
      [null, 2, true],
    ])
    assert.deepEqual(audit.deviants, [])
  })

  it('the same software under another protocol version is one group; its banner differs', () => {
    const audit = auditFleet([host('a', OPENSSH_92_HARDENED), host('b', OPENSSH_92_HARDENED), host('c', OPENSSH_92_HARDENED, 'SSH-1.99-OpenSSH_9.2p1 Debian-2+deb12u10')])
    assert.equal(audit.groups.length, 1)
    assert.deepEqual(audit.deviants.map((d) => [d.host, d.bannerDiffers, d.differences]), [['c', true, []]])
  })

  it('splits a list by direction where a server sends it differently each way', () => {
    const lopsided: OfferedAlgorithms = { ...OPENSSH_92_HARDENED, macs: { clientToServer: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha1'], serverToClient: OPENSSH_92_HARDENED.macs.serverToClient } }
    const audit = auditFleet([host('a', OPENSSH_92_HARDENED), host('b', OPENSSH_92_HARDENED), host('c', lopsided)])
    assert.deepEqual(audit.lists.map((s) => `${s.list} ${s.direction}`), ['kex both', 'hostkey both', 'ciphers both', 'macs client-to-server', 'macs server-to-client', 'compression both'])
    assert.deepEqual(usage(audit, 'macs', 'hmac-sha1', 'client-to-server')?.hosts, ['c'])
    assert.equal(usage(audit, 'macs', 'hmac-sha1', 'server-to-client'), undefined)
    assert.deepEqual(audit.deviants[0]!.differences, [
      { list: 'macs', direction: 'client-to-server', added: ['hmac-sha1'], missing: ['hmac-sha2-512-etm@openssh.com', 'umac-128-etm@openssh.com'], reordered: false },
    ])
  })

  it('compares two configurations list by list', () => {
    assert.deepEqual(compareConfigurations(OPENSSH_92_HARDENED, OPENSSH_92_HARDENED), [])
    const fewer: OfferedAlgorithms = { ...OPENSSH_92_HARDENED, kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'] }
    assert.deepEqual(compareConfigurations(fewer, OPENSSH_92_HARDENED), [
      { list: 'kex', direction: 'both', added: [], missing: ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256@libssh.org', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group-exchange-sha256'], reordered: false },
    ])
  })

  it('reads the software from a banner', () => {
    assert.equal(softwareOf('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'), 'OpenSSH_9.2p1 Debian-2+deb12u3')
    assert.equal(softwareOf('SSH-1.99-Cisco-1.25'), 'Cisco-1.25')
    assert.equal(softwareOf('not a banner'), 'not a banner')
    assert.equal(softwareOf(null), null)
  })

  it('audits an empty fleet to nothing', () => {
    assert.deepEqual(auditFleet([]), { hostCount: 0, summary: { weak: [], noPostQuantumKex: [], terrapin: [] }, lists: [
      { list: 'kex', direction: 'both', algorithms: [] },
      { list: 'hostkey', direction: 'both', algorithms: [] },
      { list: 'ciphers', direction: 'both', algorithms: [] },
      { list: 'macs', direction: 'both', algorithms: [] },
      { list: 'compression', direction: 'both', algorithms: [] },
    ], keys: [], configurations: [], groups: [], deviants: [] })
  })

  it('folds 20,000 hosts of three configurations', () => {
    const hosts = Array.from({ length: 20_000 }, (_, i) => host(`10.0.${i >> 8}.${i & 255}`, variants[i % 7 === 0 ? 1 : i % 11 === 0 ? 2 : 0]!))
    const audit = auditFleet(hosts)
    assert.equal(audit.configurations.length, 3)
    assert.equal(audit.configurations.reduce((n, c) => n + c.hosts.length, 0), 20_000)
    assert.equal(audit.deviants.length, audit.configurations[1]!.hosts.length + audit.configurations[2]!.hosts.length)
    assert.equal(audit.configurations[0]!.hosts[1], '10.0.0.2', 'numeric order: 10.0.0.2 before 10.0.0.10')
  })
})
