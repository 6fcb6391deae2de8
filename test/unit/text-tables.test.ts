import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Observation } from '../../src/domain/observation.js'
import type { Target } from '../../src/domain/target.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { renderNoFindings } from '../../src/report/findings-report.js'
import { renderLookupText } from '../../src/report/lookup-report.js'
import { renderTextHostRows } from '../../src/report/scan-text.js'
import { renderTargetListHeader, renderTargetListSummary, renderTargetRow } from '../../src/report/target-list.js'
import type { KeyRecord } from '../../src/domain/history.js'

/* Text output people read in a terminal: the lookup table, scan --list rows, scan -E rows, and what
 * findings says when there is nothing to show. */

const keyFile = (name: string) => fileURLToPath(new URL(`../fixtures/keys/${name}.pub`, import.meta.url))
const keyOf = (name: string) => describeKey(Buffer.from(readFileSync(keyFile(name), 'utf8').split(' ')[1]!, 'base64'))
const ed25519 = keyOf('ed25519')
const rsa = keyOf('rsa')

describe('scan -E: the fingerprint column', () => {
  const observation: Observation = {
    target: { host: 'web1.example.com', address: '192.0.2.10', port: 22, aliases: [], source: 'argv' },
    address: '192.0.2.10',
    status: 'ok',
    error: null,
    banner: null,
    offered: null,
    keys: [ed25519],
    failedFamilies: [],
    connections: 1,
    startedAt: new Date(0),
    durationMs: 1,
  }

  it('shows the form ssh-keygen -l -E prints, sha256 or md5', () => {
    for (const hash of ['sha256', 'md5'] as const) {
      const keygen = execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', keyFile('ed25519')], { encoding: 'utf8' }).split(' ')[1]!
      const [row] = renderTextHostRows(observation, hash)
      assert.ok(row!.endsWith(` ${keygen}`), `${row} ends with ${keygen}`)
    }
  })
})

describe('lookup text', () => {
  const record = (overrides: Partial<KeyRecord>): KeyRecord => ({
    host: 'web1.example.com',
    address: '192.0.2.10',
    port: 22,
    type: ed25519.type,
    bits: ed25519.bits,
    sha256: ed25519.sha256,
    md5: ed25519.md5,
    firstSeen: new Date('2026-01-02T03:04:05.678Z'),
    lastSeen: new Date('2026-02-03T04:05:06Z'),
    current: true,
    trust: 'trusted',
    source: 'scan',
    ...overrides,
  })

  it('is a table: a header, then every column starting at the same place on every line', () => {
    const lines = renderLookupText([
      record({}),
      record({ host: '[db-primary.internal.example.com]:2222', address: '2001:db8::1', port: 2222, type: rsa.type, sha256: rsa.sha256, current: false }),
      record({ host: 'imported.example.com', address: null, port: null, lastSeen: null, current: false, source: 'import' }),
    ])
    assert.deepEqual(lines, [
      'HOST                                    ADDRESS             TYPE         FINGERPRINT                                         FIRST SEEN            LAST SEEN             STATUS',
      `web1.example.com                        192.0.2.10          ssh-ed25519  ${ed25519.sha256}  2026-01-02T03:04:05Z  2026-02-03T04:05:06Z  trusted, current`,
      `[db-primary.internal.example.com]:2222  [2001:db8::1]:2222  ssh-rsa      ${rsa.sha256}  2026-01-02T03:04:05Z  2026-02-03T04:05:06Z  trusted, no longer served`,
      `imported.example.com                    -                   ssh-ed25519  ${ed25519.sha256}  2026-01-02T03:04:05Z  never                 trusted, imported, not seen yet`,
    ])
    const starts = (line: string) => ['ADDRESS', 'TYPE', 'FINGERPRINT', 'FIRST SEEN', 'LAST SEEN', 'STATUS'].map((title) => lines[0]!.indexOf(title))
    for (const line of lines.slice(1)) {
      for (const start of starts(line)) assert.equal(line[start - 1], ' ', `a column starts at ${start} in: ${line}`)
    }
  })

  it('is empty when nothing matched (the command says so on stderr)', () => {
    assert.deepEqual(renderLookupText([]), [])
  })
})

describe('scan --list rows', () => {
  const target = (overrides: Partial<Target>): Target => ({ host: 'web1.example.com', address: '192.0.2.10', port: 22, aliases: [], source: 'hosts.txt:1', ...overrides })

  it('shows identity, address, port and the other aliases, in the header columns', () => {
    const header = renderTargetListHeader()
    assert.match(header, /^HOST +ADDRESS +PORT +ALIASES$/)
    const row = renderTargetRow(target({ host: '[web1.example.com]:2222', port: 2222, aliases: ['192.0.2.10', '192.0.2.11', 'www.example.com'] }))
    assert.equal(row, `${'[web1.example.com]:2222'.padEnd(28)} ${'192.0.2.10'.padEnd(39)} ${'2222'.padEnd(5)} 192.0.2.11,www.example.com`)
    assert.equal(row.indexOf('192.0.2.10'), header.indexOf('ADDRESS'))
    assert.equal(row.indexOf(' 2222 ') + 1, header.indexOf('PORT'))
    assert.equal(renderTargetRow(target({})), `${'web1.example.com'.padEnd(28)} ${'192.0.2.10'.padEnd(39)} 22`, 'no trailing blanks without aliases')
  })

  it('sums up without claiming any contact', () => {
    assert.equal(renderTargetListSummary(3), '3 target(s); no host, DNS server or database was contacted')
  })
})

describe('findings with nothing to show', () => {
  it('says which filter found nothing', () => {
    assert.equal(renderNoFindings({ openOnly: false, since: null }), 'no findings')
    assert.equal(renderNoFindings({ openOnly: true, since: null }), 'no open findings')
    assert.equal(renderNoFindings({ openOnly: true, since: new Date('2026-01-01') }), 'no open findings since 2026-01-01')
    assert.equal(renderNoFindings({ openOnly: false, since: new Date('2026-01-01T12:30:00.250Z') }), 'no findings since 2026-01-01T12:30:00Z')
  })
})
