import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_PACKET_BYTES } from '../../src/ssh/binary-packet.js'
import { readServerHello, ServerHelloReader, type ServerHello } from '../../src/ssh/kexinit.js'
import { kexinitPayload, OPENSSH_BANNER, serverGreeting, sshPacket, sshString } from '../support/ssh-wire.js'

const greeting = serverGreeting()
const bannerLine = Buffer.from(`${OPENSSH_BANNER}\r\n`)
const kexinitPacket = sshPacket(kexinitPayload())

type Expect =
  | { kind: 'kexinit'; banner: string; kex?: string[]; serverHostKey?: string[] }
  | { kind: 'incomplete'; banner: string | null }
  | { kind: 'invalid'; banner?: string | null; reason: RegExp }

const cases: Array<{ name: string; input: Buffer; expect: Expect }> = [
  {
    name: 'OpenSSH-like greeting',
    input: greeting,
    expect: { kind: 'kexinit', banner: OPENSSH_BANNER, kex: ['curve25519-sha256', 'diffie-hellman-group14-sha256'], serverHostKey: ['ssh-ed25519', 'rsa-sha2-512'] },
  },
  {
    name: 'LF-only line ending (tolerated, as OpenSSH does)',
    input: Buffer.concat([Buffer.from(`${OPENSSH_BANNER}\n`), kexinitPacket]),
    expect: { kind: 'kexinit', banner: OPENSSH_BANNER },
  },
  {
    name: 'lines before the identification line (RFC 4253 §4.2)',
    input: Buffer.concat([Buffer.from('Welcome\r\n\r\nauthorised use only\r\n'), greeting]),
    expect: { kind: 'kexinit', banner: OPENSSH_BANNER },
  },
  {
    name: 'SSH-1.99 compatibility version (RFC 4253 §5.1)',
    input: serverGreeting({}, 'SSH-1.99-Cisco-1.25'),
    expect: { kind: 'kexinit', banner: 'SSH-1.99-Cisco-1.25' },
  },
  {
    name: 'legacy server: DSA only, SHA-1 kex',
    input: serverGreeting({ kex: 'diffie-hellman-group1-sha1', serverHostKey: 'ssh-dss' }, 'SSH-2.0-OpenSSH_5.3'),
    expect: { kind: 'kexinit', banner: 'SSH-2.0-OpenSSH_5.3', kex: ['diffie-hellman-group1-sha1'], serverHostKey: ['ssh-dss'] },
  },
  {
    name: 'empty host key list is parsed, not rejected',
    input: serverGreeting({ serverHostKey: '' }),
    expect: { kind: 'kexinit', banner: OPENSSH_BANNER, serverHostKey: [] },
  },
  {
    name: 'SSH_MSG_IGNORE before KEXINIT (RFC 4253 §11.2)',
    input: Buffer.concat([bannerLine, sshPacket(Buffer.concat([Buffer.from([2]), sshString('x')])), kexinitPacket]),
    expect: { kind: 'kexinit', banner: OPENSSH_BANNER },
  },
  {
    name: 'control characters in the banner are escaped',
    input: serverGreeting({}, 'SSH-2.0-evil\x1b[31m'),
    expect: { kind: 'kexinit', banner: 'SSH-2.0-evil\\x1b[31m' },
  },
  { name: 'nothing yet', input: Buffer.alloc(0), expect: { kind: 'incomplete', banner: null } },
  { name: 'half a banner', input: Buffer.from('SSH-2.0-Open'), expect: { kind: 'incomplete', banner: null } },
  { name: 'banner, no packet yet', input: bannerLine, expect: { kind: 'incomplete', banner: OPENSSH_BANNER } },
  {
    name: 'banner and half a KEXINIT',
    input: Buffer.concat([bannerLine, kexinitPacket.subarray(0, 40)]),
    expect: { kind: 'incomplete', banner: OPENSSH_BANNER },
  },
  {
    name: 'identification line of 256 bytes',
    input: Buffer.from(`SSH-2.0-${'x'.repeat(246)}\r\n`),
    expect: { kind: 'invalid', reason: /longer than 255 bytes/ },
  },
  {
    name: 'endless identification line, no LF',
    input: Buffer.from(`SSH-2.0-${'x'.repeat(10_000)}`),
    expect: { kind: 'invalid', reason: /longer than 255 bytes/ },
  },
  {
    name: 'identification line of exactly 255 bytes is fine',
    input: serverGreeting({}, `SSH-2.0-${'x'.repeat(245)}`),
    expect: { kind: 'kexinit', banner: `SSH-2.0-${'x'.repeat(245)}` },
  },
  { name: 'HTTP server', input: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), expect: { kind: 'incomplete', banner: null } },
  {
    name: 'endless junk without SSH- line',
    input: Buffer.from('hello\r\n'.repeat(2000)),
    expect: { kind: 'invalid', reason: /before an SSH identification line/ },
  },
  {
    name: 'SSH-1.5 server',
    input: Buffer.from('SSH-1.5-OpenSSH_1.2.3\r\n'),
    expect: { kind: 'invalid', banner: 'SSH-1.5-OpenSSH_1.2.3', reason: /protocol 1\.5/ },
  },
  { name: 'malformed identification', input: Buffer.from('SSH-2.0\r\n'), expect: { kind: 'invalid', reason: /malformed identification/ } },
  {
    name: 'NUL in identification',
    input: Buffer.from('SSH-2.0-a\0b\r\n'),
    expect: { kind: 'invalid', reason: /binary data/ },
  },
  {
    name: 'NUL in a line before the identification line',
    input: Buffer.from('hello\0world\r\n'),
    expect: { kind: 'invalid', reason: /binary data/ },
  },
  {
    name: 'CR not followed by LF',
    input: Buffer.from('hello\rworld\r\n'),
    expect: { kind: 'invalid', reason: /binary data/ },
  },
  {
    name: 'random binary junk',
    input: Buffer.from([0x8f, 0x11, 0x00, 0xfe, 0x0a, 0x41]),
    expect: { kind: 'invalid', reason: /binary data/ },
  },
  {
    name: 'huge packet length',
    input: Buffer.concat([bannerLine, Buffer.from([0xff, 0xff, 0xff, 0xff, 4])]),
    expect: { kind: 'invalid', banner: OPENSSH_BANNER, reason: new RegExp(`exceeds ${MAX_PACKET_BYTES}`) },
  },
  {
    name: 'packet length too short',
    input: Buffer.concat([bannerLine, Buffer.from([0, 0, 0, 1, 4])]),
    expect: { kind: 'invalid', reason: /too short/ },
  },
  {
    name: 'padding longer than packet',
    input: Buffer.concat([bannerLine, sshPacket(kexinitPayload(), { paddingLength: 250, packetLength: 64 }).subarray(0, 68)]),
    expect: { kind: 'invalid', reason: /padding length/ },
  },
  {
    name: 'first packet is not KEXINIT',
    input: Buffer.concat([bannerLine, sshPacket(Buffer.from([31, 0, 0, 0, 0]))]),
    expect: { kind: 'invalid', reason: /got message 31/ },
  },
  {
    name: 'name-list length runs past the packet',
    input: Buffer.concat([bannerLine, sshPacket(Buffer.concat([Buffer.from([20]), Buffer.alloc(16), Buffer.from([0x7f, 0xff, 0xff, 0xff])]))]),
    expect: { kind: 'invalid', reason: /^KEXINIT: kex_algorithms: string length 2147483647 exceeds the \d+ bytes left$/ },
  },
  {
    name: 'KEXINIT cut short inside its second name-list',
    input: Buffer.concat([bannerLine, sshPacket(kexinitPayload().subarray(0, 17 + 4 + 46 + 4 + 24))]),
    expect: { kind: 'invalid', reason: /^KEXINIT: server_host_key_algorithms: string length 24 exceeds the 23 bytes left$/ },
  },
  {
    name: 'empty name inside a name-list',
    input: serverGreeting({ serverHostKey: 'ssh-ed25519,,ssh-rsa' }),
    expect: { kind: 'invalid', reason: /^KEXINIT: server_host_key_algorithms: empty algorithm name$/ },
  },
  {
    name: 'non-printable algorithm name',
    input: serverGreeting({ kex: 'curve25519-sha256,\x1b]0;pwned\x07' }),
    expect: { kind: 'invalid', reason: /^KEXINIT: kex_algorithms: algorithm name with non-printable/ },
  },
  {
    name: 'too many IGNORE packets before KEXINIT',
    input: Buffer.concat([bannerLine, ...Array.from({ length: 20 }, () => sshPacket(Buffer.from([2, 0, 0, 0, 0])))]),
    expect: { kind: 'invalid', reason: /packets before KEXINIT/ },
  },
]

