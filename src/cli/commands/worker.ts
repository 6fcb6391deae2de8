import { hostname } from 'node:os'
import { Command } from 'commander'
import { resolveHistorySettings } from '../../app/open-history.js'
import { writeLine, type CommandContext } from '../context.js'
import { EXIT_OK } from '../exit-codes.js'
import { parsePositiveInteger, parseSeconds } from '../options.js'
import { addDbOption, type DbFlags } from '../with-store.js'

/* `hostkeys worker`: scans shards of distributed runs (app/scan-worker.ts) until --max-shards or a
 * signal. SIGTERM or SIGINT lets the shard in hand finish (scanned, staged, judged if last); a second
 * one exits at once, and the shard comes back to another worker after the run's --shard-expiry. */

interface WorkerFlags extends DbFlags {
  readonly vantage: string
  readonly concurrency: number
  readonly maxShards?: number
  readonly poll: number
  readonly quiet?: boolean
}

export function registerWorker(program: Command, context: CommandContext): void {
  const command = program
    .command('worker')
    .description('scan shards of distributed runs (scan --distribute) from this machine, into the shared PostgreSQL history')
    .option('--vantage <name>', 'where this worker scans from: it takes shards asked of this vantage, and shards for any', hostname())
    .option('-c, --concurrency <n>', 'connections in flight within a shard', parsePositiveInteger, 128)
    .option('--max-shards <n>', 'exit after scanning this many shards', parsePositiveInteger)
    .option('--poll <seconds>', 'wait between looks at an empty queue', parseSeconds, 2)
    .option('-q, --quiet', 'print only problems')
  addDbOption(command).action(async (flags: WorkerFlags) => {
    const { runDatabase } = await import('../../app/distributed-runs.js')
    const { runWorker } = await import('../../app/scan-worker.js')
    const history = resolveHistorySettings(flags, context.env)
    const db = runDatabase(history.db, context.env, 'worker')
    const say = (text: string) => writeLine(context.stderr, `hostkeys worker: ${text}`)
    const lifecycle = context.lifecycle
    lifecycle?.setInterruptionNote('no shard was left half done')
    const scanned = await runWorker(
      {
        db,
        dbTimeoutMs: history.timeoutMs,
        vantage: flags.vantage,
        concurrency: flags.concurrency,
        maxParts: flags.maxShards ?? null,
        pollMs: flags.poll * 1000,
        maintenanceSeconds: 10,
        workerId: `${hostname()}:${process.pid}`,
      },
      {
        env: context.env,
        ...(lifecycle
          ? { signal: lifecycle.signal, critical: <T>(work: () => Promise<T>) => lifecycle.critical(work, 'the worker finished the shard in hand first') }
          : {}),
        ready: () => flags.quiet || say(`vantage ${flags.vantage}, waiting for shards`),
        events: {
          part: (e) => flags.quiet || say(`run ${e.run} shard ${e.shard}: ${e.hosts} host(s), ${e.reached} reached (${e.outcome})`),
          judged: (e) => flags.quiet || say(`run ${e.run} judged: ${e.findings} finding(s)`),
          problem: (message) => say(message),
        },
      },
    )
    if (!flags.quiet) say(`${scanned} shard(s) scanned`)
    context.exitCode = EXIT_OK
  })
}
