import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { algorithmFindings, isTerrapinVulnerable } from '../../src/analysis/algorithm-findings.js'
import type { OfferedAlgorithms } from '../../src/domain/observation.js'
import { readServerHello } from '../../src/ssh/kexinit.js'
import { serverGreeting, type KexinitLists } from '../support/ssh-wire.js'

/* Algorithm findings from KEXINITs as servers send them (read by the same reader the probe uses). */

const MODERN_KEX = 'sntrup761x25519-sha512@openssh.com,curve25519-sha256,kex-strict-s-v00@openssh.com'

function offered(lists: KexinitLists): OfferedAlgorithms {
  const hello = readServerHello(serverGreeting(lists))
  assert.equal(hello.kind, 'kexinit')
  return hello.kind === 'kexinit' ? hello.offered : (null as never)
}

const kinds = (lists: KexinitLists) => algorithmFindings('web1', offered(lists)).map((f) => `${f.severity} ${f.kind}`)

describe('algorithm findings', () => {
  const cases: [string, KexinitLists, string[]][] = [
    ['OpenSSH 9.6 defaults: nothing', { kex: MODERN_KEX, cipher: 'chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com', mac: 'umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1' }, []],
    ['chacha20 without the strict-kex marker: Terrapin', { kex: 'sntrup761x25519-sha512@openssh.com,curve25519-sha256', cipher: 'chacha20-poly1305@openssh.com,aes128-ctr' }, ['warning terrapin']],
    ['CBC with an encrypt-then-MAC MAC, no marker: Terrapin (and CBC is weak)', { kex: 'sntrup761x25519-sha512@openssh.com', cipher: 'aes128-cbc', mac: 'hmac-sha2-256-etm@openssh.com' }, ['warning terrapin', 'warning weak_algorithm']],
    ['CBC with an encrypt-and-MAC MAC only: not Terrapin, still weak', { kex: 'sntrup761x25519-sha512@openssh.com', cipher: 'aes128-cbc', mac: 'hmac-sha2-256' }, ['warning weak_algorithm']],
    ['no post-quantum kex: info', { kex: 'curve25519-sha256,kex-strict-s-v00@openssh.com' }, ['info no_pq_kex']],
    ['an old appliance: group1, DSA, 3DES, MD5', { kex: 'diffie-hellman-group1-sha1', serverHostKey: 'ssh-dss', cipher: '3des-cbc', mac: 'hmac-md5' }, ['warning weak_algorithm', 'info no_pq_kex']],
  ]
  for (const [name, lists, expected] of cases) it(name, () => assert.deepEqual(kinds(lists), expected))

  it('names each weak algorithm and why, once', () => {
    const [weak] = algorithmFindings('web1', offered({ kex: `${MODERN_KEX},diffie-hellman-group14-sha1`, cipher: 'aes128-ctr,arcfour256', mac: 'hmac-sha2-256,hmac-sha1-96', serverHostKey: 'ssh-ed25519,ssh-rsa' }))
    assert.equal(weak?.kind, 'weak_algorithm')
    assert.match(weak!.message, /diffie-hellman-group14-sha1 \(SHA-1 key exchange/)
    assert.match(weak!.message, /arcfour256 \(RC4/)
    assert.match(weak!.message, /hmac-sha1-96 \(MAC truncated to 96 bits\)/)
    assert.match(weak!.message, /ssh-rsa \(RSA signatures with SHA-1 only/)
    assert.equal(weak!.message.match(/arcfour256/g)?.length, 1, 'listed once though offered both ways')
  })

  it('ssh-rsa next to rsa-sha2-512 is not weak: clients that can, sign with SHA-512', () => {
    assert.deepEqual(kinds({ kex: MODERN_KEX, serverHostKey: 'rsa-sha2-512,rsa-sha2-256,ssh-rsa' }), [])
  })

  it('judges by the marker, never by the banner', () => {
    assert.equal(isTerrapinVulnerable(offered({ kex: 'curve25519-sha256', cipher: 'chacha20-poly1305@openssh.com' })), true)
    assert.equal(isTerrapinVulnerable(offered({ kex: 'curve25519-sha256,kex-strict-s-v00@openssh.com', cipher: 'chacha20-poly1305@openssh.com' })), false)
  })
})
