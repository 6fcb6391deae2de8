import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { HostKey } from '../../src/domain/host-key.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'

/** Key files made once with ssh-keygen (see test/fixtures/sshfp/README). */
export const SSHFP_FIXTURES = fileURLToPath(new URL('../fixtures/sshfp/', import.meta.url))

export const FIXTURE_KEY_NAMES = ['rsa', 'dsa', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'ed25519'] as const
export type FixtureKeyName = (typeof FIXTURE_KEY_NAMES)[number] | 'ed25519-rebuilt' | 'ecdsa256-rebuilt'

/** The HostKey of `test/fixtures/sshfp/NAME.pub`. */
export function fixtureKey(name: FixtureKeyName): HostKey {
  const line = readFileSync(`${SSHFP_FIXTURES}${name}.pub`, 'utf8').trim()
  return describeKey(Buffer.from(line.split(/\s+/)[1]!, 'base64'))
}

export function fixtureText(file: string): string {
  return readFileSync(`${SSHFP_FIXTURES}${file}`, 'utf8')
}
