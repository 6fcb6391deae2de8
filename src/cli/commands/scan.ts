import { once } from 'node:events'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { Command, Option } from 'commander'
import { scanFleet, type ScanDependencies, type ScanJudge, type ScanOutcome } from '../../app/scan-fleet.js'
import { resolverFromSettings, sshfpCheckFor } from '../../app/sshfp-check.js'
import { historyJudge, standaloneJudge } from '../../app/scan-judges.js'
import { OperationalError, UserError } from '../../domain/errors.js'
import { isAtOrAbove, type FailOn, type Finding } from '../../domain/finding.js'
import type { KeyFamily } from '../../domain/host-key.js'
import type { Observation } from '../../domain/observation.js'
import { DEFAULT_SSH_PORT, parseIdentity } from '../../domain/target.js'
import { openInventory, type Inventory } from '../../inventory/inventory.js'
import { renderKnownHostsLines } from '../../report/known-hosts.js'
import { renderFailedRunMetrics, renderMetrics } from '../../report/metrics.js'
import { ScanJsonWriter } from '../../report/scan-json.js'
import { renderScanSshfp } from '../../report/scan-sshfp.js'
import {
  FINGERPRINT_HASHES,
  renderTextFinding,
  renderTextHeader,
  renderTextHostRows,
  renderTextSummary,
  type FingerprintHash,
} from '../../report/scan-text.js'
import { renderTargetListHeader, renderTargetListSummary, renderTargetRow } from '../../report/target-list.js'
import { scanTargets } from '../../ssh/scan-targets.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, openHistory } from '../with-store.js'
import { EXIT_FINDINGS, EXIT_OK } from '../main.js'
import {
  choice,
  collect,
  parseFailOn,
  parseFingerprintHash,
  parseKeyFamilies,
  parsePortOption,
  parsePositiveInteger,
  parseSeconds,
} from '../options.js'
import { progressLine } from '../progress.js'

const FORMATS = ['text', 'json', 'known_hosts'] as const
type ScanFormat = (typeof FORMATS)[number]

interface ScanFlags {
  file?: string[]
  port: number
  types?: KeyFamily[]
  timeout: number
  concurrency: number
  format: ScanFormat
  hash?: boolean
  /** -D: SSHFP records instead of --format's output. */
  sshfp?: boolean
  fingerprintHash: FingerprintHash
  list?: boolean
  store: boolean
  dns: boolean
  failOn: FailOn
  quiet?: boolean
  db?: string
  dbTimeout?: number
  vantage?: string
  metricsFile?: string
  resolver?: string[]
  dnsTimeout?: number
  unreachableAfter: number
}

/** Renders a scan to stdout as it runs, in one of the three formats. */
interface ScanRenderer {
  start(): void
  host(observation: Observation): void
  finish(outcome: ScanOutcome): void
  /** The scan failed after start(): leave the output well-formed (JSON: closed, with the error). */
  fail?(error: unknown): void
}

function makeRenderer(flags: ScanFlags, context: CommandContext): ScanRenderer {
  const out = (text: string) => context.stdout.write(text)
  const failing = (findings: readonly Finding[]) => findings.filter((f) => isAtOrAbove(f.severity, flags.failOn))
  if (flags.quiet) {
    // For cron: nothing at all unless something at or above --fail-on needs a person.
    return {
      start() {},
      host() {},
      finish(outcome) {
        for (const finding of failing(outcome.findings)) writeLine(context.stdout, renderTextFinding(finding))
      },
    }
  }
  if (flags.sshfp) {
    // ssh-keyscan -D's split: records on stdout; on stderr, as `;` comments, why a host has none, and the findings.
    return {
      start() {},
      host(observation) {
        const { records, notes } = renderScanSshfp(observation)
        if (records) out(records)
        for (const note of notes) writeLine(context.stderr, note)
      },
      finish(outcome) {
        for (const finding of outcome.findings) writeLine(context.stderr, `; ${renderTextFinding(finding)}`)
      },
    }
  }
  switch (flags.format) {
    case 'json': {
      const writer = new ScanJsonWriter()
      return {
        start: () => out(writer.open()),
        host: (observation) => out(writer.host(observation)),
        finish: (outcome) => out(writer.close(outcome.findings)),
        fail: (error) => out(writer.abort(error instanceof Error ? error.message : String(error))),
      }
    }
    case 'known_hosts':
      return {
        start() {},
        host(observation) {
          const names = [parseIdentity(observation.target.host).name, ...(observation.address ? [observation.address] : [])]
          for (const key of observation.keys) {
            for (const line of renderKnownHostsLines({ names, port: observation.target.port, key }, { hash: !!flags.hash })) {
              writeLine(context.stdout, line)
            }
          }
        },
        finish(outcome) {
          for (const finding of outcome.findings) writeLine(context.stderr, renderTextFinding(finding))
        },
      }
    case 'text':
      return {
        start: () => writeLine(context.stdout, renderTextHeader()),
        host: (observation) => {
          for (const line of renderTextHostRows(observation, flags.fingerprintHash)) writeLine(context.stdout, line)
        },
        finish: (outcome) => writeLine(context.stdout, renderTextSummary(outcome, outcome.findings)),
      }
  }
}

