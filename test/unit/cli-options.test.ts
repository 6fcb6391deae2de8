import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from 'commander'
import { main } from '../../src/cli/main.js'
import { parseDuration, parseFingerprintHash, parsePortOption, parsePositiveInteger, parseSeconds } from '../../src/cli/options.js'
import { capturedStreams } from '../support/captured-streams.js'

/* Option parsing, in process: each case is a parse, not a spawned executable. Every case here fails
 * before a scan could start, or is --list, which contacts nothing; scans run in test/integration. */

async function hostkeys(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const streams = capturedStreams()
  const { stdout, stderr } = streams
  const input = new PassThrough()
  input.end(stdin)
  // HOSTKEYS_DB names a directory that must never appear: nothing here may open a database.
  const code = await main(['node', 'hostkeys', ...args], { stdout, stderr, stdin: input, env: { HOSTKEYS_DB: join(dir, 'never-created') } })
  return { code, ...streams.written() }
}

const dir = mkdtempSync(join(tmpdir(), 'hostkeys-options-'))

describe('numeric option parsers say the range they accept', () => {
  const cases: [(text: string) => unknown, string, RegExp][] = [
    [parseSeconds, '0', /'0' is not a number of seconds greater than 0 and at most 3600/],
    [parseSeconds, '3601', /greater than 0 and at most 3600/],
    [parseSeconds, '-1', /greater than 0 and at most 3600/],
    [parseSeconds, '.5', /greater than 0 and at most 3600/],
    [parsePositiveInteger, '0', /'0' is not a whole number of 1 or more/],
    [parsePositiveInteger, '2.5', /whole number of 1 or more/],
    [parsePortOption, '0', /'0' is not a port \(1-65535\)/],
    [parsePortOption, '65536', /not a port \(1-65535\)/],
    [parseDuration, '90', /'90' is not a duration: a whole number and one of the units s, m, h, d, w \(90d, 12w\), from 0s to 36500d/],
    [parseDuration, '36501d', /from 0s to 36500d/],
    [parseDuration, '5215w', /from 0s to 36500d/],
    [parseFingerprintHash, 'sha1', /'sha1' is not one of sha256, md5/],
  ]
  for (const [parse, text, message] of cases) {
    it(`${parse.name}('${text}') is refused`, () => {
      assert.throws(() => parse(text), (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message))
    })
  }

  it('takes both ends of each range', () => {
    assert.equal(parseSeconds('0.001'), 0.001)
    assert.equal(parseSeconds('3600'), 3600)
    assert.equal(parsePositiveInteger('1'), 1)
    assert.equal(parsePortOption('1'), 1)
    assert.equal(parsePortOption('65535'), 65535)
    assert.equal(parseDuration('0s'), 0)
    assert.equal(parseDuration('36500d'), 36500 * 86400 * 1000)
    assert.equal(parseDuration('5214w'), 5214 * 7 * 86400 * 1000)
    assert.equal(parseFingerprintHash('MD5'), 'md5', 'case-insensitive, as ssh-keygen -E')
  })

  it('-T 0 reaches the user as a usage error naming the option and the range', async () => {
    const result = await hostkeys(['scan', '--no-store', '--no-dns', '-T', '0', '127.61.255.254'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /option '-T, --timeout <seconds>' argument '0' is invalid\. '0' is not a number of seconds greater than 0 and at most 3600/)
  })
})

describe('scan output flags', () => {
  it('scan --help lists the --format and -E choices and the new flags', async () => {
    const result = await hostkeys(['scan', '--help'])
    assert.equal(result.code, 0)
    assert.match(result.stdout, /--format <format> +output format \(choices: "text", "json",\s+"known_hosts", default: "text"\)/)
    assert.match(result.stdout, /-E, --fingerprint-hash <hash>[^]*\(choices: "sha256", "md5", default:\s+"sha256"\)/)
    assert.match(result.stdout, /-H, --hash /)
    assert.match(result.stdout, /-D, --sshfp /)
    assert.match(result.stdout, /--list /)
  })

  const refused: [string[], RegExp][] = [
    [['--hash'], /--hash hashes host names in known_hosts lines; it does not apply to --format text \(use it with --format known_hosts\)/],
    [['-H', '--format', 'json'], /--hash .* does not apply to --format json/],
    [['-D', '--format', 'known_hosts'], /-D prints SSHFP records, an output format of its own; it cannot be combined with --format known_hosts/],
    [['-D', '--format', 'text'], /cannot be combined with --format text/],
    [['-D', '-H'], /--hash .* does not apply to -D/],
    [['-E', 'md5', '--format', 'json'], /-E chooses the fingerprint shown in text output; it does not apply to --format json, which gives both sha256 and md5/],
    [['-E', 'sha256', '--format', 'known_hosts'], /-E .* does not apply to --format known_hosts/],
    [['-E', 'md5', '-D'], /-E .* does not apply to -D/],
    [['-E', 'sha1'], /'sha1' is not one of sha256, md5/],
    [['--format', 'xml'], /'xml' is not one of text, json, known_hosts/],
    [['--list', '--hash'], /--hash .* does not apply to --format text/],
  ]
  for (const [flags, message] of refused) {
    it(`scan ${flags.join(' ')} is a usage error (exit 2)`, async () => {
      const result = await hostkeys(['scan', '--no-store', '--no-dns', ...flags, '127.61.255.254'])
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, message)
      assert.equal(result.stdout, '')
    })
  }
})

