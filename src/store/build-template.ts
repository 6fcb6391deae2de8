import { installedPgliteVersion, makeEmbeddedTemplate, usableTemplate } from './embedded-template.js'

/* `npm run build` runs this after tsc: the embedded store's data-directory template
 * (embedded-template.ts), made again only when the installed PGlite is not the one it was made with. */

const current = usableTemplate()
if (current) {
  console.log(`embedded template: up to date (PGlite ${current.pglite}, PostgreSQL ${current.postgresMajor})`)
} else {
  const started = performance.now()
  const stamp = await makeEmbeddedTemplate()
  console.log(
    `embedded template: made for PGlite ${installedPgliteVersion()} (PostgreSQL ${stamp.postgresMajor}, ${stamp.files} files, ` +
      `${(stamp.bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
}
