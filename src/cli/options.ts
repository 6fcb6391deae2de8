import { InvalidArgumentError } from 'commander'
import { SEVERITIES, type FailOn } from '../domain/finding.js'
import { KEY_FAMILIES, type KeyFamily } from '../domain/host-key.js'
import { parsePort } from '../inventory/target-spec.js'
import { echoInput } from '../domain/echo.js'

/* Option parsers for commander: each turns one flag's text into a value or says what was expected.
 * commander reports an InvalidArgumentError as a usage error (exit 2). */

export function parsePortOption(text: string): number {
  const port = parsePort(text)
  if (port === null) throw new InvalidArgumentError(`'${echoInput(text)}' is not a port (1-65535)`)
  return port
}

export function parsePositiveInteger(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`'${echoInput(text)}' is not a positive whole number`)
  return Number(text)
}

/** Seconds, fractions allowed (`0.5`), as ssh-keyscan's -T but finer. */
export function parseSeconds(text: string): number {
  const seconds = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > 3600) {
    throw new InvalidArgumentError(`'${echoInput(text)}' is not a number of seconds between 0 and 3600`)
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
}

/** `ed25519,ecdsa,rsa,dsa` (ssh-keyscan -t names are accepted too). */
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

/** `90d`, `12h`, `2w`, `30m`, `45s` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text)
  if (!match) throw new InvalidArgumentError(`'${echoInput(text)}' is not a duration such as 90d, 12h, 2w, 30m`)
  return Number(match[1]) * DURATION_UNITS[match[2]!]! * 1000
}
