import type { Target } from '../domain/target.js'

/* `scan --list`: the targets an inventory and the command line expand to, one row each, printed as they
 * are expanded (a /16 is 65,536 rows), so the columns have fixed widths as in the scan table, and a long
 * name pushes its row right rather than being cut. */

const COLUMNS: [title: string, width: number][] = [
  ['HOST', 28],
  ['ADDRESS', 39], // the longest IPv6 address
  ['PORT', 5],
]

function row(cells: readonly string[], last: string): string {
  return `${cells.map((cell, i) => cell.padEnd(COLUMNS[i]![1])).join(' ')} ${last}`.trimEnd()
}

export function renderTargetListHeader(): string {
  return row(
    COLUMNS.map(([title]) => title),
    'ALIASES',
  )
}

/** One target: its identity, where a scan would connect, the port, and its other names and addresses. */
export function renderTargetRow(target: Target): string {
  // The address connected to is one of the host's aliases too; it is already in its own column.
  const aliases = target.aliases.filter((alias) => alias !== target.address)
  return row([target.host, target.address, String(target.port)], aliases.join(','))
}

export function renderTargetListSummary(count: number): string {
  return `${count} target(s); no host, DNS server or database was contacted`
}
