import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { formatChain } from '../../src/domain/jump.js'
import { parseJumpSpecs } from '../../src/inventory/jump-spec.js'
import { expandIdentityFile, optionsForHost, parseSshConfig, routeForTarget, SshConfigError, type LocalUser } from '../../src/inventory/ssh-config.js'

/* The client config reader, table-driven. Every options row is also put to OpenSSH's own reader:
 * `ssh -G -F FILE NAME` prints the options ssh would use for NAME without connecting, so the table
 * cannot drift from ssh_config(5) as OpenSSH implements it (first value wins, negated patterns,
 * case, ProxyJump and ProxyCommand sharing one value). */

const LOCAL: LocalUser = { name: 'local', home: '/home/local', hostname: 'scanner', uid: 1000 }

const CONFIG = [
  '# a comment',
  'Port 2200',
  'Host web1 web*',
  '  HostName %h.example.com',
  '  IdentityFile ~/.ssh/%r@%h',
  '  IdentityFile "%d/with space"',
  '  ProxyJump a,b',
  'Host *.example.com !bad.example.com',
  '  User alice',
  '  ProxyCommand nc %h %p',
  'Host UPPER',
  '  User up',
  'Host nj',
  '  ProxyJump none',
  '  ProxyCommand nc x',
  'Host nx',
  '  ProxyJump none',
  'Host pc',
  '  ProxyCommand none',
  '  ProxyJump a',
  'Host q?',
  '  HostName %h-%%',
  '  ProxyJump=u@[::1]:2222,b:22',
  'Host *',
  '  User bob',
  '  Port 22',
  '  ProxyJump c',
  '',
].join('\n')

interface Expected {
  hostname: string
  port: number
  user: string
  identityFiles: string[]
  proxy: string | null
}

const ROWS: readonly [name: string, expected: Expected, why: string][] = [
  ['web1', { hostname: 'web1.example.com', port: 2200, user: 'bob', identityFiles: ['~/.ssh/%r@%h', '%d/with space'], proxy: 'jump a,b' }, 'the lines before the first Host apply to all, first value wins'],
  ['web77', { hostname: 'web77.example.com', port: 2200, user: 'bob', identityFiles: ['~/.ssh/%r@%h', '%d/with space'], proxy: 'jump a,b' }, 'star'],
  ['x.example.com', { hostname: 'x.example.com', port: 2200, user: 'alice', identityFiles: [], proxy: 'command' }, 'ProxyCommand first: the later ProxyJump c is ignored'],
  ['bad.example.com', { hostname: 'bad.example.com', port: 2200, user: 'bob', identityFiles: [], proxy: 'jump c' }, 'a negated pattern refuses the block'],
  ['upper', { hostname: 'upper', port: 2200, user: 'bob', identityFiles: [], proxy: 'jump c' }, 'patterns are case-sensitive: Host UPPER is not upper'],
  ['UPPER', { hostname: 'upper', port: 2200, user: 'up', identityFiles: [], proxy: 'jump c' }, 'the name matches as typed, HostName is lowercased'],
  ['nj', { hostname: 'nj', port: 2200, user: 'bob', identityFiles: [], proxy: 'command' }, 'ProxyJump none does not stop a later ProxyCommand'],
  ['nx', { hostname: 'nx', port: 2200, user: 'bob', identityFiles: [], proxy: 'direct' }, 'but it stops a later ProxyJump'],
  ['pc', { hostname: 'pc', port: 2200, user: 'bob', identityFiles: [], proxy: 'direct' }, 'ProxyCommand none too'],
  ['q1', { hostname: 'q1-%', port: 2200, user: 'bob', identityFiles: [], proxy: 'jump u@[::1]:2222,b:22' }, '? is one character; %h and %% in HostName; Keyword=value'],
  ['q12', { hostname: 'q12', port: 2200, user: 'bob', identityFiles: [], proxy: 'jump c' }, '? is exactly one'],
]

function ours(name: string, file: string): Expected {
  const options = optionsForHost(parseSshConfig(CONFIG, file), name)
  const proxy = options.proxy
  return {
    hostname: options.hostName ?? name.toLowerCase(),
    port: options.port ?? 22,
    user: options.user ?? LOCAL.name,
    identityFiles: options.identityFiles.map((f) => f.value),
    proxy: proxy === null ? null : proxy.kind === 'jump' ? `jump ${proxy.specs.map((s) => `${s.user ? `${s.user}@` : ''}${s.host.includes(':') ? `[${s.host}]` : s.host}${s.port ? `:${s.port}` : ''}`).join(',')}` : proxy.kind,
  }
}

