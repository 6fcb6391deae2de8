import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expectedRecords } from '../src/domain/fingerprint/sshfp-record.js'
import { describeKey } from '../src/domain/fingerprint/key-blob.js'
import { renderSshfpZone } from '../src/report/sshfp-zone.js'
import { startNamed } from '../test/support/bind.js'
import { loopbackRange, startSshd } from '../test/support/sshd.js'
import { measure, median, requireGnuTime, type Measured } from './measure.js'

/* DNS benchmark (issue 4): what SSHFP checks cost a scan. One fleet of default-config OpenSSH servers
 * whose identities are DNS names, an authoritative BIND serving their SSHFP records, and `hostkeys scan`
 * timed with the checks on and with --no-dns, alternating which goes first. Target: at most 10% more
 * wall time with DNS, since the lookups run alongside the probes. Loopback only (127.6.0.0/16). */

const HOSTKEYS = path.resolve(import.meta.dirname, '../bin/hostkeys.js')
const ZONE = 'bench.test'
const NAMED_ADDRESS = '127.6.0.53'

export interface DnsBenchOptions {
  readonly hosts: number
  readonly rounds: number
}

interface ScanDocument {
  hosts: { status: string }[]
  findings: { kind: string }[]
}

function checked(name: string, measured: Measured, hosts: number, withDns: boolean): void {
  if (measured.exitCode > 1) throw new Error(`${name} exited ${measured.exitCode}: ${measured.stderr.slice(0, 500)}`)
  const document = JSON.parse(measured.stdout) as ScanDocument
  const reached = document.hosts.filter((h) => h.status === 'ok').length
  if (reached !== hosts) throw new Error(`${name}: reached ${reached} of ${hosts} hosts`)
  const count = (kind: string) => document.findings.filter((f) => f.kind === kind).length
  // With DNS, each host's records are right, so exactly one sshfp_insecure each (BIND sets no AD bit):
  // proof that every lookup was made and answered, not skipped.
  const sshfp = document.findings.filter((f) => f.kind.startsWith('sshfp_') || f.kind === 'dns_error')
  if (withDns && (count('sshfp_insecure') !== hosts || sshfp.length !== hosts)) {
    throw new Error(`${name}: expected ${hosts} sshfp_insecure findings and no other DNS finding, got ${JSON.stringify(sshfp.slice(0, 5))}`)
  }
  if (!withDns && sshfp.length > 0) throw new Error(`${name}: DNS findings despite --no-dns`)
}

/** Runs the DNS benchmark and returns its report lines. */
export async function runDnsBench(options: DnsBenchOptions): Promise<string[]> {
  requireGnuTime()
  const addresses = loopbackRange('127.6.1', options.hosts)
  const server = await startSshd({ addresses, keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] })
  const inventory = path.join(tmpdir(), `hostkeys-bench-dns-${process.pid}.txt`)
  let named: Awaited<ReturnType<typeof startNamed>> | null = null
  try {
    const names = addresses.map((_, i) => `host${i + 1}.${ZONE}`)
    writeFileSync(inventory, addresses.map((a, i) => `${a} ${names[i]}\n`).join(''))
    // The fleet is a clone set: every host serves the same keys, so every name gets the same records.
    const keys = Object.values(server.publicKeys).map((line) => describeKey(Buffer.from(line!.split(' ')[1]!, 'base64')))
    const records = expectedRecords(keys)
    const zone = [
      '$TTL 300',
      `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 300`,
      `@ IN NS ns.${ZONE}.`,
      `ns IN A ${NAMED_ADDRESS}`,
      renderSshfpZone(names.map((host) => ({ host, records }))),
    ].join('\n')
    named = await startNamed(NAMED_ADDRESS, [{ name: ZONE, text: zone }])

    const common = [HOSTKEYS, 'scan', '-p', String(server.port), '-T', '10', '-f', inventory, '--no-store', '--format', 'json']
    const withDns: Measured[] = []
    const withoutDns: Measured[] = []
    const runWith = async () => {
      const measured = await measure(process.execPath, [...common, '--resolver', `${NAMED_ADDRESS}:${named!.nameserver.port}`])
      checked('hostkeys scan (SSHFP checks)', measured, options.hosts, true)
      withDns.push(measured)
    }
    const runWithout = async () => {
      const measured = await measure(process.execPath, [...common, '--no-dns'])
      checked('hostkeys scan --no-dns', measured, options.hosts, false)
      withoutDns.push(measured)
    }
    for (let round = 0; round < options.rounds; round++) {
      if (round % 2 === 0) {
        await runWith()
        await runWithout()
      } else {
        await runWithout()
        await runWith()
      }
    }

    const wall = (runs: Measured[]) => median(runs.map((r) => r.wallSeconds))
    const cpu = (runs: Measured[]) => median(runs.map((r) => r.cpuSeconds))
    const rss = (runs: Measured[]) => median(runs.map((r) => r.peakRssMb))
    const ratio = wall(withDns) / wall(withoutDns)
    const row = (label: string, on: number, off: number, digits: number) =>
      `  ${label.padEnd(18)}${on.toFixed(digits).padStart(12)}${off.toFixed(digits).padStart(12)}${(on / off).toFixed(2).padStart(10)}`
    return [
      `dns: ${options.hosts} OpenSSH hosts with DNS-name identities, SSHFP from BIND on loopback, --no-store, ${options.rounds} rounds, medians`,
      `  ${''.padEnd(18)}${'SSHFP on'.padStart(12)}${'--no-dns'.padStart(12)}${'ratio'.padStart(10)}`,
      row('wall time (s)', wall(withDns), wall(withoutDns), 2),
      row('client CPU (s)', cpu(withDns), cpu(withoutDns), 2),
      row('peak RSS (MB)', rss(withDns), rss(withoutDns), 1),
      `  wall-time ratio ${ratio.toFixed(3)} (target <= 1.10): ${ratio <= 1.1 ? 'met' : 'NOT met'}; ` +
        `per-round ratios ${withDns.map((r, i) => (r.wallSeconds / withoutDns[i]!.wallSeconds).toFixed(2)).join(' ')}`,
    ]
  } catch (e) {
    if (named) process.stderr.write(`named log:\n${named.log().slice(-2000)}\n`)
    throw e
  } finally {
    await named?.stop()
    await server.stop()
    rmSync(inventory, { force: true })
  }
}

/** For a quick run on its own: `node --import tsx bench/dns.ts` (after npm run build). */
if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await runDnsBench({ hosts: Number(process.env.BENCH_HOSTS ?? 208), rounds: Number(process.env.BENCH_ROUNDS ?? 5) })
  for (const line of lines) console.log(line)
}
