import { echoInput } from '../domain/echo.js'
import type { KeyRecord } from '../domain/history.js'
import { statedFingerprint, type KeyStatement, type StatedKey } from '../domain/key-statement.js'
import { keyLabel } from './cert-authorities-report.js'

/* What `expect` and `self-report` print: the statement recorded, key by key, what it replaced, and
 * how it compares with what the host served at its last scan; text or one JSON document. Comments and
 * sources come from files anyone may have written: they are escaped. */

/** What the use case hands over (app/key-statements.ts RecordedStatement, as the renderer needs it). */
export interface StatementView {
  readonly statement: KeyStatement
  readonly host: { readonly identity: string; readonly known: boolean; readonly names: readonly string[]; readonly port: number }
  readonly replaced: Pick<KeyStatement, 'statedAt' | 'statedBy'> | null
  readonly lastScan: { readonly differing: readonly KeyRecord[]; readonly agreeing: readonly KeyRecord[] } | null
}

function when(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function label(key: StatedKey): string {
  return key.type !== null && key.bits !== null ? keyLabel({ type: key.type, bits: key.bits }) : key.family.toUpperCase()
}

const WHOSE = { expect: "the owner's statement", 'self-report': "the host's own report" } as const

/** How much a statement claims: every key the host has, or the families it lists. */
function scope(statement: Pick<KeyStatement, 'complete'>): string {
  return statement.complete ? 'every key the host has' : 'the families it lists'
}

/** The text lines: a heading, one line per key, then what it replaced and how it compares. */
export function renderStatementText(view: StatementView): string[] {
  const { statement, host } = view
  const lines = [`${host.identity}: recorded ${WHOSE[statement.source]} (${echoInput(statement.statedBy)}, ${when(statement.statedAt)}), of ${scope(statement)}:`]
  const width = Math.max(...statement.keys.map((k) => label(k).length))
  for (const key of statement.keys) {
    lines.push(`  ${label(key).padEnd(width)}  ${statedFingerprint(key)}${key.comment ? `  ${echoInput(key.comment, 80)}` : ''}`)
  }
  if (view.replaced) lines.push(`it replaces the statement of ${when(view.replaced.statedAt)} (${echoInput(view.replaced.statedBy)})`)
  if (!host.known) {
    lines.push(`${host.identity} is not in the history yet: the first scan that names it (${host.names[0]} on port ${host.port}) is compared with this statement`)
  } else if (view.lastScan === null) {
    lines.push(`${host.identity} has not been reached by a scan yet: the next scan that reaches it is compared with this statement`)
  } else if (view.lastScan.differing.length === 0) {
    lines.push(`it agrees with the ${view.lastScan.agreeing.length} key(s) ${host.identity} served at its last scan, of ${statement.complete ? 'every family' : 'the families it lists'}`)
  } else {
    const differing = view.lastScan.differing.map((r) => `${r.type} ${r.sha256}`).join(', ')
    lines.push(`it differs from what ${host.identity} served at its last scan (${differing}): the next scan that sees those keys reports oob_mismatch`)
  }
  return lines
}

function keyJson(key: StatedKey) {
  return { family: key.family, type: key.type, bits: key.bits, sha256: key.sha256, md5: key.md5, publicKey: key.blob && key.type ? `${key.type} ${key.blob.toString('base64')}` : null, comment: key.comment }
}

/** One JSON document: the statement, what it replaced, and the comparison with the last scan. */
export function renderStatementJson(view: StatementView): string {
  const { statement, host } = view
  return JSON.stringify({
    host: host.identity,
    known: host.known,
    source: statement.source,
    statedAt: statement.statedAt.toISOString(),
    statedBy: statement.statedBy,
    complete: statement.complete,
    keys: statement.keys.map(keyJson),
    replaced: view.replaced ? { statedAt: view.replaced.statedAt.toISOString(), statedBy: view.replaced.statedBy } : null,
    lastScan: view.lastScan
      ? {
          agrees: view.lastScan.differing.length === 0,
          differing: view.lastScan.differing.map((r) => ({ type: r.type, sha256: r.sha256, md5: r.md5 })),
        }
      : null,
  })
}

/** `history HOST`'s lines for the statements in force about the host: one per source. */
export function renderStatementsSummary(statements: readonly KeyStatement[]): string[] {
  return statements.map(
    (s) =>
      `  stated in ${WHOSE[s.source]} (${echoInput(s.statedBy)}, ${when(s.statedAt)}), of ${scope(s)}: ` +
      s.keys.map((k) => `${k.type ?? k.family} ${statedFingerprint(k)}`).join(', '),
  )
}
