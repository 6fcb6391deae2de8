import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads'

/* Blocking messages between two threads: one end of a MessageChannel, and a shared counter per
 * direction that the sender bumps after each message, so that the receiver can sleep in
 * Atomics.wait instead of returning to an event loop. It lets a synchronous function (batchGcd)
 * hand half of its work to a worker thread and wait for it; the pattern of synckit. */

/** Which counter a side sleeps on: the main thread receives on 0, the worker on 1. */
export type Side = 'main' | 'worker'

export class SyncPort {
  private readonly inbox: number
  private readonly outbox: number

  constructor(
    private readonly port: MessagePort,
    private readonly counters: Int32Array,
    side: Side,
  ) {
    this.inbox = side === 'main' ? 0 : 1
    this.outbox = 1 - this.inbox
  }

  /** A shared buffer with the two counters, to pass to the other side with the port. */
  static counters(): Int32Array {
    return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT))
  }

  send(value: unknown): void {
    this.port.postMessage(value)
    Atomics.add(this.counters, this.outbox, 1)
    Atomics.notify(this.counters, this.outbox)
  }

  /** The next message, waiting for it at most `timeoutMs` (then undefined). */
  receive(timeoutMs = Infinity): unknown {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      // Read the counter before looking at the queue: a message posted after the look bumps the
      // counter after it, so the wait below returns at once instead of missing it.
      const seen = Atomics.load(this.counters, this.inbox)
      const received = receiveMessageOnPort(this.port)
      if (received) return received.message
      const left = deadline - Date.now()
      if (left <= 0) return undefined
      Atomics.wait(this.counters, this.inbox, seen, left === Infinity ? undefined : left)
    }
  }

  close(): void {
    this.port.close()
  }
}
