import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isDnsName, sameDnsName, toAbsoluteName } from '../../src/domain/dns-name.js'
import { UserError } from '../../src/domain/errors.js'

describe('isDnsName: which identities get an SSHFP lookup', () => {
  const cases: [string, boolean][] = [
    ['web1.example.com', true],
    ['web1.example.com.', true],
    ['localhost', true],
    ['_ssh.example.com', true],
    ['xn--bcher-kva.example', true],
    ['192.0.2.1', false],
    ['127.1', false], // inet_aton form: getaddrinfo(AI_NUMERICHOST) takes it, OpenSSH skips it
    ['2130706433', false],
    ['::1', false],
    ['[2001:db8::1]', false],
    ['fe80::1%eth0', false],
    ['[web1.example.com]:2222', false],
    ['web 1', false],
    ['', false],
  ]
  for (const [host, expected] of cases) {
    it(`${JSON.stringify(host)} -> ${expected}`, () => assert.equal(isDnsName(host), expected))
  }
})

describe('toAbsoluteName', () => {
  it('adds the final dot once', () => {
    assert.equal(toAbsoluteName('web1.example.com'), 'web1.example.com.')
    assert.equal(toAbsoluteName('web1.example.com.'), 'web1.example.com.')
  })
  it('throws a UserError that names the input', () => {
    assert.throws(() => toAbsoluteName('a\tb'), (e: unknown) => e instanceof UserError && e.message.includes('"a\\tb"') && /tab/.test(e.message))
  })
})

describe('sameDnsName', () => {
  it('ignores case and the final dot (RFC 4343)', () => {
    assert.ok(sameDnsName('WEB1.example.COM.', 'web1.example.com'))
    assert.ok(!sameDnsName('web1.example.com', 'web2.example.com'))
  })
})
