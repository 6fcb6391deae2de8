import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { auditFleet } from '../../src/analysis/fleet-audit.js'
import type { AuditedHost } from '../../src/domain/fleet-audit.js'
import type { OfferedAlgorithms } from '../../src/domain/observation.js'
import { hasshServer } from '../../src/domain/fingerprint/hassh.js'
import { renderAuditJson, renderAuditText } from '../../src/report/audit-report.js'
import { OPENSSH_92_BANNER, OPENSSH_92_DEFAULT, OPENSSH_92_HARDENED } from '../support/kexinit-fixtures.js'

/* What `hostkeys audit` prints, for a Debian 12 fleet read from real sshd (test/support/kexinit-fixtures.ts). */

const ED25519 = { type: 'ssh-ed25519', bits: 256 } as const
const RSA3072 = { type: 'ssh-rsa', bits: 3072 } as const
const RSA2048 = { type: 'ssh-rsa', bits: 2048 } as const
const host = (name: string, offered: OfferedAlgorithms, banner: string | null = OPENSSH_92_BANNER, keys: AuditedHost['keys'] = [ED25519, RSA3072]): AuditedHost => ({ host: name, banner, offered, keys })

const fleet: AuditedHost[] = [
  host('web1.example.com', OPENSSH_92_HARDENED),
  host('web2.example.com', OPENSSH_92_HARDENED),
  host('web10.example.com', OPENSSH_92_HARDENED),
  host('web3.example.com', OPENSSH_92_DEFAULT, OPENSSH_92_BANNER, [ED25519, RSA2048]),
  host('old1.example.com', { ...OPENSSH_92_DEFAULT, kex: ['diffie-hellman-group14-sha1', 'curve25519-sha256'] }, 'SSH-2.0-OpenSSH_7.4'),
  host('old2.example.com', OPENSSH_92_DEFAULT, 'SSH-2.0-OpenSSH_7.4'),
]

