import { once } from 'node:events'
import { hostname } from 'node:os'
import { Command, Option } from 'commander'
import type { RecordingStage } from '../../app/record-scan.js'
import { resolveScanSettings, type ScanOptions, type ScanSettings } from '../../app/scan-settings.js'
import { UserError } from '../../domain/errors.js'
import { isAtOrAbove } from '../../domain/finding.js'
import { DEFAULT_SSH_PORT } from '../../domain/target.js'
import { FINGERPRINT_HASHES } from '../../report/scan-text.js'
import { renderTargetListHeader, renderTargetListSummary, renderTargetRow } from '../../report/target-list.js'
import { writeLine, type CommandContext } from '../context.js'
import { EXIT_FINDINGS, EXIT_OK } from '../exit-codes.js'
import {
  choice,
  collect,
  parseFailOn,
  parseFingerprintHash,
  parseKeyFamilies,
  parsePortOption,
  parsePositiveInteger,
  parseNonNegativeInteger,
  parseSeconds,
} from '../options.js'
import { progressLine } from '../progress.js'
import { checkOutputFlags, FORMATS, makeRenderer, type OutputFlags } from '../scan-output.js'
import { addDbOption } from '../with-store.js'

/* `hostkeys scan`: flags become ScanSettings (app/scan-settings.ts) and output flags; the use case
 * (app/run-scan.ts) runs; this file renders as it goes and sets the exit code. */

type ScanFlags = Omit<ScanOptions, 'specs' | 'files' | 'vantage'> &
  OutputFlags & { file?: string[]; list?: boolean; vantage?: string[]; distribute?: boolean; shardSize?: number; shardExpiry?: number; detach?: boolean }

/** Said once (not with --quiet or --no-dns), so that a nightly job moved to --distribute does not lose its SSHFP checks unnoticed. */
const NO_SSHFP_IN_RUNS = 'hostkeys: a distributed run does not check SSHFP records (it is recorded as --no-dns); hostkeys scan without --distribute checks them'

/** `--distribute`: enqueue the scan as a run for workers, then wait for it and report, or print its id. */
async function distributeScan(settings: ScanSettings, flags: ScanFlags, context: CommandContext): Promise<void> {
  const { enqueueRun, DEFAULT_SHARD_SIZE } = await import('../../app/distributed-runs.js')
  const { waitAndReport } = await import('./run.js')
  if (flags.sshfp || flags.format === 'known_hosts') throw new UserError('--distribute reports findings, as text or json: the keys are in the history (hostkeys known-hosts)')
  if (flags.detach && settings.metricsFile) throw new UserError('--metrics-file is written when the run is judged: give it to hostkeys run wait, not with --detach')
  const run = await enqueueRun(
    settings,
    { shardSize: flags.shardSize ?? DEFAULT_SHARD_SIZE, vantages: flags.vantage ?? [], partExpirySeconds: flags.shardExpiry ?? null },
    { stdin: context.stdin, env: context.env },
  )
  if (flags.detach) {
    if (!flags.quiet && settings.dns !== null) {
      writeLine(context.stderr, NO_SSHFP_IN_RUNS)
    }
    writeLine(context.stdout, String(run.id))
    context.exitCode = EXIT_OK
    return
  }
  if (!flags.quiet) writeLine(context.stderr, `hostkeys: run ${run.id}: ${run.targets} target(s) in ${run.shards} shard(s); waiting for workers (hostkeys worker)`)
  if (!flags.quiet && settings.dns !== null) {
    writeLine(context.stderr, NO_SSHFP_IN_RUNS)
  }
  context.lifecycle?.setInterruptionNote(`run ${run.id} goes on without this command: hostkeys run wait ${run.id}`)
  await waitAndReport(settings.history!.db!, settings.history!.timeoutMs, run.id, { format: flags.format as 'text' | 'json', failOn: flags.failOn, quiet: flags.quiet, ...(settings.metricsFile ? { metricsFile: settings.metricsFile } : {}) }, context)
}

/** `--list`, as `nmap -sL`: the targets a scan would take, and nothing contacted: no host, no DNS, no database. */
async function printTargets(settings: ScanSettings, context: CommandContext): Promise<void> {
  const { listTargets } = await import('../../app/run-scan.js')
  const targets = await listTargets(settings, context.stdin) // a bad line stops here, before any output
  writeLine(context.stdout, renderTargetListHeader())
  let count = 0
  for await (const target of targets) {
    count++
    // A /16 is 65,536 rows: let a slow reader (a pager) hold us back rather than buffer them all.
    if (!context.stdout.write(`${renderTargetRow(target)}\n`)) await once(context.stdout, 'drain')
  }
  writeLine(context.stderr, `hostkeys: ${renderTargetListSummary(count)}`)
  context.exitCode = EXIT_OK
}

