import { Option, type Command } from 'commander'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerAudit(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('audit')
      .description('the fleet by algorithm, configuration and software, with the hosts that deviate from their group')
      .option('--policy <file>', 'also list the hosts whose algorithms or key sizes this policy refuses (README "Policy file")')
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (flags: DbFlags & { policy?: string; format: 'text' | 'json' }) => {
    // Loaded here: only this command needs the audit (every command is registered at start-up).
    const [{ auditStoredFleet }, { readPolicyFile }, { renderAuditJson, renderAuditText, renderPolicyText }] = await Promise.all([
      import('../../app/audit-fleet.js'),
      import('../../app/read-policy.js'),
      import('../../report/audit-report.js'),
    ])
    // The policy first: a typo in it stops the command before the database is opened.
    const policy = flags.policy === undefined ? null : await readPolicyFile(flags.policy)
    const { audit, policy: report } = await withStore(flags, context, (store) => auditStoredFleet(store, policy))
    if (flags.format === 'json') {
      writeLine(context.stdout, renderAuditJson(audit, report))
      return
    }
    if (audit.hostCount === 0) {
      writeLine(context.stderr, 'hostkeys: no host in the history has had its configuration read yet: run hostkeys scan first')
      return
    }
    writeLine(context.stdout, renderAuditText(audit))
    if (report) writeLine(context.stdout, `\n${renderPolicyText(report)}`)
  })
}
