import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CommandLifecycle, Interrupted, UnexpectedFailure } from '../../src/cli/lifecycle.js'
import { renderFailedRunMetrics, renderMetrics } from '../../src/report/metrics.js'
import { ScanJsonWriter } from '../../src/report/scan-json.js'

/* Issue 9: a failed run (database lost, signal, unexpected exception) leaves well-formed output,
 * metrics that say it failed, and an exit code that cannot be mistaken for findings. */

function samples(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.trim().split('\n')) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="\w+"\})? [\d.]+)$/)
    if (!line.startsWith('#')) out.set(line.split(' ')[0]!, line.split(' ')[1]!)
  }
  return out
}

describe('metrics of a failed run', () => {
  const success = renderMetrics({ targets: 3, reached: 2, failed: 1, keys: 6, durationMs: 1500, finishedAt: new Date(1_700_000_000_000), findings: [] })

  it('a completed run says so', () => assert.equal(samples(success).get('hostkeys_last_run_success'), '1'))

  it('keeps the last success, its time included, and marks the run failed', () => {
    const failed = samples(renderFailedRunMetrics(success))
    assert.equal(failed.get('hostkeys_last_run_success'), '0')
    assert.equal(failed.get('hostkeys_last_success_timestamp_seconds'), '1700000000')
    assert.equal(failed.get('hostkeys_hosts_scanned'), '3')
    // Twice failed: still one sample of each.
    const again = renderFailedRunMetrics(renderFailedRunMetrics(success))
    assert.equal(again.match(/^hostkeys_last_run_success /gm)?.length, 1)
    assert.equal(again.match(/^hostkeys_last_success_timestamp_seconds 1700000000$/gm)?.length, 1)
  })

  it('with no earlier file, the last success is 0 so an age alert fires', () => {
    const failed = samples(renderFailedRunMetrics(null))
    assert.equal(failed.get('hostkeys_last_run_success'), '0')
    assert.equal(failed.get('hostkeys_last_success_timestamp_seconds'), '0')
  })
})

describe('JSON of a failed scan', () => {
  it('is closed as one valid document with the error and null findings', () => {
    const writer = new ScanJsonWriter()
    const text = writer.open() + writer.abort('recording the scan failed: "lost"')
    assert.deepEqual(JSON.parse(text), { hosts: [], findings: null, error: 'recording the scan failed: "lost"' })
    assert.equal(writer.abort('twice'), '')
  })
  it('adds nothing to a document already closed, or never opened', () => {
    const writer = new ScanJsonWriter()
    assert.equal(writer.abort('early'), '')
    const text = writer.open() + writer.close([])
    assert.equal(writer.abort('late'), '')
    assert.deepEqual(JSON.parse(text), { hosts: [], findings: [] })
  })
})

describe('CommandLifecycle', () => {
  it('an interruption ends the command at once outside a critical section', async () => {
    const lifecycle = new CommandLifecycle()
    const never = new Promise<void>(() => {})
    const raced = lifecycle.race(never)
    lifecycle.abort(new Interrupted('SIGTERM'))
    await assert.rejects(raced, (e: unknown) => e instanceof Interrupted && e.exitCode === 143)
  })

  it('waits for a critical section, which is not cut, then ends the command with its note', async () => {
    const lifecycle = new CommandLifecycle()
    lifecycle.setInterruptionNote('nothing was recorded')
    let finish!: () => void
    let recorded = false
    const work = lifecycle.critical(async () => {
      await new Promise<void>((resolve) => (finish = resolve))
      recorded = true
    }, 'it was recorded')
    const raced = lifecycle.race(work)
    lifecycle.abort(new Interrupted('SIGINT'))
    await new Promise((r) => setTimeout(r, 20))
    finish()
    await assert.rejects(raced, (e: unknown) => {
      assert.ok(e instanceof Interrupted)
      assert.equal(e.exitCode, 130)
      assert.equal(lifecycle.describe(e), 'interrupted by SIGINT; it was recorded')
      return true
    })
    assert.equal(recorded, true)
  })

  it('does not start a critical section once aborted; the first reason wins', async () => {
    const lifecycle = new CommandLifecycle()
    lifecycle.abort(new UnexpectedFailure(new Error('boom')))
    lifecycle.abort(new Interrupted('SIGINT'))
    let ran = false
    await assert.rejects(lifecycle.critical(async () => void (ran = true), 'x'), UnexpectedFailure)
    assert.equal(ran, false)
  })

  it('runs each failure hook once and reports the ones that failed', async () => {
    const lifecycle = new CommandLifecycle()
    const seen: unknown[] = []
    lifecycle.onFailure((e) => void seen.push(e))
    lifecycle.onFailure(() => {
      throw new Error('cannot write metrics')
    })
    assert.deepEqual(await lifecycle.runFailureHooks('why'), ['cannot write metrics'])
    assert.deepEqual(await lifecycle.runFailureHooks('again'), [])
    assert.deepEqual(seen, ['why'])
  })
})