describe('OpenSSH client config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-ssh-config-'))
  const file = join(dir, 'config')
  writeFileSync(file, CONFIG)
  after(() => rmSync(dir, { recursive: true, force: true }))

  for (const [name, expected, why] of ROWS) {
    it(`${name}: ${why}`, () => {
      assert.deepEqual(ours(name, file), expected)
    })
  }

  it('agrees with ssh -G on every row', { skip: existsSync('/usr/bin/ssh') ? false : 'no /usr/bin/ssh' }, () => {
    for (const [name, expected] of ROWS) {
      const result = spawnSync('/usr/bin/ssh', ['-G', '-F', file, name], { encoding: 'utf8', env: { ...process.env, USER: 'bob' } })
      assert.equal(result.status, 0, result.stderr)
      const lines = result.stdout.split('\n')
      const value = (key: string): string[] => lines.filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1))
      assert.equal(value('hostname')[0], expected.hostname, name)
      assert.equal(Number(value('port')[0]), expected.port, name)
      assert.equal(value('user')[0], expected.user, name)
      // ssh -G lists its defaults when no IdentityFile applies; ours leaves that to the login.
      if (expected.identityFiles.length > 0) assert.deepEqual(value('identityfile'), expected.identityFiles, name)
      const jump = value('proxyjump')[0]
      const command = value('proxycommand')[0]
      const theirs = jump !== undefined && jump !== 'none' ? `jump ${jump}` : command !== undefined && command !== 'none' ? 'command' : 'direct'
      assert.equal(theirs, expected.proxy ?? 'direct', name)
    }
  })

  const ERRORS: readonly [text: string, message: RegExp][] = [
    ['Host a\n  Port 70000\n', /config:2: Port: '70000' is not a port/],
    ['Host\n', /config:1: Host needs at least one pattern/],
    ['Host a\n  ProxyJump bad host!\n', /config:2: ProxyJump takes one value/],
    ['Host a\n  ProxyJump user@:22\n', /config:2: ProxyJump: .*not a host name/],
    ['Host a\n  HostName %p.example\n', /config:2: HostName: '%p' is not a token/],
    ['Host a\n  IdentityFile ~other/.ssh/id\n', /config:2: IdentityFile: '~user' is not supported/],
    ['Host a\n  IdentityFile %x\n', /config:2: IdentityFile: '%x' is not a token/],
    ['Host a\n  User "unterminated\n', /config:2: unterminated quote/],
    ['\n\n  = value\n', /config:3: '= value' is not 'Keyword value'/],
  ]
  for (const [text, message] of ERRORS) {
    it(`refuses ${JSON.stringify(text)} naming FILE:LINE`, () => {
      assert.throws(() => parseSshConfig(text, 'config'), (e: unknown) => e instanceof SshConfigError && message.test(e.message))
    })
  }

  it('warns of Match and Include, and never applies a Match block', () => {
    const config = parseSshConfig('Include other\nMatch host web1\n  ProxyJump evil\nHost web1\n  ProxyJump good\n', 'cfg')
    assert.deepEqual(config.warnings, ['cfg:1: Include is not supported; \'other\' is not read', 'cfg:2: Match blocks are not supported; the lines up to the next Host or Match are ignored'])
    const options = optionsForHost(config, 'web1')
    assert.equal(options.proxy?.kind === 'jump' && options.proxy.specs[0]!.host, 'good')
  })

  it('expands ~ and the tokens of IdentityFile as ssh does for the hop', () => {
    const hop = { name: 'edge', address: '10.0.0.1', port: 2222, user: 'ops' }
    assert.equal(expandIdentityFile('~/.ssh/%r@%h', hop, LOCAL), '/home/local/.ssh/ops@10.0.0.1')
    assert.equal(expandIdentityFile('%d/%u-%n-%p-%l-%i-%%', hop, LOCAL), '/home/local/local-edge-2222-scanner-1000-%')
    assert.equal(expandIdentityFile('~', hop, LOCAL), '/home/local')
  })
})

