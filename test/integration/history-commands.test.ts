import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { recordScan } from '../../src/app/record-scan.js'
import { registerAccept } from '../../src/cli/commands/accept.js'
import { registerAllowShared } from '../../src/cli/commands/allow-shared.js'
import { registerDb } from '../../src/cli/commands/db.js'
import { registerFindings } from '../../src/cli/commands/findings.js'
import { registerHistory } from '../../src/cli/commands/history.js'
import { registerImport } from '../../src/cli/commands/import.js'
import { registerKnownHosts } from '../../src/cli/commands/known-hosts.js'
import { registerLookup } from '../../src/cli/commands/lookup.js'
import { registerPrune } from '../../src/cli/commands/prune.js'
import type { CommandContext } from '../../src/cli/context.js'
import { buildProgram } from '../../src/cli/main.js'
import { UserError } from '../../src/domain/errors.js'
import { observationOf, syntheticKey } from '../support/synthetic-keys.js'
import { testBackends } from '../support/test-store.js'
import { capturedStreams } from '../support/captured-streams.js'
import { readMigrations } from '../../src/store/migrate.js'
import type { Store } from '../../src/store/store.js'

/* The history commands through commander, against a real embedded store, open once and lent to every
 * command. main.ts maps a thrown UserError/OperationalError to exit 2; here the throw itself is checked. */

const REGISTRARS = [registerLookup, registerHistory, registerFindings, registerAccept, registerAllowShared, registerKnownHosts, registerImport, registerPrune, registerDb]

let history: Store

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const streams = capturedStreams()
  const { stdout, stderr } = streams
  const context: CommandContext = { stdout, stderr, stdin: new PassThrough(), env: { HOME: '/nonexistent', USER: 'tester' }, exitCode: 0, history }
  await buildProgram(context, REGISTRARS).parseAsync(['node', 'hostkeys', ...args])
  return { code: context.exitCode, ...streams.written() }
}

describe('history commands', () => {
  let cleanup: () => Promise<void>
  const web1 = syntheticKey('ed25519', 'cli-web1')
  before(async () => {
    // A copy of the migrated template: a cold embedded create costs seconds.
    const opened = await testBackends()[0]!.open()
    cleanup = opened.cleanup
    const store = opened.store
    history = store
    const meta = () => ({ startedAt: new Date(), finishedAt: new Date(), vantage: 't', request: { keyFamilies: null } })
    await recordScan(store, meta(), [observationOf('web1', [web1])])
    await recordScan(store, meta(), [observationOf('web1', [syntheticKey('ed25519', 'cli-web1-new')])])
  })
  after(async () => cleanup())

  it('lookup --format json prints the matches', async () => {
    const r = await run(['lookup', web1.sha256, '--format', 'json'])
    assert.equal(r.code, 0)
    const json = JSON.parse(r.stdout) as { matches: Record<string, unknown>[] }
    assert.deepEqual(Object.keys(json.matches[0]!), ['host', 'address', 'port', 'type', 'sha256', 'md5', 'firstSeen', 'lastSeen', 'current', 'certifiedBy'])
    assert.equal(json.matches[0]!['current'], false)
    assert.equal(json.matches[0]!['certifiedBy'], null, 'found by the key itself, not through a CA')
  })

  it('lookup by host name ignores case, as DNS and known_hosts do', async () => {
    const r = await run(['lookup', 'WEB1', '--format', 'json'])
    assert.equal(r.code, 0, r.stderr)
    const json = JSON.parse(r.stdout) as { matches: { host: string; current: boolean }[] }
    assert.deepEqual(json.matches.map((m) => [m.host, m.current]), [['web1', true], ['web1', false]])
  })

  it('lookup exits 1 when nothing matches', async () => {
    const r = await run(['lookup', syntheticKey('ed25519', 'nobody').sha256])
    assert.equal(r.code, 1)
  })

  it('lookup with a malformed fingerprint is a UserError (exit 2)', async () => {
    await assert.rejects(run(['lookup', 'SHA256:nope']), UserError)
  })

  it('findings --open --format json, accept, then nothing open', async () => {
    const open = JSON.parse((await run(['findings', '--open', '--format', 'json'])).stdout) as { findings: { kind: string }[] }
    assert.deepEqual(open.findings.map((f) => f.kind), ['key_changed'])
    const accepted = await run(['accept', 'web1', '--reason', 'rebuilt'])
    assert.match(accepted.stdout, /^web1: accepted by tester \(rebuilt\)\n  trusted SHA256:/)
    const after = JSON.parse((await run(['findings', '--open', '--format', 'json'])).stdout) as { findings: unknown[] }
    assert.deepEqual(after.findings, [])
    const history = await run(['history', 'web1'])
    assert.match(history.stdout, /accepted by tester \(rebuilt\)/)
  })

  it('known-hosts --hash prints hashed lines of the trusted keys', async () => {
    const r = await run(['known-hosts', '--hash'])
    assert.ok(r.stdout.trim().split('\n').every((l) => /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /.test(l)))
  })

  it('db migrate says the database is up to date', async () => {
    const r = await run(['db', 'migrate'])
    assert.match(r.stdout, new RegExp(`up to date at schema version ${readMigrations().at(-1)!.version}`))
  })

  it('allow-shared needs two hosts; prune takes a duration', async () => {
    await assert.rejects(run(['allow-shared', 'web1']), UserError)
    const r = await run(['prune', '--older-than', '1s'])
    assert.match(r.stdout, /pruned \d+ scan/)
  })
})