/** The lines of one section: from its title to the next blank line. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => l.startsWith(title))
  assert.ok(start >= 0, `no section ${title} in:\n${text}`)
  const end = lines.indexOf('', start)
  return lines.slice(start + 1, end === -1 ? undefined : end)
}

describe('audit text', () => {
  const audit = auditFleet(fleet)
  const text = renderAuditText(audit)
  const [hardened, defaults] = [hasshServer(OPENSSH_92_HARDENED), hasshServer(OPENSSH_92_DEFAULT)]
  const idOf = (name: string) => audit.configurations.find((c) => c.hosts.includes(name))!.id

  it('opens with the counts', () => {
    assert.equal(text.split('\n')[0], 'hostkeys audit: 6 hosts, 4 configurations, 2 software groups, 1 deviant')
  })

  it('summarises weak, classical and Terrapin-prone hosts, naming why each weak algorithm is weak', () => {
    assert.deepEqual(section(text, 'SUMMARY'), [
      '  weak algorithms            1/6  old1.example.com',
      '      diffie-hellman-group14-sha1  SHA-1 key exchange (RFC 9142: SHOULD NOT)',
      '  no post-quantum kex        1/6  old1.example.com',
      '  Terrapin (CVE-2023-48795)  1/6  old1.example.com',
    ])
  })

  it('lists each algorithm with a tag, how many hosts offer it and which, aligned down the section', () => {
    const lines = section(text, 'ALGORITHMS')
    assert.deepEqual(lines.filter((l) => !l.startsWith('    ')), ['  kex', '  hostkey', '  ciphers', '  macs', '  compression'])
    const row = (name: string) => lines.find((l) => l.trimStart().startsWith(`${name} `))!.trim().split(/\s{2,}/)
    assert.deepEqual(row('curve25519-sha256'), ['curve25519-sha256', '6/6', 'all'])
    assert.deepEqual(row('curve25519-sha256@libssh.org'), ['curve25519-sha256@libssh.org', '5/6', 'all but old1.example.com'])
    assert.deepEqual(row('sntrup761x25519-sha512@openssh.com'), ['sntrup761x25519-sha512@openssh.com', 'pq', '5/6', 'all but old1.example.com'])
    assert.deepEqual(row('kex-strict-s-v00@openssh.com'), ['kex-strict-s-v00@openssh.com', 'marker', '5/6', 'all but old1.example.com'])
    assert.deepEqual(row('diffie-hellman-group14-sha1'), ['diffie-hellman-group14-sha1', 'weak', '1/6', 'old1.example.com'])
    assert.deepEqual(row('ecdsa-sha2-nistp256'), ['ecdsa-sha2-nistp256', '3/6', 'old1.example.com, old2.example.com, web3.example.com'])
    const rows = lines.filter((l) => l.startsWith('    '))
    assert.equal(new Set(rows.map((l) => l.indexOf('/6'))).size, 1, `the count column is aligned:\n${rows.join('\n')}`)
  })

  it('lists host keys by type and size', () => {
    assert.deepEqual(section(text, 'HOST KEYS'), ['  ssh-ed25519 256  6/6  all', '  ssh-rsa 3072     5/6  all but web3.example.com', '  ssh-rsa 2048     1/6  web3.example.com'])
  })

  it('lists configurations with their HASSH, banner and hosts, most common first', () => {
    const lines = section(text, 'CONFIGURATIONS')
    assert.match(lines[0]!, /^ {2}ID {17}HOSTS {2}HASSH {29}BANNER$/)
    assert.equal(lines[1], `  ${idOf('web1.example.com')}  3      ${hardened}  ${OPENSSH_92_BANNER}`)
    assert.equal(lines[2], '      web1.example.com, web2.example.com, web10.example.com')
    assert.ok(lines.includes(`  ${idOf('web3.example.com')}  1      ${defaults}  ${OPENSSH_92_BANNER}`), lines.join('\n'))
    assert.equal(lines.length, 1 + 2 * 4)
  })

  it('says for each software group which configuration most of it shares, or that none does', () => {
    assert.deepEqual(section(text, 'SOFTWARE GROUPS'), [
      `  OpenSSH_9.2p1 Debian-2+deb12u10  4 hosts  majority ${idOf('web1.example.com')} (3 of 4)`,
      '  OpenSSH_7.4                      2 hosts  no majority: its 2 configurations have 1 and 1 hosts',
    ])
  })

  it('names each deviant and what it offers more (+) or less (-) than its group\'s majority', () => {
    assert.deepEqual(section(text, 'DEVIANTS'), [
      `  web3.example.com: ${idOf('web3.example.com')}, majority ${idOf('web1.example.com')} (OpenSSH_9.2p1 Debian-2+deb12u10)`,
      '      kex: +sntrup761x25519-sha512 +ecdh-sha2-nistp256 +ecdh-sha2-nistp384 +ecdh-sha2-nistp521 +diffie-hellman-group14-sha256',
      '      hostkey: +ecdsa-sha2-nistp256',
      '      ciphers: same names, another order',
      '      macs: +umac-64-etm@openssh.com +hmac-sha1-etm@openssh.com +umac-64@openssh.com +umac-128@openssh.com +hmac-sha2-256 +hmac-sha2-512 +hmac-sha1',
    ])
  })

  it('shows a banner that differs, a list split by direction, and missing names', () => {
    const lopsided: OfferedAlgorithms = { ...OPENSSH_92_HARDENED, macs: { clientToServer: ['hmac-sha2-256-etm@openssh.com'], serverToClient: OPENSSH_92_HARDENED.macs.serverToClient } }
    const out = renderAuditText(auditFleet([host('a', OPENSSH_92_HARDENED), host('b', OPENSSH_92_HARDENED), host('c', lopsided, 'SSH-1.99-OpenSSH_9.2p1 Debian-2+deb12u10')]))
    const deviants = section(out, 'DEVIANTS')
    assert.equal(deviants[1], `      banner: SSH-1.99-OpenSSH_9.2p1 Debian-2+deb12u10 (majority: ${OPENSSH_92_BANNER})`)
    assert.equal(deviants[2], '      macs (client to server): -hmac-sha2-512-etm@openssh.com -umac-128-etm@openssh.com')
    assert.ok(section(out, 'ALGORITHMS').includes('  macs (server to client)'))
  })

  it('names the hosts of one deviant configuration together, what differs once, up to 20 of them', () => {
    const hosts = [
      ...Array.from({ length: 30 }, (_, i) => host(`a${i + 1}`, OPENSSH_92_HARDENED)),
      ...Array.from({ length: 25 }, (_, i) => host(`b${i + 1}`, OPENSSH_92_DEFAULT)),
    ]
    const out = renderAuditText(auditFleet(hosts))
    const deviants = section(out, 'DEVIANTS')
    assert.match(deviants[0]!, /^ {2}b1, b2, b3, .*, b20 … and 5 more \(--format json names them all\): [0-9a-f-]{17}, majority [0-9a-f-]{17} \(OpenSSH_9\.2p1 Debian-2\+deb12u10\)$/)
    assert.equal(deviants.filter((l) => l.startsWith('      kex:')).length, 1)
    assert.equal(out.split('\n')[0], 'hostkeys audit: 55 hosts, 2 configurations, 1 software group, 25 deviants')
  })

  it('cuts long host lists: the first few and how many more', () => {
    const many = Array.from({ length: 12 }, (_, i) => host(`h${i + 1}`, i < 6 ? OPENSSH_92_HARDENED : OPENSSH_92_DEFAULT))
    const out = renderAuditText(auditFleet(many))
    assert.ok(section(out, 'HOST KEYS').includes('  ssh-ed25519 256  12/12  all'))
    assert.ok(section(out, 'ALGORITHMS').some((l) => /ecdh-sha2-nistp256 +6\/12 +h7, h8, h9, h10 … and 2 more$/.test(l)))
    assert.deepEqual(section(out, 'SOFTWARE GROUPS'), ['  OpenSSH_9.2p1 Debian-2+deb12u10  12 hosts  no majority: its 2 configurations have 6 and 6 hosts'])
    assert.deepEqual(section(out, 'DEVIANTS'), ['  none'])
  })

  it('one host: named, not "all"; no banner: the unknown group', () => {
    const out = renderAuditText(auditFleet([host('lone', OPENSSH_92_HARDENED, null)]))
    assert.ok(section(out, 'HOST KEYS').includes('  ssh-ed25519 256  1/1  lone'))
    assert.match(section(out, 'SOFTWARE GROUPS')[0]!, /^ {2}unknown \(no banner\) {2}1 host {2}one configuration, [0-9a-f]{8}-[0-9a-f]{8}$/)
    assert.match(section(out, 'CONFIGURATIONS')[1]!, /\(none\)$/)
  })

  it('says when there is nothing to audit', () => {
    assert.equal(renderAuditText(auditFleet([])), 'hostkeys audit: no host with a recorded key exchange offer (KEXINIT) to audit; scan some first')
  })
})

describe('audit JSON', () => {
  const audit = auditFleet(fleet)
  const doc = JSON.parse(renderAuditJson(audit))

  it('has the documented fields, hosts as arrays and their sizes as count', () => {
    assert.deepEqual(Object.keys(doc), ['hostCount', 'summary', 'lists', 'keys', 'configurations', 'groups', 'deviants'])
    assert.equal(doc.hostCount, 6)
    assert.deepEqual(Object.keys(doc.summary), ['weak', 'noPostQuantumKex', 'terrapin'])
    assert.deepEqual(Object.keys(doc.lists[0]), ['list', 'direction', 'algorithms'])
    assert.deepEqual(doc.lists[0].algorithms.find((a: { name: string }) => a.name === 'diffie-hellman-group14-sha1'), {
      name: 'diffie-hellman-group14-sha1',
      count: 1,
      hosts: ['old1.example.com'],
      weak: 'SHA-1 key exchange (RFC 9142: SHOULD NOT)',
      postQuantum: false,
      marker: false,
    })
    assert.deepEqual(doc.keys[0], { type: 'ssh-ed25519', bits: 256, count: 6, hosts: ['old1.example.com', 'old2.example.com', 'web1.example.com', 'web2.example.com', 'web3.example.com', 'web10.example.com'] })
    const [first] = doc.configurations
    assert.deepEqual(Object.keys(first), ['id', 'hassh', 'banner', 'software', 'count', 'hosts', 'offered'])
    assert.deepEqual(first.offered, OPENSSH_92_HARDENED)
    assert.equal(first.count, 3)
    assert.deepEqual(doc.groups[1], { software: 'OpenSSH_7.4', count: 2, majority: null, configurations: doc.groups[1].configurations })
    assert.deepEqual(Object.keys(doc.groups[1].configurations[0]), ['id', 'count'])
    assert.deepEqual(Object.keys(doc.deviants[0]), ['host', 'software', 'configuration', 'majority', 'bannerDiffers', 'differences'])
    assert.deepEqual(doc.deviants[0].differences[2], { list: 'ciphers', direction: 'both', added: [], missing: [], reordered: true })
  })

  it('every count is the length of its hosts', () => {
    for (const s of doc.lists) for (const a of s.algorithms) assert.equal(a.count, a.hosts.length)
    for (const k of doc.keys) assert.equal(k.count, k.hosts.length)
    for (const c of doc.configurations) assert.equal(c.count, c.hosts.length)
  })

  it('is the same whatever order the hosts come in', () => {
    const reversed = renderAuditJson(auditFleet([...fleet].reverse()))
    assert.equal(reversed, renderAuditJson(audit))
    assert.equal(renderAuditText(auditFleet([...fleet].reverse())), renderAuditText(audit))
  })
})
