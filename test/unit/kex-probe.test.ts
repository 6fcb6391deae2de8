import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { KexProbeSession, type KexStep } from '../../src/ssh/kex-probe.js'
import { groupsForFamilies } from '../../src/ssh/probe-groups.js'
import { sshMagnitudeMpint as mpint, SshReader } from '../../src/domain/ssh-wire.js'
import { readPacket } from '../../src/ssh/binary-packet.js'
import { serverGreeting, sshPacket, sshString } from '../support/ssh-wire.js'
import { syntheticBlob } from '../support/synthetic-keys.js'

/* The probe's state machine, fed server bytes directly: what it writes, how it ends. */

const ED25519 = syntheticBlob('ed25519', 'kex-probe')
const RSA = syntheticBlob('rsa', 'kex-probe', 2048)

/** A server reply: message `type`, K_S, then whatever follows (here, junk the probe never reads). */
function reply(blob: Buffer, type = 31): Buffer {
  return sshPacket(Buffer.concat([Buffer.from([type]), sshString(blob), sshString(randomBytes(32)), sshString(randomBytes(64))]))
}

/** The packets in bytes the probe wrote, as payloads. */
function packetsOf(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  while (at < bytes.length) {
    const packet = readPacket(bytes, at)
    assert.equal(packet.kind, 'packet', JSON.stringify(packet))
    if (packet.kind !== 'packet') break
    assert.equal((packet.end - at) % 8, 0, 'packets are a multiple of 8 bytes')
    out.push(packet.payload)
    at = packet.end
  }
  return out
}

function kexinitLists(payload: Buffer): string[][] {
  assert.equal(payload[0], 20)
  const reader = new SshReader(payload, 'our KEXINIT', { start: 17 })
  return Array.from({ length: 10 }, (_, i) => reader.nameList(`list ${i + 1}`))
}

function session(families: Parameters<typeof groupsForFamilies>[0] = null): KexProbeSession {
  return new KexProbeSession(groupsForFamilies(families))
}

