#!/usr/bin/env -S node --max-semi-space-size=2
// A scan makes short-lived garbage at a steady rate; Node 20's default 16 MB semi-spaces let the
// young generation alone add ~50 MB of RSS. 2 MB took a 10,000-target scan from 178 to 100 MB peak
// RSS with no measurable CPU cost (bench/scan.ts).
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script); dist/bundle/ is it in
// a few files (esbuild, kysely inside): Node loads ~500 small modules ~150 ms slower than a handful.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// `hostkeys --version` alone (scripts, configuration management) answers before the CLI loads: its
// modules are ~80 ms of a 0.19 s --version (Node's own start, ~0.10 s, is the rest). Any other
// argument goes to the CLI, whose --version prints the same (src/cli/version.ts).
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`)
  process.exit(0)
}

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
