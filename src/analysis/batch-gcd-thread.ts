import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import { SyncPort } from './sync-port.js'

/* A worker thread that takes half of a batch GCD while the calling thread does the other half: the
 * big multiplications of the trees run on both cores. BigInts cross as structured clones (V8 copies
 * their digits: about 10 ms for the 100 Mbit root of 50,000 moduli). The caller stays synchronous,
 * waiting on the thread's messages in Atomics.wait (sync-port.ts). */

/** What the worker thread is asked to do (batch-gcd-worker.ts). */
export type HelperTask =
  | { readonly kind: 'half'; readonly moduli: readonly bigint[]; readonly subtreeHeight?: number }
  | { readonly kind: 'residues'; readonly values: readonly bigint[]; readonly chunkSize: number; readonly modulus: bigint }

export type HelperMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'root'; readonly value: bigint }
  | { readonly kind: 'result'; readonly values: bigint[]; readonly product?: bigint }
  | { readonly kind: 'error'; readonly message: string; readonly stack: string }

/** How long a worker thread may take to start before the work is done in the calling thread. */
const START_TIMEOUT_MS = 30_000

/** The worker's entry point, next to this module (dist/analysis after tsc, dist/bundle in the bundle),
 * or null when there is none to load. */
function workerEntry(): { readonly url: URL; readonly execArgv: string[] } | null {
  if (!import.meta.url.endsWith('.ts')) {
    const url = new URL('./batch-gcd-worker.js', import.meta.url)
    // No inherited node options: `node -e script` would hand the worker the script to run as well.
    return existsSync(fileURLToPath(url)) ? { url, execArgv: [] } : null
  }
  // Run from the TypeScript sources (tests, benchmarks under tsx): a worker inheriting --import tsx
  // does not start while this thread waits in Atomics.wait (the loader hooks need this thread's event
  // loop), so the worker registers tsx's hooks itself, then loads its entry point.
  let tsx: string
  try {
    tsx = import.meta.resolve('tsx/esm/api')
  } catch {
    return null
  }
  const entry = new URL('./batch-gcd-worker.ts', import.meta.url).href
  const code = `const tsx = await import(${JSON.stringify(tsx)}); tsx.register(); await import(${JSON.stringify(entry)})`
  return { url: new URL(`data:text/javascript,${encodeURIComponent(code)}`), execArgv: [] }
}

export class HelperThread {
  private constructor(
    private readonly worker: Worker,
    private readonly channel: SyncPort,
  ) {}

  /** A started worker thread with `task`, or null when none can start (then do the work here). */
  static start(task: HelperTask): HelperThread | null {
    const entry = workerEntry()
    if (!entry) return null
    const { port1, port2 } = new MessageChannel()
    const counters = SyncPort.counters()
    let worker: Worker
    try {
      worker = new Worker(entry.url, { workerData: { port: port2, counters, task }, transferList: [port2], execArgv: entry.execArgv })
    } catch {
      port1.close()
      return null
    }
    // Never what keeps the process alive; failures come as messages ('error' events would arrive
    // only once this thread returns to its event loop, and unhandled would end the process).
    worker.unref()
    worker.on('error', () => {})
    const helper = new HelperThread(worker, new SyncPort(port1, counters, 'main'))
    if (helper.channel.receive(START_TIMEOUT_MS) === undefined) {
      helper.close()
      return null
    }
    return helper
  }

  send(value: unknown): void {
    this.channel.send(value)
  }

  /** The worker's next message, which must be of `kind`; its failure as an Error. */
  receive<K extends 'root' | 'result'>(kind: K): Extract<HelperMessage, { kind: K }> {
    const message = this.channel.receive() as HelperMessage
    if (message.kind === 'error') {
      this.close()
      const error = new Error(`batch GCD worker thread: ${message.message}`)
      error.stack = `${error.stack}\n--- in the worker thread ---\n${message.stack}`
      throw error
    }
    if (message.kind !== kind) throw new Error(`batch GCD worker thread: expected a '${kind}' message, got '${message.kind}'`)
    return message as Extract<HelperMessage, { kind: K }>
  }

  close(): void {
    this.channel.close()
    void this.worker.terminate()
  }
}