describe('routes through jump hosts', () => {
  const config = parseSshConfig(
    [
      'Host db*',
      '  ProxyJump inner',
      'Host inner',
      '  HostName 10.1.0.1',
      '  ProxyJump edge',
      'Host edge',
      '  HostName edge.example.com',
      '  Port 2222',
      '  User ops',
      '  IdentityFile %d/.ssh/edge-%r',
      'Host legacy',
      '  ProxyCommand ssh -W %h:%p old',
      'Host loop',
      '  ProxyJump loop',
      'Host via-legacy',
      '  ProxyJump legacy',
      '',
    ].join('\n'),
    'cfg',
  )
  const route = (name: string, jump: string | null = null) => {
    const specs = jump === null ? null : parseJumpSpecs(jump)
    assert.ok(typeof specs !== 'string')
    return routeForTarget(name, { config, jump: specs, local: LOCAL }).route
  }

  const CHAINS: readonly [name: string, jump: string | null, expected: string, why: string][] = [
    ['db1', null, 'ops@edge:2222,local@inner:22', 'the first hop follows its own ProxyJump, as ssh HOP would'],
    ['web1', null, 'direct', 'no ProxyJump: directly'],
    ['web1', 'root@edge', 'root@edge:2222', '--jump: user@ wins over User, the config gives the port'],
    ['db1', 'edge:22,x', 'ops@edge:22,local@x:22', '--jump overrides ProxyJump, as ssh -J does'],
    ['db1', 'x,inner', 'local@x:22,local@inner:22', "a later hop's own ProxyJump is not followed (ssh -J x inner)"],
  ]
  for (const [name, jump, expected, why] of CHAINS) {
    it(`${name}${jump ? ` --jump ${jump}` : ''}: ${why}`, () => {
      const r = route(name, jump)
      assert.equal(r.kind === 'jump' ? formatChain(r.chain) : r.kind, expected)
    })
  }

  it('gives each hop its HostName and expanded IdentityFile', () => {
    const r = route('db1')
    assert.ok(r.kind === 'jump')
    assert.deepEqual(
      r.chain.map((h) => [h.address, h.identityFiles, h.source]),
      [
        ['edge.example.com', ['/home/local/.ssh/edge-ops'], 'cfg:5'],
        ['10.1.0.1', [], 'cfg:2'],
      ],
    )
  })

  it('says why a ProxyCommand or a loop cannot be followed', () => {
    const legacy = route('legacy')
    assert.ok(legacy.kind === 'unsupported' && /cfg:12: ProxyCommand is not supported/.test(legacy.detail))
    const through = route('via-legacy')
    assert.ok(through.kind === 'unsupported' && /cfg:12: jump host legacy uses ProxyCommand/.test(through.detail))
    const loop = route('loop')
    assert.ok(loop.kind === 'unsupported' && /more than 8 jump hosts/.test(loop.detail), JSON.stringify(loop))
  })
})

describe('--jump specs', () => {
  const SPECS: readonly [text: string, expected: string, why: string][] = [
    ['bastion', 'null@bastion:null', 'a bare name'],
    ['ops@Bastion.Example.com:2222', 'ops@bastion.example.com:2222', 'user, port, lowercased'],
    ['ssh://ops@bastion:2222', 'ops@bastion:2222', 'the ssh:// form'],
    ['[2001:db8::1]:2222', 'null@2001:db8::1:2222', 'IPv6 in brackets with a port'],
    ['2001:db8::1', 'null@2001:db8::1:null', 'IPv6 without port'],
    ['a, b:22', 'null@a:null,null@b:22', 'a chain'],
  ]
  for (const [text, expected, why] of SPECS) {
    it(`${text}: ${why}`, () => {
      const specs = parseJumpSpecs(text)
      assert.ok(typeof specs !== 'string', String(specs))
      assert.equal(specs.map((s) => `${s.user}@${s.host}:${s.port}`).join(','), expected)
    })
  }
  for (const bad of ['', 'a,,b', 'ops@', 'host:0', 'host:ssh', 'we;rd@host', 'bad_name!']) {
    it(`refuses '${bad}'`, () => assert.equal(typeof parseJumpSpecs(bad), 'string'))
  }
})