/**
 * Output flags that do not fit together are usage errors (exit 2), never silently ignored: --hash changes
 * only known_hosts lines, -E only the text table, and -D is an output format of its own. `given` tells a
 * flag the user typed from one left at its default. --list takes any scan command line that passes this.
 */
function checkOutputFlags(flags: ScanFlags, given: (option: 'format' | 'fingerprintHash') => boolean): void {
  if (flags.sshfp && given('format')) {
    throw new UserError(`-D prints SSHFP records, an output format of its own; it cannot be combined with --format ${flags.format}`)
  }
  const output = flags.sshfp ? '-D' : `--format ${flags.format}`
  if (flags.hash && (flags.sshfp || flags.format !== 'known_hosts')) {
    throw new UserError(`--hash hashes host names in known_hosts lines; it does not apply to ${output} (use it with --format known_hosts)`)
  }
  if (given('fingerprintHash') && (flags.sshfp || flags.format !== 'text')) {
    const both = !flags.sshfp && flags.format === 'json' ? ', which gives both sha256 and md5' : ''
    throw new UserError(`-E chooses the fingerprint shown in text output; it does not apply to ${output}${both}`)
  }
}

async function writeMetricsFile(path: string, text: string): Promise<void> {
  // Write then rename, so node_exporter never reads half a file.
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, text)
    await rename(temporary, path)
  } catch (e) {
    throw new OperationalError(`cannot write metrics file ${path}: ${(e as Error).message}`, { cause: e })
  }
}

/** The metrics file after a failed run: the last success's figures kept, the run marked failed. */
async function writeFailedRunMetrics(path: string): Promise<void> {
  const previous = await readFile(path, 'utf8').catch(() => null)
  await writeMetricsFile(path, renderFailedRunMetrics(previous))
}

/** The inventory the arguments and --file name, validated whole (a bad line stops everything with its file:line). */
function openScanInventory(specs: string[], flags: ScanFlags, context: CommandContext): Promise<Inventory> {
  return openInventory({
    specs,
    files: flags.file ?? [],
    defaultPort: flags.port,
    stdin: context.stdin,
  })
}

/** `--list`, as `nmap -sL`: the targets a scan would take, and nothing contacted: no host, no DNS, no database. */
async function listTargets(specs: string[], flags: ScanFlags, context: CommandContext): Promise<void> {
  const inventory = await openScanInventory(specs, flags, context)
  writeLine(context.stdout, renderTargetListHeader())
  let count = 0
  for await (const target of inventory.targets()) {
    count++
    // A /16 is 65,536 rows: let a slow reader (a pager) hold us back rather than buffer them all.
    if (!context.stdout.write(`${renderTargetRow(target)}\n`)) await once(context.stdout, 'drain')
  }
  writeLine(context.stderr, `hostkeys: ${renderTargetListSummary(count)}`)
  context.exitCode = EXIT_OK
}

async function runScan(specs: string[], flags: ScanFlags, context: CommandContext): Promise<void> {
  // Whatever ends this scan early (bad input, the database, a signal), cron's metrics say so.
  const metricsFile = flags.metricsFile
  if (metricsFile) context.lifecycle?.onFailure(() => writeFailedRunMetrics(metricsFile))
  context.lifecycle?.setInterruptionNote('the scan stopped; nothing was recorded')
  const inventory = await openScanInventory(specs, flags, context)
  const dnsTimeoutMs = flags.dnsTimeout ? flags.dnsTimeout * 1000 : null
  const checkDns = flags.dns
    ? sshfpCheckFor(await resolverFromSettings(flags.resolver ?? [], dnsTimeoutMs), flags.types ?? null)
    : null
  // Opened before the first connection: a database that is down stops the scan before it starts.
  const store = flags.store ? await openHistory(flags, context, { create: true }) : null
  try {
    const deps: ScanDependencies = {
      collect: (targets, options) => scanTargets(targets, options),
      // A database scan keeps its observations for recordScan; a --no-store scan keeps none.
      judge: uninterruptedRecording(
        store
          ? historyJudge(store, {
              vantage: flags.vantage ?? hostname(),
              request: { specs, files: flags.file ?? [], dnsChecked: flags.dns },
              unreachableAfter: flags.unreachableAfter,
            })
          : standaloneJudge(),
        context,
      ),
      checkDns,
      now: () => new Date(),
    }
    await scanAndReport(inventory, deps, flags, context)
  } finally {
    await store?.close()
  }
}

