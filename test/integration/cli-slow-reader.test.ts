import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { HOSTKEYS_BIN } from '../support/cli.js'

/* A reader slower than hostkeys (`hostkeys run wait --format json | jq`, a pipe into a busy process):
 * once the pipe is full, Node queues the rest of stdout, and the process used to exit with it still
 * queued, cutting the JSON after 64-128 KB. The CLI now waits for stdout to drain before it exits.
 * 1,000 targets on 127.86.253.1 where nothing listens (refused at once) make ~300 KB of JSON. */

describe('stdout into a slow pipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-slow-reader-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('is written whole before the process exits', async () => {
    const inventory = join(dir, 'refused.txt')
    writeFileSync(inventory, Array.from({ length: 1000 }, (_, i) => `[127.86.253.1]:${20_000 + i}\n`).join(''))
    const child = spawn(HOSTKEYS_BIN, ['scan', '--no-store', '--format', 'json', '-T', '5', '-f', inventory], { env: { ...process.env, HOSTKEYS_DB: '' } })
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    // Read nothing for a while: the pipe fills and the scan finishes writing meanwhile.
    child.stdout.pause()
    setTimeout(() => child.stdout.resume(), 3_000)
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const output = Buffer.concat(chunks).toString('utf8')
    assert.equal(code, 0, stderr)
    let document: { hosts: { status: string }[] } = { hosts: [] }
    assert.doesNotThrow(() => (document = JSON.parse(output)), `${output.length} bytes of JSON arrived: stdout was cut short`)
    assert.equal(document.hosts.length, 1000)
    assert.ok(output.length > 200_000, `${output.length} bytes: the test needs more than two pipe buffers of output`)
    assert.ok(document.hosts.every((h) => h.status === 'refused'))
  })
})
