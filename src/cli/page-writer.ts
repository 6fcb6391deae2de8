import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { OperationalError, UserError } from '../domain/errors.js'
import { echoInput } from '../domain/echo.js'
import type { SiteFile } from '../app/publish-site.js'

/* Writing pages: only after every page rendered, and all at once, so a failure (a full disk, a
 * permission, an interrupt) leaves either the old site or the new one, never half of each.
 *   site    : written into a fresh directory beside --out, then renamed into place (rename(2) is atomic
 *             within one file system); a site already there is moved aside first and removed after.
 *   marker  : `.hostkeys-publish` in every site written, so a later publish knows the directory is its
 *             own and may replace it whole. A non-empty directory without it is someone else's: it is
 *             refused unless --force, which replaces everything in it.
 *   report  : one file, written beside its target and renamed over it. */

export const SITE_MARKER = '.hostkeys-publish'

async function statOrNull(file: string) {
  try {
    return await stat(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

function failed(what: string, e: unknown): OperationalError {
  return new OperationalError(`${what} failed: ${(e as Error).message}`, { cause: e })
}

/** A site file's relative path, refused if it could land outside the site (renderers make them; a bad one is a bug). */
function insideSite(root: string, relative: string): string {
  const target = path.resolve(root, relative)
  if (path.isAbsolute(relative) || relative.split('/').some((part) => part === '..' || part === '') || !target.startsWith(`${root}${path.sep}`)) {
    throw new Error(`refusing to write site file '${echoInput(relative)}' outside ${root}`)
  }
  return target
}

/** Checks --out before the database is opened: a file, or a non-empty directory that is not a site, is a UserError. */
export async function checkSiteDirectory(out: string, options: { readonly force: boolean }): Promise<void> {
  const dir = path.resolve(out)
  const found = await statOrNull(dir).catch((e) => {
    throw failed(`reading ${dir}`, e)
  })
  if (found === null) return
  if (!found.isDirectory()) throw new UserError(`--out ${echoInput(out)} is a file, not a directory; name a directory for the site`)
  const entries = await readdir(dir).catch((e) => {
    throw failed(`reading ${dir}`, e)
  })
  if (entries.length === 0 || entries.includes(SITE_MARKER) || options.force) return
  throw new UserError(
    `--out ${echoInput(out)} is a directory that holds other files (no ${SITE_MARKER}: hostkeys did not publish it); name a new or empty directory, or give --force to replace everything in it`,
  )
}

export interface SiteWriteOptions {
  readonly force: boolean
  readonly at: Date
  /**
   * Receives, once the staging directory exists, what puts the file system back in order if the
   * command stops half way (an interrupt: the lifecycle's failure hooks run it): the previous site back
   * in place if it had been moved aside, the staging directory removed.
   */
  readonly onStaging?: (restore: () => Promise<void>) => void
}

/** Writes the site to `out` in one step: every file, then one rename. */
export async function writeSite(out: string, files: readonly SiteFile[], options: SiteWriteOptions): Promise<void> {
  await checkSiteDirectory(out, options)
  const dir = path.resolve(out)
  const parent = path.dirname(dir)
  await mkdir(parent, { recursive: true }).catch((e) => {
    throw failed(`creating ${parent}`, e)
  })
  const staging = await mkdtemp(path.join(parent, `.${path.basename(dir)}.hostkeys-`)).catch((e) => {
    throw failed(`creating a directory in ${parent}`, e)
  })
  const aside = `${staging}-previous`
  options.onStaging?.(async () => {
    if ((await statOrNull(dir)) === null && (await statOrNull(aside)) !== null) await rename(aside, dir)
    await rm(staging, { recursive: true, force: true })
    if ((await statOrNull(dir)) !== null) await rm(aside, { recursive: true, force: true })
  })
  try {
    for (const file of files) {
      const target = insideSite(staging, file.path)
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, file.content, { flag: 'wx' })
    }
    await writeFile(path.join(staging, SITE_MARKER), `published by hostkeys at ${options.at.toISOString()}\n`)
  } catch (e) {
    await rm(staging, { recursive: true, force: true })
    if (e instanceof OperationalError || !(e as NodeJS.ErrnoException).code) throw e
    throw failed(`writing the site to ${staging} (nothing was changed at ${dir})`, e)
  }

  const previous = await statOrNull(dir)
  if (previous === null) {
    await rename(staging, dir).catch(async (e) => {
      await rm(staging, { recursive: true, force: true })
      throw failed(`moving the site into ${dir}`, e)
    })
    return
  }
  try {
    await rename(dir, aside)
  } catch (e) {
    await rm(staging, { recursive: true, force: true })
    throw failed(`moving the previous site at ${dir} aside (it is unchanged)`, e)
  }
  try {
    await rename(staging, dir)
  } catch (e) {
    await rename(aside, dir).catch(() => {})
    await rm(staging, { recursive: true, force: true })
    throw failed(`moving the site into ${dir} (the previous one was put back)`, e)
  }
  await rm(aside, { recursive: true, force: true })
}

/** Checks a page's --out before the database is opened: a directory, or a file in a missing directory, is a UserError. */
export async function checkPageFile(file: string): Promise<void> {
  const target = path.resolve(file)
  const found = await statOrNull(target).catch((e) => {
    throw failed(`reading ${target}`, e)
  })
  if (found?.isDirectory()) throw new UserError(`--out ${echoInput(file)} is a directory; name the file to write (report.html)`)
  const parent = path.dirname(target)
  const parentFound = await statOrNull(parent).catch(() => null)
  if (parentFound === null || !parentFound.isDirectory()) throw new UserError(`--out ${echoInput(file)}: the directory ${echoInput(parent)} does not exist`)
}

/** Writes one page to `file`: to a temporary file beside it, then renamed over it. */
export async function writePage(file: string, content: string): Promise<void> {
  await checkPageFile(file)
  const target = path.resolve(file)
  const parent = path.dirname(target)
  const temporary = path.join(parent, `.${path.basename(target)}.hostkeys-${process.pid}-${Date.now()}`)
  try {
    await writeFile(temporary, content, { flag: 'wx' })
    await rename(temporary, target)
  } catch (e) {
    await rm(temporary, { force: true })
    throw failed(`writing ${target}`, e)
  }
}
