/* connection slot : permission to have one connection (or one name lookup) in flight. One limiter
 *                   is shared by every host of a scan, so the cap is on connections, not hosts.
 *
 * Two queues: a host already being scanned ('same-host') is served before a new host is started
 * ('new-host'), so hosts finish soon after they start and few are half-done at once. */

export type SlotPriority = 'same-host' | 'new-host'

/** Give the slot back; calling it more than once is harmless. */
export type ReleaseSlot = () => void

/** A counting semaphore over connections in flight, with two FIFO priority levels. */
export class ConnectionLimiter {
  private held = 0
  private readonly waiting: Record<SlotPriority, Array<(release: ReleaseSlot) => void>> = {
    'same-host': [],
    'new-host': [],
  }

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`concurrency must be a positive integer, got ${capacity}`)
  }

  /** Slots in use right now. */
  get inFlight(): number {
    return this.held
  }

  /** Resolves with a release function once a slot is free. */
  acquire(priority: SlotPriority = 'same-host'): Promise<ReleaseSlot> {
    if (this.held < this.capacity && this.waiting['same-host'].length === 0 && this.waiting['new-host'].length === 0) {
      this.held++
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve) => this.waiting[priority].push(resolve))
  }

  private releaser(): ReleaseSlot {
    let released = false
    return () => {
      if (released) return
      released = true
      this.held--
      this.handOn()
    }
  }

  private handOn(): void {
    while (this.held < this.capacity) {
      const next = this.waiting['same-host'].shift() ?? this.waiting['new-host'].shift()
      if (!next) return
      this.held++
      next(this.releaser())
    }
  }
}
