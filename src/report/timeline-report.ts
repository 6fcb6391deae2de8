import { renderStoredFindingText } from './findings-report.js'
import type { HostTimeline } from '../domain/history.js'

function at(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`
}

/** `hostkeys history HOST`: the host's keys with their ledger state, acceptances, trust changes, waivers, failures and findings, in time order. */
export function renderTimelineText(t: HostTimeline): string[] {
  const events: { when: Date; line: string }[] = []
  for (const k of t.keys) {
    events.push({ when: k.firstSeen, line: `${k.source === 'import' ? 'imported' : 'first served'} ${k.type} ${k.sha256}` })
    if (k.lastSeen && !k.current) events.push({ when: k.lastSeen, line: `last served ${k.type} ${k.sha256}` })
  }
  for (const a of t.acceptances) {
    events.push({ when: a.acceptedAt, line: `accepted by ${a.acceptedBy}${a.reason ? ` (${a.reason})` : ''}: ${a.fingerprints.join(', ')}` })
  }
  for (const c of t.trustChanges) {
    events.push({ when: c.at, line: `${c.sha256} became ${c.trust}: ${c.actor}${c.reason ? ` (${c.reason})` : ''}` })
  }
  for (const w of t.waivers) {
    events.push({ when: w.waivedAt, line: `${w.kind} waived by ${w.waivedBy} until ${w.until ? at(w.until) : 'withdrawn'} (${w.reason})` })
  }
  for (const f of t.failures) events.push({ when: f.at, line: `did not answer: ${f.status}${f.error ? ` (${f.error})` : ''}` })
  for (const f of t.findings) events.push({ when: f.firstSeen, line: renderStoredFindingText(f).slice(22) })
  events.sort((a, b) => a.when.getTime() - b.when.getTime())
  const current = t.keys.filter((k) => k.current)
  return [
    `${t.host}${t.names.length ? ` (also ${t.names.join(', ')})` : ''}: first seen ${at(t.firstSeen)}, ` +
      `last reached ${t.lastReached ? at(t.lastReached) : 'never'}${t.lastStatus ? `, last status ${t.lastStatus}` : ''}`,
    ...current.map((k) => `  serves ${k.type} ${k.sha256} (${k.trust})`),
    ...events.map((e) => `${at(e.when)}  ${e.line}`),
  ]
}
