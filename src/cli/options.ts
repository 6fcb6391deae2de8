import { InvalidArgumentError } from 'commander'
import { SEVERITIES, type FailOn } from '../domain/finding.js'
import { KEY_FAMILIES, type KeyFamily } from '../domain/host-key.js'
import { parsePort } from '../inventory/target-spec.js'
import { FINGERPRINT_HASHES, type FingerprintHash } from '../report/scan-text.js'
import { echoInput } from '../domain/echo.js'

/* Option parsers for commander: each turns one flag's text into a value or says what was expected.
 * commander reports an InvalidArgumentError as a usage error (exit 2). */

export function parsePortOption(text: string): number {
  const port = parsePort(text)
  if (port === null) throw new InvalidArgumentError(`'${echoInput(text)}' is not a port (1-65535)`)
  return port
}

export function parsePositiveInteger(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`'${echoInput(text)}' is not a whole number of 1 or more`)
  return Number(text)
}

/** A count that may be 0 (`--cert-warn-days 0`: warn only once expired). */
export function parseNonNegativeInteger(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw new InvalidArgumentError(`'${echoInput(text)}' is not a whole number of 0 or more`)
  return Number(text)
}

const MAX_SECONDS = 3600

/** Seconds, fractions allowed (`0.5`), as ssh-keyscan's -T but finer; 0 is refused, since a zero deadline fails every host. */
export function parseSeconds(text: string): number {
  const seconds = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new InvalidArgumentError(`'${echoInput(text)}' is not a number of seconds greater than 0 and at most ${MAX_SECONDS}`)
  }
  return seconds
}

const FAMILY_ALIASES: Record<string, KeyFamily> = {
  ed25519: 'ed25519',
  'ssh-ed25519': 'ed25519',
  ecdsa: 'ecdsa',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
  rsa: 'rsa',
  'ssh-rsa': 'rsa',
  dsa: 'dsa',
  'ssh-dss': 'dsa',
  'ed25519-sk': 'ed25519-sk',
  'sk-ssh-ed25519@openssh.com': 'ed25519-sk',
  'ecdsa-sk': 'ecdsa-sk',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ecdsa-sk',
}

/** `ed25519,ecdsa,rsa,dsa,ed25519-sk,ecdsa-sk` (ssh-keyscan -t names are accepted too). */
export function parseKeyFamilies(text: string): KeyFamily[] {
  const families = new Set<KeyFamily>()
  for (const word of text.split(',').map((w) => w.trim().toLowerCase())) {
    const family = FAMILY_ALIASES[word]
    if (!family) throw new InvalidArgumentError(`unknown key type '${echoInput(word)}' (expected a list of ${KEY_FAMILIES.join(', ')})`)
    families.add(family)
  }
  return KEY_FAMILIES.filter((f) => families.has(f))
}

export function parseFailOn(text: string): FailOn {
  if (text === 'never' || (SEVERITIES as readonly string[]).includes(text)) return text as FailOn
  throw new InvalidArgumentError(`'${echoInput(text)}' is not one of ${[...SEVERITIES, 'never'].join(', ')}`)
}

/** `-E md5|sha256`, case-insensitive as `ssh-keygen -E` takes it. */
export function parseFingerprintHash(text: string): FingerprintHash {
  const hash = text.toLowerCase()
  if ((FINGERPRINT_HASHES as readonly string[]).includes(hash)) return hash as FingerprintHash
  throw new InvalidArgumentError(`'${echoInput(text)}' is not one of ${FINGERPRINT_HASHES.join(', ')}`)
}

export function choice<T extends string>(allowed: readonly T[]): (text: string) => T {
  return (text) => {
    if ((allowed as readonly string[]).includes(text)) return text as T
    throw new InvalidArgumentError(`'${echoInput(text)}' is not one of ${allowed.join(', ')}`)
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** The longest duration taken: 100 years. Far beyond any retention, and well inside what a Date can hold. */
const MAX_DURATION_DAYS = 36500

/** `90d`, `12h`, `2w`, `30m`, `45s` → milliseconds; from 0s to MAX_DURATION_DAYS days. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text)
  const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : NaN
  if (!(seconds <= MAX_DURATION_DAYS * DURATION_UNITS['d']!)) {
    throw new InvalidArgumentError(
      `'${echoInput(text)}' is not a duration: a whole number and one of the units s, m, h, d, w (90d, 12w), from 0s to ${MAX_DURATION_DAYS}d`,
    )
  }
  return seconds * 1000
}
