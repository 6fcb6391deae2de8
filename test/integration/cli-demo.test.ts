import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { runCli } from '../support/cli.js'

/* `hostkeys demo` is the README's quick start: it must work with nothing installed but Node. */

describe('hostkeys demo', () => {
  it('scans its own fleet twice, reports the rebuild and the clones, and cleans up', async () => {
    const result = await runCli(['demo'], { timeoutMs: 120_000 })
    assert.equal(result.code, 0, result.stderr)
    const out = result.stdout
    assert.match(out, /CRITICAL key_changed +\[db1\.demo\.test\]:\d+: .*serves a different ssh-ed25519 key/)
    assert.match(out, /WARNING +duplicate_key +\[app1\.demo\.test\]:\d+: 2 hosts on different addresses or ports serve the same ssh-ed25519 key/)
    assert.doesNotMatch(out, /key_changed +\[(web1|web2|app1|app2)/, 'only the rebuilt host changed keys')
    const lookup = out.slice(out.indexOf('== hostkeys lookup'))
    assert.match(lookup, /^\[app1\.demo\.test\]:\d+ .*ssh-ed25519 .*, current/m)
    assert.match(lookup, /^\[app2\.demo\.test\]:\d+ .*ssh-ed25519 .*, current/m)
    assert.equal(out.match(/^web1\.demo\.test\. IN SSHFP [134] [12] [0-9a-f]+$/gm)?.length, 6, 'three keys, two digests each')
    const database = /temporary embedded database in (\S+)\./.exec(out)?.[1]
    assert.ok(database && !existsSync(database), `the demo database ${database} is removed`)
  })
})
