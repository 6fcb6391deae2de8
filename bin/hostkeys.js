#!/usr/bin/env -S node --max-semi-space-size=2
// A scan makes short-lived garbage at a steady rate; Node 20's default 16 MB semi-spaces let the
// young generation alone add ~50 MB of RSS. 2 MB took a 10,000-target scan from 178 to 100 MB peak
// RSS with no measurable CPU cost (bench/scan.ts).
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script); dist/bundle/ is it in
// a few files (esbuild, kysely inside): Node loads ~500 small modules ~150 ms slower than a handful.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/bundle/run-process.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hostkeys: dist/ is missing; run `npm ci` (or `npm run build`) in the hostkeys checkout first\n')
  process.exit(2)
}
// First, before the rest of the CLI loads: a --db password must leave `ps` as soon as it can.
const { hidePasswordsFromPs } = await import(new URL('../dist/bundle/process-title.js', import.meta.url).href)
hidePasswordsFromPs(process.argv)
// Signals, uncaught exceptions and the exit code: see src/cli/run-process.ts.
const { runProcess } = await import(entry.href)
await runProcess(process.argv)
