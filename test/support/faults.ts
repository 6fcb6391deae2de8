import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { openStore } from '../../src/store/open-store.js'

/* Small pieces shared by the fault tests (issue 9). */

/** A TCP peer that accepts and never speaks: a scan target that keeps a scan probing. */
export async function silentPeer(address: string): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy())
        server.close(() => resolve())
      }),
  }
}

/** How many scans the history holds (opens the store in this process). */
export async function scansRecorded(db: string): Promise<number> {
  const store = await openStore({ db })
  try {
    return (await store.stats()).scans
  } finally {
    await store.close()
  }
}

/** stderr is exactly one line, with no stack trace and no crash from Node itself. */
export function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`)
  assert.match(lines[0]!, /^hostkeys: /)
  assert.match(lines[0]!, pattern)
  assert.doesNotMatch(stderr, /Unhandled|node:events|^\s+at /m)
}

/** Prometheus samples of a metrics file, by name (labels included). */
export function metricSamples(text: string): Map<string, string> {
  const samples = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line && !line.startsWith('#')) samples.set(line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1))
  }
  return samples
}
