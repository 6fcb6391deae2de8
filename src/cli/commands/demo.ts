import type { Command } from 'commander'
import type { DemoEvent } from '../../app/run-demo.js'
import { renderLookupText } from '../../report/lookup-report.js'
import { renderTextHeader, renderTextHost, renderTextSummary } from '../../report/scan-text.js'
import { writeLine, type CommandContext } from '../context.js'

function renderDemoEvent(event: DemoEvent): string[] {
  switch (event.kind) {
    case 'fleet':
      return [
        `Started a demo fleet of ${event.hosts.length} SSH servers inside this process, on loopback:`,
        ...event.hosts.map((h) => `  ${h}`),
        `History goes to a temporary embedded database in ${event.database}.`,
        '',
      ]
    case 'scan':
      return [
        `== hostkeys scan: ${event.title}`,
        renderTextHeader(),
        ...event.observations.flatMap(renderTextHost),
        renderTextSummary(event.outcome, event.outcome.findings),
        '',
      ]
    case 'rebuilt':
      return [`(${event.host} was reinstalled: it now serves new host keys)`, '']
    case 'lookup':
      return [`== hostkeys lookup ${event.query}`, ...renderLookupText(event.matches), '']
    case 'sshfp':
      return [`== hostkeys sshfp ${event.host}: the records to publish in DNS`, event.zone.trimEnd(), '']
  }
}

export function registerDemo(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description('scan a throwaway in-process fleet twice and show findings, a lookup and SSHFP records')
    .action(async () => {
      // The demo fleet runs on ssh2's server: loaded for the demo only, not at every command's start.
      const { runDemo } = await import('../../app/run-demo.js')
      await runDemo((event) => {
        for (const line of renderDemoEvent(event)) writeLine(context.stdout, line)
      })
      writeLine(
        context.stdout,
        'Demo done; the fleet and its database are gone. Next: hostkeys scan YOUR-HOSTS (see hostkeys scan --help).',
      )
    })
}
