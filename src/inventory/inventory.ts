import { createReadStream } from 'node:fs'
import { access, constants } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { UserError } from '../domain/errors.js'
import type { Target } from '../domain/target.js'
import { parseInventoryLine, type InventoryLine } from './inventory-line.js'
import { expandSpec, parseTargetSpec, specSize, type TargetSpec } from './target-spec.js'
import { echoInput } from '../domain/echo.js'

/* The inventory is validated whole before the first connection (a bad line 90,000 must stop the
 * scan before it starts), then streamed: a file is read twice rather than held in memory; only
 * stdin, which cannot be re-read, keeps its parsed lines. */

export class InventoryError extends UserError {
  override name = 'InventoryError'
}

export interface InventorySources {
  /** Target specs from the command line. */
  readonly specs: readonly string[]
  /** Inventory files; `-` is standard input. */
  readonly files: readonly string[]
  readonly defaultPort: number
  /** Standard input, for `-`. */
  readonly stdin?: Readable
}

export interface Inventory {
  /** Number of targets the inventory stands for (ranges expanded arithmetically). */
  readonly size: number
  /** The targets, lazily, in inventory order. */
  targets(): AsyncIterable<Target>
}

async function* readLines(input: Readable): AsyncGenerator<string> {
  const lines = createInterface({ input, crlfDelay: Infinity })
  for await (const line of lines) yield line
}

function sourceName(file: string): string {
  return file === '-' ? '<stdin>' : file
}

async function* parseFile(
  file: string,
  defaultPort: number,
  stdin: Readable | undefined,
): AsyncGenerator<{ line: InventoryLine; at: string }> {
  let input: Readable
  if (file === '-') {
    if (!stdin) throw new InventoryError('standard input is not available to read targets from')
    input = stdin
  } else {
    try {
      await access(file, constants.R_OK)
    } catch (e) {
      throw new InventoryError(`cannot read inventory file ${echoInput(file)}: ${(e as Error).message}`, { cause: e })
    }
    input = createReadStream(file, { encoding: 'utf8' })
  }
  let number = 0
  try {
    for await (const text of readLines(input)) {
      number++
      const at = `${echoInput(sourceName(file))}:${number}`
      const parsed = parseInventoryLine(text, defaultPort)
      if (parsed === null) continue
      if (typeof parsed === 'string') {
        throw new InventoryError(`${at}: ${parsed} (line: '${echoInput(text)}')`)
      }
      yield { line: parsed, at }
    }
  } catch (e) {
    if (e instanceof InventoryError) throw e
    throw new InventoryError(`cannot read inventory file ${echoInput(sourceName(file))}: ${(e as Error).message}`, { cause: e })
  } finally {
    if (file !== '-') input.destroy()
  }
}

/** Validates every source, then returns an inventory that streams its targets. Throws InventoryError. */
export async function openInventory(sources: InventorySources): Promise<Inventory> {
  const specs: TargetSpec[] = []
  for (const text of sources.specs) {
    const spec = parseTargetSpec(text, sources.defaultPort)
    if (typeof spec === 'string') throw new InventoryError(`target ${spec}`)
    specs.push(spec)
  }
  if (sources.files.filter((f) => f === '-').length > 1) {
    throw new InventoryError('standard input (-) can be given only once')
  }

  let size = specs.reduce((n, spec) => n + specSize(spec), 0)
  const stdinLines: { line: InventoryLine; at: string }[] = []
  for (const file of sources.files) {
    for await (const entry of parseFile(file, sources.defaultPort, sources.stdin)) {
      size += specSize(entry.line.spec)
      if (file === '-') stdinLines.push(entry)
    }
  }

  return {
    size,
    async *targets() {
      for (const spec of specs) yield* expandSpec(spec, 'argv')
      for (const file of sources.files) {
        const entries = file === '-' ? stdinLines : parseFile(file, sources.defaultPort, undefined)
        for await (const { line, at } of entries) yield* expandSpec(line.spec, at, line.identity, line.aliases)
      }
    },
  }
}
