import { gunzipSync, gzipSync } from 'node:zlib'
import { HOST_STATUSES, type HostStatus, type Observation, type OfferedAlgorithms } from '../domain/observation.js'
import { KEY_FAMILIES, type HostKey, type KeyFamily } from '../domain/host-key.js'
import type { Target } from '../domain/target.js'
import { readHostKeyBlob } from '../domain/fingerprint/host-key-blob.js'

/* staged shard : a distributed run's observations of one shard, as a worker writes them to the
 *                database for the run's judge (run_parts.observations), in the shard's target order.
 *
 * Compact and self-describing: gzip over JSON, each configuration (KEXINIT lists) and banner written
 * once per shard (a fleet has a handful), each key as the blob the server sent (a certificate's for a
 * certified key), from which the reader computes the key again exactly as the collector did
 * (readHostKeyBlob). */

const FORMAT = 1

/** One observation: target, address, status, error, failed families, banner and configuration
 * indexes, key blobs (base64), connections, start (ms), duration (ms). */
type StagedRow = [
  host: string,
  address: string | null,
  targetAddress: string | 0,
  port: number,
  aliases: readonly string[],
  source: string,
  status: number,
  error: string | null,
  failedFamilies: number[],
  banner: number,
  offered: number,
  keys: string[],
  connections: number,
  startedAt: number,
  durationMs: number,
]

interface StagedShard {
  readonly format: number
  readonly banners: (string | null)[]
  readonly offered: (OfferedAlgorithms | null)[]
  readonly rows: StagedRow[]
}

/** Thrown when staged bytes are not a staged shard (a bug, or a row edited by hand). */
export class StagedShardError extends Error {
  override name = 'StagedShardError'
}

function indexer<T>(key: (value: T) => string): { readonly values: T[]; index(value: T): number } {
  const values: T[] = []
  const known = new Map<string, number>()
  return {
    values,
    index(value) {
      const k = key(value)
      let at = known.get(k)
      if (at === undefined) {
        at = values.push(value) - 1
        known.set(k, at)
      }
      return at
    },
  }
}

/** The blob as the server sent it: the certificate's for a certified key (readHostKeyBlob reads both). */
function keyText(key: HostKey): string {
  return (key.certificate?.blob ?? key.blob).toString('base64')
}

/** Encodes one shard's observations, in the order given. */
export function encodeStagedShard(observations: readonly Observation[]): Buffer {
  const banners = indexer<string | null>((b) => JSON.stringify(b))
  const offered = indexer<OfferedAlgorithms | null>((o) => JSON.stringify(o))
  const rows: StagedRow[] = observations.map((o) => [
    o.target.host,
    o.address,
    o.target.address === o.target.host ? 0 : o.target.address,
    o.target.port,
    o.target.aliases,
    o.target.source,
    HOST_STATUSES.indexOf(o.status),
    o.error,
    o.failedFamilies.map((f) => KEY_FAMILIES.indexOf(f)),
    banners.index(o.banner),
    offered.index(o.offered),
    o.keys.map(keyText),
    o.connections,
    o.startedAt.getTime(),
    o.durationMs,
  ])
  const shard: StagedShard = { format: FORMAT, banners: banners.values, offered: offered.values, rows }
  return gzipSync(JSON.stringify(shard))
}

function readKey(text: string, where: string): HostKey {
  try {
    return readHostKeyBlob(Buffer.from(text, 'base64'))
  } catch (e) {
    throw new StagedShardError(`${where}: a staged key does not parse: ${(e as Error).message}`, { cause: e })
  }
}

/** Decodes a shard encodeStagedShard wrote; `where` names it in errors (`run 3 shard 7 vantage a`). */
export function decodeStagedShard(bytes: Buffer, where: string): Observation[] {
  let shard: StagedShard
  try {
    shard = JSON.parse(gunzipSync(bytes).toString('utf8')) as StagedShard
  } catch (e) {
    throw new StagedShardError(`${where}: staged observations are not gzip'd JSON: ${(e as Error).message}`, { cause: e })
  }
  if (shard.format !== FORMAT || !Array.isArray(shard.rows)) throw new StagedShardError(`${where}: staged observations of an unknown format ${String(shard.format)}`)
  return shard.rows.map((row, i) => {
    const [host, address, targetAddress, port, aliases, source, status, error, failed, banner, offered, keys, connections, startedAt, durationMs] = row
    const hostStatus: HostStatus | undefined = HOST_STATUSES[status]
    if (hostStatus === undefined) throw new StagedShardError(`${where}: row ${i}: status ${status} is unknown`)
    const target: Target = { host, address: targetAddress === 0 ? host : targetAddress, port, aliases, source }
    return {
      target,
      address,
      status: hostStatus,
      error,
      failedFamilies: failed.map((f) => KEY_FAMILIES[f] as KeyFamily),
      banner: shard.banners[banner] ?? null,
      offered: shard.offered[offered] ?? null,
      keys: keys.map((k) => readKey(k, `${where}: row ${i}`)),
      connections,
      startedAt: new Date(startedAt),
      durationMs,
    }
  })
}