describe('key-exchange probe session', () => {
  it('sends its identification and KEXINIT at once, then the chosen method\'s first message', () => {
    const probe = session()
    const start = probe.start()
    const identification = 'SSH-2.0-hostkeys\r\n'
    assert.equal(start.subarray(0, identification.length).toString('latin1'), identification)
    const [kexinit] = packetsOf(start.subarray(identification.length))
    const lists = kexinitLists(kexinit!)
    assert.equal(lists[0]![0], 'curve25519-sha256', 'the cheapest method first')
    assert.ok(!lists[0]!.some((name) => name.startsWith('sntrup') || name.startsWith('mlkem')), 'no post-quantum hybrid')
    assert.equal(lists[1]![0], 'ssh-ed25519-cert-v01@openssh.com', 'certificates asked for first')
    assert.ok(lists[1]!.includes('rsa-sha2-512'))
    for (const list of [2, 3]) assert.ok(lists[list]!.includes('aes128-ctr') && lists[list]!.includes('3des-cbc'))
    const step = probe.push(serverGreeting({ kex: 'sntrup761x25519-sha512@openssh.com,ecdh-sha2-nistp256,diffie-hellman-group14-sha256', cipher: 'aes256-gcm@openssh.com' }))
    assert.equal(step.outcome, null)
    const [init] = packetsOf(step.write!)
    assert.equal(init![0], 30)
    assert.equal(new SshReader(init!, 'KEX_ECDH_INIT', { start: 1 }).string('Q_C').length, 65, 'an uncompressed P-256 point: the server picks the first of our methods it has')
  })

  it('fails, naming the list, when the server has no cipher in common with any known one', () => {
    const step = session().push(serverGreeting({ cipher: 'made-up-cipher@example.com' }))
    assert.match(step.outcome?.kind === 'failed' ? step.outcome.detail : '', /no ciphers in common; the server offers made-up-cipher@example.com/)
  })

  it('takes the key from the reply and ends', () => {
    const probe = session()
    probe.push(serverGreeting())
    const step = probe.push(reply(ED25519))
    assert.equal(step.outcome?.kind, 'key')
    if (step.outcome?.kind !== 'key') return
    assert.equal(step.outcome.key.sha256, describeKey(ED25519).sha256)
    assert.equal(step.outcome.key.certificate, undefined)
    assert.equal(step.outcome.kex, 'curve25519-sha256')
    assert.deepEqual(probe.push(reply(ED25519)), { write: null, outcome: null }, 'nothing after the end')
  })

  it('reads the same outcome from bytes arriving one at a time', () => {
    const probe = session(['rsa'])
    const bytes = Buffer.concat([serverGreeting({ serverHostKey: 'rsa-sha2-512,rsa-sha2-256' }), reply(RSA)])
    let last: KexStep = { write: null, outcome: null }
    for (let i = 0; i < bytes.length && last.outcome === null; i++) last = probe.push(bytes.subarray(i, i + 1))
    assert.equal(last.outcome?.kind, 'key')
    if (last.outcome?.kind === 'key') {
      assert.equal(last.outcome.key.type, 'ssh-rsa', 'rsa-sha2-512 sends a key typed ssh-rsa')
      assert.equal(last.outcome.algorithm, 'rsa-sha2-512')
    }
  })

  it('skips IGNORE and DEBUG packets before the reply, also in the chunk that carries KEXINIT', () => {
    const probe = session()
    const ignore = sshPacket(Buffer.concat([Buffer.from([2]), sshString('x')]))
    const step = probe.push(Buffer.concat([serverGreeting(), ignore]))
    assert.equal(step.outcome, null)
    assert.ok(step.write)
    assert.equal(probe.push(Buffer.concat([ignore, reply(ED25519)])).outcome?.kind, 'key')
  })

  it('says not-offered when the server has none of the algorithms asked for', () => {
    const step = session(['dsa']).push(serverGreeting({ serverHostKey: 'ssh-ed25519' }))
    assert.deepEqual(step.outcome, { kind: 'not-offered' })
    assert.equal(step.write, null)
  })

  it('fails, naming the server\'s methods, when no key exchange is in common', () => {
    const step = session().push(serverGreeting({ kex: 'mlkem768x25519-sha256' }))
    assert.equal(step.outcome?.kind, 'failed')
    assert.match(step.outcome?.kind === 'failed' ? step.outcome.detail : '', /no key exchange method in common; the server offers mlkem768x25519-sha256/)
  })

  const failures: [string, Buffer, RegExp][] = [
    ['a key of another type than negotiated', reply(RSA), /server sent a ssh-rsa key where ssh-ed25519 was negotiated/],
    ['a certificate where the plain key was negotiated', reply(Buffer.concat([sshString('ssh-ed25519-cert-v01@openssh.com'), sshString('x')])), /ssh-ed25519-cert-v01@openssh.com key where ssh-ed25519 was negotiated/],
    ['a malformed key', reply(Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31))])), /malformed host key: ssh-ed25519 key is not 32 bytes/],
    ['a DISCONNECT', sshPacket(Buffer.concat([Buffer.from([1]), Buffer.from([0, 0, 0, 3]), sshString('Unable to negotiate\x1b[31m'), sshString('')])), /server disconnected during key exchange \(code 3\): Unable to negotiate\\x1b\[31m/],
    ['another message', sshPacket(Buffer.from([21, 0, 0, 0, 0])), /expected message 31 during curve25519-sha256 key exchange, got message 21/],
    ['a reply whose key runs past the message', sshPacket(Buffer.concat([Buffer.from([31, 0, 0, 1, 0]), Buffer.alloc(8)])), /malformed message 31 during curve25519-sha256 key exchange: key exchange reply: host key: string length 256 exceeds the 8 bytes left/],
    ['a huge packet length', Buffer.from([0x7f, 0, 0, 0, 4]), /packet length 2130706432 exceeds 35000 bytes/],
    ['padding that does not fit', Buffer.concat([Buffer.from([0, 0, 0, 12, 200]), Buffer.alloc(11)]), /padding length 200 does not fit/],
  ]
  for (const [what, bytes, error] of failures) {
    it(`fails on ${what}`, () => {
      const probe = session(['ed25519'])
      probe.push(serverGreeting())
      const step = probe.push(bytes)
      assert.equal(step.outcome?.kind, 'failed')
      assert.match(step.outcome?.kind === 'failed' ? step.outcome.detail : '', error)
    })
  }

  it('ends after a bounded number of ignorable packets', () => {
    const probe = session()
    probe.push(serverGreeting())
    const ignore = sshPacket(Buffer.concat([Buffer.from([2]), sshString('')]))
    const step = probe.push(Buffer.concat(Array.from({ length: 17 }, () => ignore)))
    assert.match(step.outcome?.kind === 'failed' ? step.outcome.detail : '', /more than 16 ignorable packets/)
  })

  describe('group exchange (RFC 4419)', () => {
    const greeting = serverGreeting({ kex: 'diffie-hellman-group-exchange-sha256' })

    it('asks for a group, answers the group with its init, takes the key from message 33', () => {
      const probe = session(['ed25519'])
      const [request] = packetsOf(probe.push(greeting).write!)
      assert.equal(request![0], 34)
      const reader = new SshReader(request!, 'KEX_DH_GEX_REQUEST', { start: 1 })
      assert.deepEqual([reader.uint32('min'), reader.uint32('n'), reader.uint32('max')], [2048, 2048, 8192])
      // A real 2048-bit safe prime: RFC 3526 group 14.
      const p = Buffer.from(
        'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF',
        'hex',
      )
      const group = sshPacket(Buffer.concat([Buffer.from([31]), mpint(p), mpint(Buffer.from([2]))]))
      const step = probe.push(group)
      assert.equal(step.outcome, null)
      const [init] = packetsOf(step.write!)
      assert.equal(init![0], 32)
      const e = new SshReader(init!, 'KEX_DH_GEX_INIT', { start: 1 }).unsignedMpint('e', 257)
      assert.ok(e.length > 200 && e.length <= 256, 'e is a 2048-bit value')
      assert.equal(probe.push(reply(ED25519, 31)).outcome?.kind, 'failed', 'a second group message is out of order')
    })

    it('refuses a group smaller than 1024 bits', () => {
      const probe = session(['ed25519'])
      probe.push(greeting)
      const step = probe.push(sshPacket(Buffer.concat([Buffer.from([31]), mpint(Buffer.from('ffffffffffffffc5', 'hex')), mpint(Buffer.from([2]))])))
      assert.match(step.outcome?.kind === 'failed' ? step.outcome.detail : '', /smaller than 1024 bits/)
    })

    it('takes the key from the reply after its group', () => {
      const probe = session(['ed25519'])
      probe.push(greeting)
      const p = Buffer.from(`ff${'ab'.repeat(127)}`, 'hex')
      probe.push(sshPacket(Buffer.concat([Buffer.from([31]), mpint(p), mpint(Buffer.from([5]))])))
      const step = probe.push(reply(ED25519, 33))
      assert.equal(step.outcome?.kind, 'key')
    })
  })

  it('never throws, whatever follows the KEXINIT', () => {
    const valid = reply(ED25519)
    for (let i = 0; i < 3000; i++) {
      const probe = session()
      probe.push(serverGreeting())
      const mutated = Buffer.from(valid)
      for (let j = 0; j < 1 + (i % 4); j++) mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256)
      const cut = i % 3 === 0 ? mutated.subarray(0, Math.floor(Math.random() * mutated.length)) : mutated
      assert.doesNotThrow(() => probe.push(cut))
    }
  })
})

describe('key-exchange probe session: security-key host keys', () => {
  it('asks for them when every family is wanted, and takes one as the ed25519-sk family', () => {
    const pk = Buffer.alloc(32, 9)
    const blob = Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(pk), sshString('ssh:')])
    const probe = session()
    const lists = kexinitLists(packetsOf(probe.start().subarray('SSH-2.0-hostkeys\r\n'.length))[0]!)
    assert.ok(lists[1]!.includes('sk-ssh-ed25519@openssh.com') && lists[1]!.includes('sk-ecdsa-sha2-nistp256-cert-v01@openssh.com'))
    probe.push(serverGreeting({ serverHostKey: 'sk-ssh-ed25519@openssh.com' }))
    const step = probe.push(reply(blob))
    assert.equal(step.outcome?.kind, 'key')
    if (step.outcome?.kind !== 'key') return
    assert.equal(step.outcome.key.family, 'ed25519-sk')
    assert.equal(step.outcome.key.type, 'sk-ssh-ed25519@openssh.com')
  })
})