/**
 * A signal during probing stops the scan at once; one during recording waits for the transaction to
 * end (committed or rolled back, within --db-timeout), so a scan is recorded whole or not at all.
 */
function uninterruptedRecording(judge: ScanJudge, context: CommandContext): ScanJudge {
  const lifecycle = context.lifecycle
  if (!lifecycle) return judge
  return {
    observe: (observation) => judge.observe(observation),
    finish: (meta, dnsFindings) =>
      lifecycle.critical(
        () => judge.finish(meta, dnsFindings),
        'the scan was recorded, but its report was cut short (hostkeys findings --open lists what needs a person)',
      ),
  }
}

async function scanAndReport(inventory: Inventory, deps: ScanDependencies, flags: ScanFlags, context: CommandContext): Promise<void> {
  const renderer = makeRenderer(flags, context)
  const showProgress =
    !!context.stderr.isTTY && !flags.quiet && !(flags.format === 'json' && !context.stdout.isTTY)
  const progress = showProgress ? progressLine(context.stderr) : null

  // Once failed, the output is final: probes still finishing while main winds down print nothing.
  let failed = false
  context.lifecycle?.onFailure((error) => {
    failed = true
    progress?.clear()
    renderer.fail?.(error)
  })
  renderer.start()
  const outcome = await scanFleet(
    { inventory, families: flags.types ?? null, timeoutMs: flags.timeout * 1000, concurrency: flags.concurrency },
    deps,
    {
      observation(observation) {
        if (failed) return
        // Rows and the progress line share the terminal only when stdout is that terminal too (-D: its notes on stderr).
        if (context.stdout.isTTY || flags.sshfp) progress?.clear()
        renderer.host(observation)
      },
      progress: progress ? (p) => failed || progress.update(p) : undefined,
    },
  )
  progress?.clear()
  renderer.finish(outcome)
  if (flags.metricsFile) await writeMetricsFile(flags.metricsFile, renderMetrics({ ...outcome, finishedAt: new Date() }))
  context.exitCode = outcome.findings.some((f) => isAtOrAbove(f.severity, flags.failOn)) ? EXIT_FINDINGS : EXIT_OK
}

export function registerScan(program: Command, context: CommandContext): void {
  const command = program
    .command('scan')
    .description('collect every host key the targets offer, judge them against history, and report')
    .argument('[targets...]', 'host, host:port, [host]:port, IPv4/IPv6 address, [v6]:port, or CIDR range')
    .option('-f, --file <path>', 'read targets from a file in ssh-keyscan -f form (- for stdin); repeatable', collect)
    .option('-p, --port <n>', 'port for targets that name none', parsePortOption, DEFAULT_SSH_PORT)
    .option('-t, --types <list>', 'key families to collect: ed25519,ecdsa,rsa,dsa (default: every family offered)', parseKeyFamilies)
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
    .option('--vantage <name>', 'where this scan runs from, recorded with the scan', hostname())
    .option('--metrics-file <path>', 'write Prometheus metrics for node_exporter textfile collector')
    .option('--resolver <addr[:port]>', 'DNS resolver for SSHFP checks (repeatable; default /etc/resolv.conf)', collect)
    .option('--dns-timeout <seconds>', 'deadline per SSHFP query (default: resolv.conf timeout, else 2)', parseSeconds)
    .option('--unreachable-after <n>', 'consecutive failed scans after which a known host that stops answering is a warning, not info', parsePositiveInteger, 7)
  addDbOption(command).action(async (specs: string[], flags: ScanFlags) => {
      if (specs.length === 0 && !flags.file?.length) {
        throw new UserError('scan needs at least one target, or --file')
      }
      checkOutputFlags(flags, (option) => command.getOptionValueSource(option) === 'cli')
      if (flags.list) return listTargets(specs, flags, context)
      await runScan(specs, flags, context)
    })
}