/* What an interruption leaves behind once the scan is recorded. */
const REPORT_CUT_SHORT = 'the scan was recorded, but its report was cut short (hostkeys findings --open lists what needs a person)'
const SHARED_PRIMES_INTERRUPTED =
  'the scan was recorded, but not its shared-prime check: the RSA keys it had not compared stay pending, and the next scan compares them (hostkeys findings --open lists what needs a person)'
const INTERRUPTED_AFTER: Record<RecordingStage, string> = {
  scan: 'the scan was recorded, but its report was cut short and its shared-prime check is left to the next scan (hostkeys findings --open lists what needs a person)',
  'shared-primes': 'the scan and its shared-prime check were recorded, but the report was cut short (hostkeys findings --open lists what needs a person)',
}

async function scanAndReport(settings: ScanSettings, flags: OutputFlags, context: CommandContext): Promise<void> {
  // The scanner (ssh, DNS, inventory, analysis: ~50 ms of start-up) loads for scans only, not for
  // every command that registers next to this one.
  const { runScan, writeFailedRunMetrics } = await import('../../app/run-scan.js')
  const lifecycle = context.lifecycle
  // Whatever ends this scan early (bad input, the database, a signal), cron's metrics say so.
  const metricsFile = settings.metricsFile
  if (metricsFile) lifecycle?.onFailure(() => writeFailedRunMetrics(metricsFile))
  lifecycle?.setInterruptionNote('the scan stopped; nothing was recorded')

  const renderer = makeRenderer(flags, context)
  const showProgress = !!context.stderr.isTTY && !flags.quiet && !(flags.format === 'json' && !context.stdout.isTTY)
  const progress = showProgress ? progressLine(context.stderr) : null
  // Once failed, the output is final: probes still finishing while main winds down print nothing.
  let failed = false
  let started = false
  lifecycle?.onFailure((error) => {
    failed = true
    progress?.clear()
    if (started) renderer.fail?.(error)
  })
  const outcome = await runScan(settings, {
    stdin: context.stdin,
    env: context.env,
    ...(context.history && settings.history ? { store: context.history } : {}),
    ready: () => {
      started = true
      renderer.start()
    },
    // A signal during probing stops the scan at once; one during recording waits for the transaction
    // to end (committed or rolled back, within --db-timeout): a scan is recorded whole or not at all.
    // The shared-prime check after it is interrupted at once too, but for its own short transaction.
    ...(lifecycle
      ? {
          critical: async <T>(stage: RecordingStage, record: () => Promise<T>) => {
            const result = await lifecycle.critical(record, INTERRUPTED_AFTER[stage])
            lifecycle.setInterruptionNote(stage === 'scan' ? SHARED_PRIMES_INTERRUPTED : REPORT_CUT_SHORT)
            return result
          },
        }
      : {}),
    events: {
      warning: (message) => writeLine(context.stderr, `hostkeys: warning: ${message}`),
      observation(observation) {
        if (failed) return
        // Rows and the progress line share the terminal only when stdout is that terminal too (-D: its notes on stderr).
        if (context.stdout.isTTY || flags.sshfp) progress?.clear()
        renderer.host(observation)
      },
      progress: progress ? (p) => failed || progress.update(p) : undefined,
    },
  })
  if (settings.history) lifecycle?.setInterruptionNote(REPORT_CUT_SHORT)
  progress?.clear()
  renderer.finish(outcome)
  context.exitCode = outcome.findings.some((f) => isAtOrAbove(f.severity, flags.failOn)) ? EXIT_FINDINGS : EXIT_OK
}

