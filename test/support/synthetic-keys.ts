import { createHash } from 'node:crypto'
import type { HostKey } from '../../src/domain/host-key.js'
import type { HostStatus, Observation } from '../../src/domain/observation.js'
import { describeKey } from '../../src/fingerprint/key-blob.js'

/* Structurally valid public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709) made from a seed:
 * distinct seeds give distinct keys, the same seed the same key. Nobody can sign with them; the
 * store and analysis only ever look at blobs. */

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function bytesFrom(seed: string, length: number): Buffer {
  const out: Buffer[] = []
  for (let i = 0; out.length * 32 < length; i++) out.push(createHash('sha256').update(`${seed}/${i}`).digest())
  return Buffer.concat(out).subarray(0, length)
}

/** An unsigned mpint of exactly `bits` bits, a multiple of 8 (top bit set, and the leading zero byte RFC 4251 §5 then needs). */
function mpint(seed: string, bits: number): Buffer {
  const bytes = bytesFrom(seed, bits / 8)
  bytes[0] = bytes[0]! | 0x80
  return Buffer.concat([Buffer.from([0]), bytes])
}

export type SyntheticType = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'rsa' | 'dsa'

export function syntheticBlob(type: SyntheticType, seed: string, bits = 3072): Buffer {
  const s = (text: string) => sshString(Buffer.from(text))
  switch (type) {
    case 'ed25519':
      return Buffer.concat([s('ssh-ed25519'), sshString(bytesFrom(seed, 32))])
    case 'ecdsa256':
    case 'ecdsa384': {
      const curve = type === 'ecdsa256' ? 'nistp256' : 'nistp384'
      const size = type === 'ecdsa256' ? 32 : 48
      return Buffer.concat([s(`ecdsa-sha2-${curve}`), s(curve), sshString(Buffer.concat([Buffer.from([4]), bytesFrom(seed, 2 * size)]))])
    }
    case 'rsa':
      return Buffer.concat([s('ssh-rsa'), sshString(Buffer.from([1, 0, 1])), sshString(mpint(seed, bits))])
    case 'dsa':
      return Buffer.concat([
        s('ssh-dss'),
        sshString(mpint(`${seed}/p`, 1024)),
        sshString(mpint(`${seed}/q`, 160)),
        sshString(mpint(`${seed}/g`, 1024)),
        sshString(mpint(`${seed}/y`, 1024)),
      ])
  }
}

export function syntheticKey(type: SyntheticType, seed: string, bits?: number): HostKey {
  return describeKey(syntheticBlob(type, seed, bits))
}

const addresses = new Map<string, string>()

/** A TEST-NET-1 address of its own for each host name. */
function syntheticAddress(host: string): string {
  let address = addresses.get(host)
  if (!address) addresses.set(host, (address = `192.0.2.${(addresses.size % 254) + 1}`))
  return address
}

export function observationOf(
  host: string,
  keys: readonly HostKey[],
  options: { status?: HostStatus; address?: string; port?: number; aliases?: string[]; at?: Date } = {},
): Observation {
  const status = options.status ?? 'ok'
  return {
    target: {
      host,
      address: options.address ?? host,
      port: options.port ?? 22,
      aliases: options.aliases ?? [],
      source: 'test',
    },
    // One documentation address per host name (never connected to): different hosts are different
    // servers unless a test puts them on one address.
    address: options.address ?? syntheticAddress(host),
    status,
    error: status === 'ok' ? null : 'synthetic failure',
    banner: status === 'ok' ? 'SSH-2.0-OpenSSH_9.2p1' : null,
    offered: null,
    keys: status === 'ok' ? keys : [],
    failedFamilies: [],
    connections: 1,
    startedAt: options.at ?? new Date(),
    durationMs: 1,
  }
}
