import type { Command } from 'commander'
import path from 'node:path'
import { writeLine, type CommandContext } from '../context.js'
import { checkPageFile, writePage } from '../page-writer.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerReport(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('report')
      .description('the fleet\'s state on one HTML page: findings, key types, key ages, certificate expiry, what needs action')
      .requiredOption('--out <file>', 'the HTML file to write (replaced if it exists)'),
  ).action(async (flags: DbFlags & { out: string }) => {
    await checkPageFile(flags.out) // before the database: a wrong --out costs nothing
    const { buildFleetReport } = await import('../../app/fleet-report.js') // charts and pages: only for this command
    const report = await withStore(flags, context, (store) => buildFleetReport(store, new Date()))
    await writePage(flags.out, report.html)
    const { critical, warning } = report.summary.openBySeverity
    writeLine(context.stdout, `report of ${report.summary.hosts} host(s), ${critical} critical and ${warning} warning finding(s) open: ${path.resolve(flags.out)}`)
  })
}