describe('scan --list', () => {
  it('prints the targets the arguments and files expand to, contacting nothing', async () => {
    const file = join(dir, 'hosts.txt')
    writeFileSync(file, '# web\n192.0.2.10,192.0.2.11 web1.example.com,www.example.com\n198.51.100.0/31\n[2001:db8::1]:2200 v6.example.com\nDB1.example.com\n')
    const result = await hostkeys(['scan', '--list', '-p', '2222', '-f', file, 'lb.example.com:22', '--resolver', '192.0.2.53', '--quiet'])
    assert.equal(result.code, 0, result.stderr)
    const row = (host: string, address: string, port: number, aliases = '') =>
      `${host.padEnd(28)} ${address.padEnd(39)} ${String(port).padEnd(5)} ${aliases}`.trimEnd()
    assert.deepEqual(result.stdout.split('\n'), [
      `${'HOST'.padEnd(28)} ${'ADDRESS'.padEnd(39)} ${'PORT'.padEnd(5)} ALIASES`,
      row('lb.example.com', 'lb.example.com', 22),
      row('[web1.example.com]:2222', '192.0.2.10', 2222, '192.0.2.11,www.example.com'),
      row('[198.51.100.0]:2222', '198.51.100.0', 2222),
      row('[198.51.100.1]:2222', '198.51.100.1', 2222),
      row('[v6.example.com]:2200', '2001:db8::1', 2200),
      row('[db1.example.com]:2222', 'db1.example.com', 2222),
      '',
    ])
    assert.equal(result.stderr, 'hostkeys: 6 target(s); no host, DNS server or database was contacted\n')
    assert.ok(!existsSync(join(dir, 'never-created')), 'no database was opened')
  })

  it('reads stdin as scan does', async () => {
    const result = await hostkeys(['scan', '--list', '-f', '-'], '127.0.0.1 localhost.example\n')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^localhost\.example +127\.0\.0\.1 +22$/m)
  })

  it('stops at a malformed line with its file:line and exit 2, printing no target', async () => {
    const file = join(dir, 'bad.txt')
    writeFileSync(file, '192.0.2.10\n192.0.2.11:notaport\n')
    const result = await hostkeys(['scan', '--list', '-f', file])
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, new RegExp(`${file}:2: 'notaport' in '192\\.0\\.2\\.11:notaport' is not a port`))
  })

  it('needs a target, as scan does', async () => {
    const result = await hostkeys(['scan', '--list'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /needs at least one target/)
  })
})
