import { DEFAULT_CERT_WARN_DAYS } from '../analysis/certificate-findings.js'
import { DEFAULT_DB_TIMEOUT_SECONDS } from '../store/store-opener.js'
import os from 'node:os'
import path from 'node:path'
import type { KeyFamily } from '../domain/host-key.js'
import type { JumpSettings } from './scan-jumps.js'

/* A scan's settings, resolved once: defaults, then the environment (HOSTKEYS_DB), then flags, into one
 * frozen object the use case takes. Adding a scan option is a field here, its flag in the CLI, and the
 * code that uses it. How the result is shown (format, -E, -q, --fail-on) is the CLI's, not the scan's. */

export interface ScanSettings {
  /** What to scan: targets as typed and inventory files (`-` for stdin); `-p` for targets naming no port. */
  readonly specs: readonly string[]
  readonly files: readonly string[]
  readonly defaultPort: number
  /** `-t`; null for every family a host offers. */
  readonly families: readonly KeyFamily[] | null
  /** `-T`: one deadline per connection. */
  readonly timeoutMs: number
  /** `-c`: connections in flight at once. */
  readonly concurrency: number
  /** The history (`--db`, else HOSTKEYS_DB, else the embedded default); null with `--no-store`. */
  readonly history: { readonly db: string | null; readonly timeoutMs: number } | null
  /** SSHFP checks (`--resolver`, `--dns-timeout`); null with `--no-dns`. */
  readonly dns: { readonly resolvers: readonly string[]; readonly timeoutMs: number | null } | null
  /** `--vantage`: where the scan runs from, recorded with it. */
  readonly vantage: string
  /** `--unreachable-after`: failed scans in a row before host_unreachable is a warning. */
  readonly unreachableAfter: number
  /** `--cert-warn-days`: a host certificate ending within this many days is cert_expiring. */
  readonly certWarnDays: number
  /** `--metrics-file`: Prometheus text for node_exporter, written on success and on failure. */
  readonly metricsFile: string | null
  /** `--policy`: a policy file (README "Policy file"), read before the first connection. */
  readonly policyFile: string | null
  /** `--blocklist`: a blocklist of known-bad keys in badkeys' format, opened before the first connection. */
  readonly blocklistFile: string | null
  /** `--jump`, `--ssh-config`: targets behind jump hosts; null when neither is given. */
  readonly jumps: JumpSettings | null
}

/** What the CLI's flags give, before defaults and the environment are applied. */
export interface ScanOptions {
  readonly specs: readonly string[]
  readonly files?: readonly string[]
  readonly port: number
  readonly types?: readonly KeyFamily[]
  /** Seconds. */
  readonly timeout: number
  readonly concurrency: number
  readonly store: boolean
  readonly db?: string
  /** Seconds. */
  readonly dbTimeout?: number
  readonly dns: boolean
  readonly resolver?: readonly string[]
  /** Seconds. */
  readonly dnsTimeout?: number
  readonly vantage: string
  readonly unreachableAfter: number
  readonly certWarnDays?: number
  readonly metricsFile?: string
  readonly policy?: string
  readonly blocklist?: string
  /** `--jump [USER@]HOST[:PORT][,…]`. */
  readonly jump?: string
  /** `--ssh-config [FILE]`: true when given without a file (~/.ssh/config). */
  readonly sshConfig?: string | true
  /** `-F FILE`, as ssh's. */
  readonly F?: string
}


/** Defaults, then the environment, then the flags: the one place a scan's settings are decided. */
export function resolveScanSettings(options: ScanOptions, env: NodeJS.ProcessEnv): ScanSettings {
  return Object.freeze({
    specs: Object.freeze([...options.specs]),
    files: Object.freeze([...(options.files ?? [])]),
    defaultPort: options.port,
    families: options.types?.length ? Object.freeze([...options.types]) : null,
    timeoutMs: options.timeout * 1000,
    concurrency: options.concurrency,
    history: options.store
      ? Object.freeze({
          db: options.db ?? (env['HOSTKEYS_DB'] || null),
          timeoutMs: (options.dbTimeout ?? DEFAULT_DB_TIMEOUT_SECONDS) * 1000,
        })
      : null,
    dns: options.dns
      ? Object.freeze({ resolvers: Object.freeze([...(options.resolver ?? [])]), timeoutMs: options.dnsTimeout ? options.dnsTimeout * 1000 : null })
      : null,
    vantage: options.vantage,
    unreachableAfter: options.unreachableAfter,
    certWarnDays: options.certWarnDays ?? DEFAULT_CERT_WARN_DAYS,
    metricsFile: options.metricsFile ?? null,
    policyFile: options.policy ?? null,
    blocklistFile: options.blocklist ?? null,
    jumps: jumpSettings(options, env),
  })
}

/** The local side ssh would use: `~` and %d are $HOME (else the passwd entry), %u the login name. */
function jumpSettings(options: ScanOptions, env: NodeJS.ProcessEnv): JumpSettings | null {
  const configFlag = options.F ?? options.sshConfig
  if (options.jump === undefined && configFlag === undefined) return null
  const info = os.userInfo()
  const home = env['HOME'] || info.homedir
  return Object.freeze({
    jump: options.jump ?? null,
    sshConfigFile: configFlag === undefined ? null : configFlag === true ? path.join(home, '.ssh', 'config') : configFlag,
    agentSocket: env['SSH_AUTH_SOCK'] || null,
    local: Object.freeze({ name: env['USER'] || info.username, home, hostname: os.hostname(), uid: info.uid }),
  })
}