function check(result: ServerHello, expect: Expect): void {
  assert.equal(result.kind, expect.kind, JSON.stringify(result))
  if (expect.kind === 'kexinit' && result.kind === 'kexinit') {
    assert.equal(result.banner, expect.banner)
    if (expect.kex) assert.deepEqual(result.offered.kex, expect.kex)
    if (expect.serverHostKey) assert.deepEqual(result.offered.serverHostKey, expect.serverHostKey)
  } else if (expect.kind === 'invalid' && result.kind === 'invalid') {
    assert.match(result.reason, expect.reason)
    if (expect.banner !== undefined) assert.equal(result.banner, expect.banner)
  } else if (expect.kind === 'incomplete') {
    assert.equal(result.banner, expect.banner)
  }
}

describe('readServerHello', () => {
  for (const { name, input, expect } of cases) {
    it(`${name}: whole`, () => check(readServerHello(input), expect))
    it(`${name}: one byte at a time`, () => {
      const reader = new ServerHelloReader()
      for (let i = 0; i < input.length && !reader.done; i++) reader.push(input.subarray(i, i + 1))
      check(reader.result, expect)
    })
  }

  it('stops taking bytes once it has a verdict', () => {
    const reader = new ServerHelloReader()
    reader.push(greeting)
    const verdict = reader.result
    assert.equal(reader.push(Buffer.from('more garbage')), verdict)
  })

  it('gives up on a flood without a verdict instead of growing', () => {
    const reader = new ServerHelloReader()
    // Valid-looking maximal IGNORE packets after the banner, far beyond what a hello needs.
    reader.push(bannerLine)
    const ignore = sshPacket(Buffer.concat([Buffer.from([2]), sshString(Buffer.alloc(MAX_PACKET_BYTES - 20))]))
    let result: ServerHello = reader.result
    for (let i = 0; i < 100 && !reader.done; i++) result = reader.push(ignore)
    assert.equal(result.kind, 'invalid')
  })

  it('never throws on random bytes', () => {
    let seed = 42
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let round = 0; round < 300; round++) {
      const prefix = round % 2 ? bannerLine : Buffer.alloc(0)
      const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 600) }, () => Math.floor(random() * 256)))
      const reader = new ServerHelloReader()
      for (let i = 0; i < bytes.length; i += 7) reader.push(Buffer.concat([i === 0 ? prefix : Buffer.alloc(0), bytes.subarray(i, i + 7)]))
      assert.ok(['incomplete', 'invalid', 'kexinit'].includes(reader.result.kind))
    }
  })
})
