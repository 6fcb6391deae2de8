import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { COMMAND_REFERENCE_PATH, renderCommandReference } from '../../src/cli/command-reference.js'
import { main } from '../../src/cli/main.js'
import { capturedStreams } from '../support/captured-streams.js'

/* The docs people read stay true to the code: the command reference is what the generator renders
 * from the commands' help now, it lists every option `--help` prints, README stays short, and every
 * link between README and docs/ leads to a file and a heading that exist. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Pages made elsewhere with a currency test of their own (the finding catalogue's reference). */
const GENERATED_ELSEWHERE = new Set(['docs/findings.md'])

async function help(path: readonly string[]): Promise<string> {
  const streams = capturedStreams()
  const code = await main(['node', 'hostkeys', ...path, '--help'], { stdout: streams.stdout, stderr: streams.stderr, stdin: new PassThrough(), env: {} })
  assert.equal(code, 0, `hostkeys ${path.join(' ')} --help exits 0`)
  return streams.written().stdout
}

/** The option terms of a --help text: the lines of its Options list (continuation lines are indented further). */
function optionTerms(text: string): string[] {
  const terms = [...text.matchAll(/^ {2}(-\S.*?)(?: {2,}|$)/gm)].map((m) => m[1]!)
  return terms.filter((term) => term !== '-h, --help')
}

/** A command's section of the reference: from its heading to the next. */
function referenceSection(reference: string, name: string): string {
  const start = reference.indexOf(`\n## ${name}\n`)
  assert.ok(start >= 0, `docs/commands.md has a section for ${name}`)
  const end = reference.indexOf('\n## ', start + 1)
  return reference.slice(start, end < 0 ? undefined : end)
}

/** GitHub's heading anchors, as the docs link to them. */
function anchors(markdown: string): Set<string> {
  const headings = [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!)
  return new Set(headings.map((h) => h.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-')))
}

describe('docs/commands.md', () => {
  it('is what `npm run docs` renders from the commands now (run it after changing a command)', () => {
    const onDisk = read(COMMAND_REFERENCE_PATH)
    const rendered = renderCommandReference()
    if (onDisk !== rendered) {
      const a = onDisk.split('\n')
      const b = rendered.split('\n')
      const line = a.findIndex((text, i) => text !== b[i])
      assert.fail(`docs/commands.md is stale from line ${line + 1}:\n  on disk:  ${a[line]}\n  rendered: ${b[line]}\nrun: npm run docs`)
    }
  })

  it("lists every option each command's --help prints, for every command --help lists", async () => {
    const reference = read(COMMAND_REFERENCE_PATH)
    // The names of a help text's Commands list (its other lines are continuations, indented further).
    const commandsOf = (text: string) => {
      const list = text.split(/^Commands:\n/m)[1]?.split(/\n\n/)[0] ?? ''
      return [...list.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help')
    }
    const paths: string[][] = []
    for (const name of commandsOf(await help([]))) {
      paths.push([name])
      for (const sub of commandsOf(await help([name]))) paths.push([name, sub])
    }
    assert.ok(paths.length >= 20, `found ${paths.length} commands in --help`)
    for (const path of paths) {
      const section = referenceSection(reference, ['hostkeys', ...path].join(' '))
      for (const term of optionTerms(await help(path))) {
        assert.ok(section.includes(`| \`${term}\` |`), `docs/commands.md lists ${term} of hostkeys ${path.join(' ')}`)
      }
    }
  })
})

describe('README.md and docs/', () => {
  it('README is at most 250 lines', () => {
    const lines = read('README.md').trimEnd().split('\n').length
    assert.ok(lines <= 250, `README.md has ${lines} lines`)
  })

  it('every relative link leads to a file, and to a heading there when it names one', () => {
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    for (const page of pages) {
      const text = read(page).replace(/```[\s\S]*?```/g, '')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue // https:, mailto:
        const [file, anchor] = target!.split('#') as [string, string | undefined]
        const path = file === '' ? page : join(dirname(page), file)
        if (GENERATED_ELSEWHERE.has(path) && !existsSync(join(ROOT, path))) continue
        assert.ok(existsSync(resolve(ROOT, path)), `${page} links to ${target}: ${path} does not exist`)
        if (anchor && path.endsWith('.md')) {
          assert.ok(anchors(read(path)).has(anchor), `${page} links to ${target}: ${path} has no heading #${anchor}`)
        }
      }
    }
  })

  it('cite no issue numbers or commit hashes', () => {
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    for (const page of pages) {
      const text = read(page)
      assert.doesNotMatch(text, /\bissues? #?\d+/i, `${page} cites an issue`)
      assert.doesNotMatch(text, /\b(?:commit|at|before|build) \(?[0-9a-f]{7,40}\b|\([0-9a-f]{7,12}\)/, `${page} cites a commit`)
    }
  })
})
