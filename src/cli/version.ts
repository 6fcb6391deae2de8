import { readFileSync } from 'node:fs'

/** The package's version, from its package.json: two directories up from src/cli, dist/cli and
 * dist/bundle alike. bin/hostkeys.js reads the same file for a bare `--version`. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}
