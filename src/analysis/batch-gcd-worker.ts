import { workerData, type MessagePort } from 'node:worker_threads'
import { batchTree, chunkResidues, productModulo, scaledBatchGcd } from './remainder-tree.js'
import { SyncPort } from './sync-port.js'
import type { HelperMessage, HelperTask } from './batch-gcd-thread.js'

/* Entry point of the worker thread that takes half of a batch GCD (batch-gcd-thread.ts): built as a
 * file of its own by tsc and by the esbuild bundle (package.json "bundle"). */

const { port, counters, task } = workerData as { port: MessagePort; counters: Int32Array; task: HelperTask }
const channel = new SyncPort(port, counters, 'worker')
const send = (message: HelperMessage) => channel.send(message)
send({ kind: 'ready' })
try {
  if (task.kind === 'half') {
    // One half of the moduli: its product tree, its root for the other half, and the other half's
    // root to start the scaled remainder tree from.
    const tree = batchTree(task.moduli, task.subtreeHeight)
    send({ kind: 'root', value: tree.root })
    const other = channel.receive() as bigint
    send({ kind: 'result', values: scaledBatchGcd(tree, other) })
  } else {
    // The chunks' residues (to find the partners of a hit) and their product modulo the fresh product.
    const residues = chunkResidues(task.values, task.chunkSize, task.modulus)
    send({ kind: 'result', values: residues, product: productModulo(residues, task.modulus) })
  }
} catch (e) {
  const error = e instanceof Error ? e : new Error(String(e))
  send({ kind: 'error', message: error.message, stack: error.stack ?? '' })
}
channel.close()
