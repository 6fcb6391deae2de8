import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { HostPatternError, matchesHostPatterns, parseHostPatterns } from '../../src/domain/host-patterns.js'
import { hostIdentity } from '../../src/domain/target.js'

/* known_hosts pattern matching, table-driven. Every one-name row is also put to OpenSSH's own matcher:
 * `ssh-keygen -F NAME -f FILE` does one lookup of NAME, so ssh's decision is that of `[name]:port` or,
 * off port 22, of the bare name (sshconnect.c check_host_key(): "checking without port identifier"),
 * and the table cannot drift from it. test/integration/ca-openssh.test.ts checks the same with ssh. */

type Row = readonly [patterns: string, names: readonly string[], port: number, expected: boolean, why: string]

const ROWS: readonly Row[] = [
  ['web1.example.com', ['web1.example.com'], 22, true, 'a literal name'],
  ['web1.example.com', ['web2.example.com'], 22, false, 'another name'],
  ['*', ['anything.example.com'], 22, true, 'a lone star matches every name'],
  ['*', ['web1'], 2222, true, 'and every [name]:port'],
  ['*.example.com', ['web1.example.com'], 22, true, 'star for a label'],
  ['*.example.com', ['a.b.example.com'], 22, true, 'star crosses dots'],
  ['*.example.com', ['example.com'], 22, false, 'the dot before the suffix is literal'],
  ['*.example.com', ['web1.example.com.evil.test'], 22, false, 'anchored at the end'],
  ['web?.example.com', ['web1.example.com'], 22, true, 'question mark for one character'],
  ['web?.example.com', ['web12.example.com'], 22, false, 'exactly one'],
  ['web?.example.com', ['web.example.com'], 22, false, 'not zero'],
  ['*.EXAMPLE.com', ['Web1.Example.COM'], 22, true, 'case-insensitive on both sides'],
  ['*.example.com', ['web1.example.com'], 2222, true, 'off port 22 [web1.example.com]:2222 finds nothing, then the bare name does'],
  ['web1.example.com', ['web1.example.com'], 2222, true, 'so a bare name names the host on every port'],
  ['[*.example.com]:2222', ['web1.example.com'], 2222, true, 'a bracketed pattern with the port'],
  ['[*.example.com]:2222', ['web1.example.com'], 2223, false, 'another port'],
  ['[*.example.com]:2222', ['web1.example.com'], 22, false, 'port 22 is never written with brackets'],
  ['[web1.example.com]:22', ['web1.example.com'], 22, false, 'so [name]:22 matches nothing'],
  ['[web1.example.com]:*', ['web1.example.com'], 2200, true, 'a star for the port'],
  ['*,!web1.example.com', ['web1.example.com'], 2222, true, 'off port 22 a bare negation does not refuse [web1.example.com]:2222, which * names'],
  ['*,!web1.example.com,![web1.example.com]:*', ['web1.example.com'], 2222, false, 'both forms negated'],
  ['*.example.com,![*.example.com]:2222', ['web1.example.com'], 2222, true, 'the bracketed form refused, the bare name named'],
  ['*.example.com,!bad.example.com', ['ok.example.com'], 22, true, 'a negation that does not apply'],
  ['*.example.com,!bad.example.com', ['bad.example.com'], 22, false, 'a negation refuses the whole line'],
  ['!bad.example.com,*.example.com', ['bad.example.com'], 22, false, 'wherever it is in the list'],
  ['!bad.example.com', ['ok.example.com'], 22, false, 'a negation alone matches nothing'],
  ['*,!10.0.0.*', ['10.0.0.7'], 22, false, 'addresses are names too'],
  ['10.0.0.?', ['10.0.0.7'], 22, true, 'wildcards in addresses, no CIDR'],
  ['10.0.0.0/24', ['10.0.0.7'], 22, false, 'CIDR is not a known_hosts pattern'],
  ['[::1]:2222', ['::1'], 2222, true, 'IPv6 with a port'],
  ['::1', ['::1'], 22, true, 'IPv6 on port 22'],
  ['a*a*a*a*a*a*a*a*a*a*b', ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'], 22, false, 'many stars, no match, no blow-up'],
  ['*a?c*', ['xxabcxx'], 22, true, 'stars around a question mark'],
  // Several names of one host: any match will do, any negation refuses (see matchesHostPatterns).
  ['*.example.com', ['10.0.0.7', 'web1.example.com'], 22, true, 'one of its names matches'],
  ['*.example.com,!10.0.0.7', ['10.0.0.7', 'web1.example.com'], 22, false, 'one of its names is refused'],
  ['*.example.com', [], 22, false, 'a host without names'],
]

describe('matchesHostPatterns', () => {
  for (const [patterns, names, port, expected, why] of ROWS) {
    it(`${patterns} ${expected ? 'matches' : 'does not match'} ${names.join(',') || '(none)'} on ${port}: ${why}`, () => {
      assert.equal(matchesHostPatterns(patterns.split(','), names, port), expected)
    })
  }
})

describe('matchesHostPatterns agrees with ssh-keygen -F', { skip: spawnSync('ssh-keygen', ['-?']).error ? 'ssh-keygen is not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-patterns-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHW3tqZZSiEvxwk7X1B6W8Oi/KJqWF1eANGOKSDjFlSb'
  ROWS.filter(([, names]) => names.length === 1).forEach(([patterns, names, port, expected], index) => {
    const lookups = port === 22 ? [names[0]!] : [hostIdentity(names[0]!, port), names[0]!]
    it(`${patterns} vs ${lookups.join(' then ')}`, () => {
      const file = join(dir, `known_hosts_${index}`)
      writeFileSync(file, `${patterns} ${key}\n`)
      const found = lookups.map((name) => spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' }).stdout.includes(key))
      assert.equal(found.includes(true), expected, `ssh-keygen -F found: ${found.join(', ')}`)
    })
  })
})

describe('parseHostPatterns', () => {
  const good: [string, string[]][] = [
    ['*', ['*']],
    ['*.Example.COM', ['*.example.com']],
    ['*.example.com, !bad.example.com', ['*.example.com', '!bad.example.com']],
    ['[*.example.com]:2222,10.0.0.?', ['[*.example.com]:2222', '10.0.0.?']],
    ['web1,web1', ['web1']],
  ]
  for (const [text, expected] of good) it(`'${text}'`, () => assert.deepEqual(parseHostPatterns(text), expected))

  const bad: [string, RegExp][] = [
    ['', /empty pattern/],
    ['a,,b', /empty pattern/],
    ['!', /empty pattern/],
    ['a b', /white space/],
    ['a\tb', /white space or control/],
    ['|1|c2FsdA==|aG1hYw==', /hashed name/],
    ['!bad.example.com', /only negates: it matches no host/],
  ]
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseHostPatterns(text), (e: unknown) => e instanceof HostPatternError && message.test(e.message))
    })
  }
})
