#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hostkeys: dist/ is missing; run `npm ci` (or `npm run build`) in the hostkeys checkout first\n')
  process.exit(2)
}
// A reader that goes away (`hostkeys scan … | head`) is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})
const { main } = await import(entry.href)
process.exitCode = await main(process.argv)
