import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { syncTree } from './durable-nodefs.js'

/* embedded template : a PostgreSQL data directory as PGlite's initdb leaves it, made once when the
 *                     package is built (npm run build) and copied into a new embedded store, so a
 *                     user's first command does not run initdb. PGlite runs initdb in a second
 *                     WebAssembly instance: ~2.5 s and ~800 MB of RSS on the first command, where
 *                     copying ~40 MB of files costs a fraction of a second.
 *
 * The template is valid only for the PGlite it was made with (its PostgreSQL major version is in
 * the files): its stamp names that PGlite's version, and a store whose PGlite differs (a dependency
 * upgraded without a rebuild) runs initdb as before.
 *
 * Format: gzip of entries, each u16 path length, path (UTF-8, '/'-separated, relative), u8 kind
 * (0 file, 1 directory), u32 size, content; a zero path length ends it. PG_VERSION is written last,
 * after every other file is on disk: PGlite takes a directory with PG_VERSION for a made database,
 * so a copy cut short is copied again, never opened half made. */

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** In dist/, beside the compiled code: built with it, shipped with it. */
export const TEMPLATE_FILE = join(PACKAGE_ROOT, 'dist', 'embedded-template.bin.gz')
export const TEMPLATE_STAMP = join(PACKAGE_ROOT, 'dist', 'embedded-template.json')

export interface TemplateStamp {
  /** The @electric-sql/pglite version whose initdb made it. */
  readonly pglite: string
  /** PG_VERSION of the data directory. */
  readonly postgresMajor: string
  readonly files: number
  readonly bytes: number
}

/** The installed PGlite's version, from its package.json. */
export function installedPgliteVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'))
  let dir = dirname(entry)
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
}

/** The template's stamp, or null when there is no template for the installed PGlite. */
export function usableTemplate(): TemplateStamp | null {
  try {
    if (!existsSync(TEMPLATE_FILE)) return null
    const stamp = JSON.parse(readFileSync(TEMPLATE_STAMP, 'utf8')) as TemplateStamp
    return stamp.pglite === installedPgliteVersion() ? stamp : null
  } catch {
    return null
  }
}

function packDirectory(root: string): { packed: Buffer; files: number; bytes: number } {
  const chunks: Buffer[] = []
  let files = 0
  let bytes = 0
  const entry = (path: string, kind: 0 | 1, content: Buffer) => {
    const name = Buffer.from(path, 'utf8')
    const header = Buffer.alloc(2 + name.length + 1 + 4)
    header.writeUInt16BE(name.length, 0)
    name.copy(header, 2)
    header[2 + name.length] = kind
    header.writeUInt32BE(content.length, 3 + name.length)
    chunks.push(header, content)
  }
  let version: Buffer | null = null
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name)
      const path = relative(root, full).split(sep).join('/')
      if (statSync(full).isDirectory()) {
        entry(path, 1, Buffer.alloc(0))
        walk(full)
      } else if (path === 'PG_VERSION') {
        version = readFileSync(full)
      } else {
        const content = readFileSync(full)
        entry(path, 0, content)
        files++
        bytes += content.length
      }
    }
  }
  walk(root)
  if (version === null) throw new Error(`${root} has no PG_VERSION: not a data directory`)
  entry('PG_VERSION', 0, version)
  chunks.push(Buffer.alloc(2))
  return { packed: gzipSync(Buffer.concat(chunks)), files: files + 1, bytes: bytes + (version as Buffer).length }
}

/** Runs PGlite's initdb into a temporary directory and packs it as the template, with its stamp. */
export async function makeEmbeddedTemplate(): Promise<TemplateStamp> {
  const { PGlite } = await import('@electric-sql/pglite')
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-template-'))
  try {
    const pglite = await PGlite.create({ dataDir: dir })
    await pglite.close()
    const { packed, files, bytes } = packDirectory(dir)
    const stamp: TemplateStamp = { pglite: installedPgliteVersion(), postgresMajor: readFileSync(join(dir, 'PG_VERSION'), 'utf8').trim(), files, bytes }
    mkdirSync(dirname(TEMPLATE_FILE), { recursive: true })
    writeFileSync(TEMPLATE_FILE, packed)
    writeFileSync(TEMPLATE_STAMP, `${JSON.stringify(stamp, null, 2)}\n`)
    return stamp
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Writes the template's files into `dir` (which must hold no PG_VERSION): all but PG_VERSION, then
 * fsync of the whole tree, then PG_VERSION. Returns false, writing nothing, when there is no usable
 * template. */
export function installEmbeddedTemplate(dir: string): boolean {
  if (usableTemplate() === null) return false
  const data = gunzipSync(readFileSync(TEMPLATE_FILE))
  let at = 0
  let version: Buffer | null = null
  for (;;) {
    const length = data.readUInt16BE(at)
    at += 2
    if (length === 0) break
    const path = data.subarray(at, at + length).toString('utf8')
    at += length
    const kind = data[at]!
    const size = data.readUInt32BE(at + 1)
    at += 5
    if (path.split('/').some((part) => part === '..' || part === '')) throw new Error(`embedded template: bad path '${path}'`)
    const target = join(dir, ...path.split('/'))
    if (kind === 1) mkdirSync(target, { recursive: true, mode: 0o700 })
    else if (path === 'PG_VERSION') version = data.subarray(at, at + size)
    else writeFileSync(target, data.subarray(at, at + size), { mode: 0o600 })
    at += size
  }
  if (version === null) throw new Error('embedded template has no PG_VERSION')
  syncTree(dir)
  const fd = openSync(join(dir, 'PG_VERSION'), 'w', 0o600)
  try {
    writeSync(fd, version)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  const dirFd = openSync(dir, 'r') // the directory entry of PG_VERSION
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
  return true
}
