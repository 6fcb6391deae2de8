import { isIP } from 'node:net'
import { isHostName } from './address.js'
import { parseTargetSpec, TARGET_FORMS, type TargetSpec } from './target-spec.js'
import { echoInput } from '../domain/echo.js'

/* One line of an inventory file, in `ssh-keyscan -f` form:
 *     ADDR[,ADDR…] [NAME[,NAME…]]      # comment
 * The first ADDR is where to connect; the first NAME, when given, is the host's identity; every
 * other ADDR and NAME is an alias of the same host. */

export interface InventoryLine {
  readonly spec: TargetSpec
  readonly identity: string | null
  readonly aliases: readonly string[]
}

/** Parses one line; null for blank and comment lines, a message (what was expected) when malformed. */
export function parseInventoryLine(raw: string, defaultPort: number): InventoryLine | null | string {
  const hash = raw.indexOf('#')
  const text = (hash >= 0 ? raw.slice(0, hash) : raw).trim()
  if (text.length === 0) return null
  const fields = text.split(/\s+/)
  if (fields.length > 2) return `expected 'ADDR[,ADDR…] [NAME[,NAME…]]', found ${fields.length} fields`

  const addresses = fields[0]!.split(',')
  const names = fields[1]?.split(',') ?? []
  for (const item of [...addresses, ...names]) {
    if (item.length === 0) return `empty entry in a comma-separated list`
  }
  const specs: TargetSpec[] = []
  for (const address of addresses) {
    const spec = parseTargetSpec(address, defaultPort)
    if (typeof spec === 'string') return spec
    specs.push(spec)
  }
  const first = specs[0]!
  if (first.kind === 'range' && (specs.length > 1 || names.length > 0)) {
    return `a CIDR range (${first.text}) stands alone on its line: it cannot take names or further addresses`
  }
  for (const name of names) {
    if (isIP(name) === 0 && !isHostName(name)) return `'${echoInput(name)}' is not a host name or address`
  }
  const identity = names[0]?.toLowerCase() ?? null
  const aliases = [
    ...specs.slice(identity === null ? 1 : 0).map((s) => (s.kind === 'single' ? s.host : s.text)),
    ...names.slice(1).map((n) => n.toLowerCase()),
  ]
  return { spec: first, identity, aliases }
}

export { TARGET_FORMS }