export function registerScan(program: Command, context: CommandContext): void {
  const command = program
    .command('scan')
    .description('collect every host key the targets offer, judge them against history, and report')
    .argument('[targets...]', 'host, host:port, [host]:port, IPv4/IPv6 address, [v6]:port, or CIDR range')
    .option('-f, --file <path>', 'read targets from a file in ssh-keyscan -f form (- for stdin); repeatable', collect)
    .option('-p, --port <n>', 'port for targets that name none', parsePortOption, DEFAULT_SSH_PORT)
    .option('-t, --types <list>', 'key families to collect: ed25519,ecdsa,rsa,dsa,ed25519-sk,ecdsa-sk (default: every family offered)', parseKeyFamilies)
    .option('-T, --timeout <seconds>', 'deadline per connection: connect, banner and key exchange', parseSeconds, 5)
    .option('-c, --concurrency <n>', 'connections in flight at once', parsePositiveInteger, 128)
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).argParser(choice(FORMATS)).default('text'))
    .option('-H, --hash', 'hash host names in known_hosts output, as ssh-keygen -H does (only with --format known_hosts)')
    .option('-D, --sshfp', 'print SSHFP records of the keys collected, as ssh-keyscan -D does (an output format: not with --format)')
    .addOption(
      new Option('-E, --fingerprint-hash <hash>', 'fingerprint shown in text output, as ssh-keygen -E')
        .choices(FINGERPRINT_HASHES)
        .argParser(parseFingerprintHash)
        .default('sha256'),
    )
    .option('--list', 'print the targets the arguments and --file expand to, then exit: no host, DNS or database is contacted')
    .option('--no-store', 'do not read or write the history database')
    .option('--no-dns', 'do not check SSHFP records')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above: info, warning, critical, never', parseFailOn, 'warning')
    .option('-q, --quiet', 'print nothing unless a finding is at or above --fail-on (for cron)')
    .option('--vantage <name>', 'where this scan runs from, recorded with the scan (default: the host name); with --distribute, a vantage every host is scanned from, repeatable, the first judged (default: any worker)', collect)
    .option('--distribute', 'enqueue the scan for workers (hostkeys worker) in the PostgreSQL history, then wait and report')
    .option('--shard-size <n>', 'with --distribute: targets per shard', parsePositiveInteger)
    .option('--shard-expiry <seconds>', "with --distribute: how long a shard may stay with a worker before another takes it (default: the shard's worst case)", parseSeconds)
    .option('--detach', 'with --distribute: print the run id and exit (hostkeys run wait ID)')
    .option('--metrics-file <path>', 'write Prometheus metrics for node_exporter textfile collector')
    .option('--resolver <addr[:port]>', 'DNS resolver for SSHFP checks (repeatable; default /etc/resolv.conf)', collect)
    .option('--dns-timeout <seconds>', 'deadline per SSHFP query (default: resolv.conf timeout, else 2)', parseSeconds)
    .option('--unreachable-after <n>', 'consecutive failed scans after which a known host that stops answering is a warning, not info', parsePositiveInteger, 7)
    .option('--policy <file>', 'judge each host\'s algorithms and key sizes against this policy file (policy_violation; README "Policy file")')
    .option('--blocklist <file>', 'flag keys this blocklist names (badkeys\' blocklist.dat format) as compromised_key; README "Known-bad keys"')
    .option('--jump <hops>', 'reach every target through these jump hosts, [user@]host[:port][,...] first first, as ssh -J (login: the agent, then identity files)')
    .option('--ssh-config [file]', "per-target ProxyJump, HostName, Port, User, IdentityFile from an OpenSSH client config (default ~/.ssh/config)")
    .option('-F <file>', 'same as --ssh-config FILE, as ssh -F')
    .option('--cert-warn-days <n>', 'a host certificate that ends within this many days is cert_expiring (a warning)', parseNonNegativeInteger, 30)
  addDbOption(command).action(async (specs: string[], flags: ScanFlags) => {
    if (specs.length === 0 && !flags.file?.length) {
      throw new UserError('scan needs at least one target, or --file')
    }
    checkOutputFlags(flags, (option) => command.getOptionValueSource(option) === 'cli')
    const vantages = flags.vantage ?? []
    if (!flags.distribute) {
      if (vantages.length > 1) throw new UserError('--vantage names where this scan runs from: give it once (several are for --distribute)')
      for (const option of ['shardSize', 'shardExpiry', 'detach'] as const) {
        if (flags[option] !== undefined) throw new UserError(`--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --distribute`)
      }
    }
    const settings = resolveScanSettings({ ...flags, vantage: vantages[0] ?? hostname(), specs, files: flags.file ?? [] }, context.env)
    if (flags.list) return printTargets(settings, context)
    if (flags.distribute) return distributeScan(settings, flags, context)
    await scanAndReport(settings, flags, context)
  })
}
