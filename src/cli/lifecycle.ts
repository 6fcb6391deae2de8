/* How a running command ends early. A signal (SIGINT, SIGTERM) or a failure outside the command's own
 * promise chain (an uncaughtException, an unhandledRejection) aborts it; main then reports one line
 * and exits 2, or 130/143 for a signal, as shells expect (128 + the signal's number).
 *
 * critical section : work that must not be cut in two by an abort, e.g. recording a scan. An abort
 *                    that arrives during one waits for it to settle (the database's deadlines bound
 *                    it), then ends the command; one that arrives before keeps it from starting.
 * failure hook     : what a command leaves to be done if it fails for any reason (the metrics file
 *                    marked failed, the JSON document closed). */

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const
export type StopSignal = keyof typeof SIGNAL_NUMBERS

/** The command was stopped by a signal. */
export class Interrupted extends Error {
  override name = 'Interrupted'
  readonly exitCode: number
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`)
    this.exitCode = 128 + SIGNAL_NUMBERS[signal]
  }
}

/** An exception nobody caught, or a rejection nobody handled, while the command ran. */
export class UnexpectedFailure extends Error {
  override name = 'UnexpectedFailure'
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error), { cause: error })
  }
}

export type FailureHook = (error: unknown) => void | Promise<void>

export class CommandLifecycle {
  private readonly controller = new AbortController()
  private running: Promise<unknown> | null = null
  private readonly hooks: FailureHook[] = []
  /** What an interruption leaves behind, for its message ("nothing was recorded"). */
  private note: string | null = null

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Stops the command; the first reason wins. */
  abort(reason: Interrupted | UnexpectedFailure): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason)
  }

  /** Says what an interruption from now on leaves behind. */
  setInterruptionNote(note: string | null): void {
    this.note = note
  }

  /** The abort reason with the note appended, if an interruption. */
  describe(reason: Interrupted): string {
    return this.note ? `${reason.message}; ${this.note}` : reason.message
  }

  onFailure(hook: FailureHook): void {
    this.hooks.push(hook)
  }

  /** Runs every failure hook, each at most once; returns the messages of hooks that failed themselves. */
  async runFailureHooks(error: unknown): Promise<string[]> {
    const problems: string[] = []
    for (const hook of this.hooks.splice(0)) {
      try {
        await hook(error)
      } catch (e) {
        problems.push((e as Error).message)
      }
    }
    return problems
  }

  /**
   * Runs fn as a critical section: not started once aborted, never cut by an abort, and followed by
   * the abort (with `whenDone` as the interruption's note) if one arrived while it ran.
   */
  async critical<T>(fn: () => Promise<T>, whenDone: string): Promise<T> {
    this.throwIfAborted()
    const run = fn()
    this.running = run
    try {
      const result = await run
      if (this.signal.aborted) this.note = whenDone
      this.throwIfAborted()
      return result
    } finally {
      this.running = null
    }
  }

  /** Settles as work does, or rejects with the abort reason as soon as no critical section runs. */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      work.then(resolve, reject)
      const onAbort = async () => {
        while (this.running) await this.running.catch(() => {})
        reject(this.signal.reason)
      }
      if (this.signal.aborted) void onAbort()
      else this.signal.addEventListener('abort', () => void onAbort(), { once: true })
    })
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason
  }
}
