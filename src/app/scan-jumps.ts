import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { UserError } from '../domain/errors.js'
import type { KeyType, Sha256Fingerprint } from '../domain/host-key.js'
import { formatChain, type JumpChain } from '../domain/jump.js'
import { hostIdentity, parseIdentity, type Target } from '../domain/target.js'
import { parseJumpSpecs, type JumpSpec } from '../inventory/jump-spec.js'
import { parseSshConfig, routeForTarget, type LocalUser, type SshConfig } from '../inventory/ssh-config.js'
import type { JumpHostTrust } from '../ssh/jump-network.js'
import type { JumpRouting } from '../ssh/scan-targets.js'
import type { Store } from '../store/store.js'

/* Scanning through jump hosts, composed for a scan: `--jump` and the client config (`--ssh-config`)
 * give each target its route; the config's HostName gives a target named only by name the address to
 * reach; the agent and identity files log in; the history says which jump host keys to trust. */

export interface JumpSettings {
  /** `--jump`, as typed: every target's chain. */
  readonly jump: string | null
  /** `--ssh-config FILE` / `-F FILE`: per-target ProxyJump. */
  readonly sshConfigFile: string | null
  /** SSH_AUTH_SOCK, or null. */
  readonly agentSocket: string | null
  readonly local: LocalUser
}

/** ssh's default identity files (ssh_config(5) IdentityFile), in its order, for those we can use. */
export function defaultIdentityFiles(home: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => path.join(home, '.ssh', name))
}

export interface PreparedJumps {
  /** Applies HostName to the targets the inventory names by name only and gives each its route. */
  route(targets: AsyncIterable<Target>): AsyncIterable<Target>
  /** For the collector. */
  routing(store: Store | null): JumpRouting
  /** What the client config made us read past (Match, Include), each `FILE:LINE: …`. */
  readonly warnings: readonly string[]
  /** For the scan's request JSON: the chains used and the identities behind each. */
  readonly via: Map<string, string[]>
}

/** Reads and checks `--jump` and the client config, before anything is contacted. */
export async function prepareJumps(settings: JumpSettings): Promise<PreparedJumps> {
  let jump: JumpSpec[] | null = null
  if (settings.jump !== null) {
    const specs = parseJumpSpecs(settings.jump)
    if (typeof specs === 'string') throw new UserError(`--jump: ${specs}`)
    jump = specs
  }
  let config: SshConfig | null = null
  if (settings.sshConfigFile !== null) {
    let text: string
    try {
      text = await readFile(settings.sshConfigFile, 'utf8')
    } catch (e) {
      throw new UserError(`cannot read the client config ${settings.sshConfigFile}: ${(e as Error).message}`, { cause: e })
    }
    config = parseSshConfig(text, settings.sshConfigFile)
  }
  const context = { config, jump, local: settings.local }
  const chains = new WeakMap<Target, JumpChain | string>()
  const via = new Map<string, string[]>()

  return {
    warnings: config?.warnings ?? [],
    via,
    async *route(targets) {
      for await (const target of targets) {
        const name = parseIdentity(target.host).name
        const { route, hostName } = routeForTarget(name, context)
        // HostName names where to connect, as for ssh; an inventory line that gives an address keeps it.
        const routed = hostName !== null && target.address === name && hostName !== name ? { ...target, address: hostName.toLowerCase() } : target
        if (route.kind === 'jump') {
          chains.set(routed, route.chain)
          const key = formatChain(route.chain)
          const behind = via.get(key)
          if (behind) behind.push(routed.host)
          else via.set(key, [routed.host])
        } else if (route.kind === 'unsupported') chains.set(routed, route.detail)
        yield routed
      }
    },
    routing(store) {
      return {
        chainFor: (target) => chains.get(target) ?? null,
        credentials: { agentSocket: settings.agentSocket, defaultIdentityFiles: defaultIdentityFiles(settings.local.home) },
        trust: historyTrust(store),
      }
    },
  }
}

/** The keys the history trusts for a jump host, by its identity; none without a history (--no-store):
 * the scan's own observation of it is then what the login accepts. */
export function historyTrust(store: Pick<Store, 'lookupHost'> | null): JumpHostTrust {
  return {
    async trustedKeys(hop) {
      const trusted = new Map<KeyType, Set<Sha256Fingerprint>>()
      if (!store) return trusted
      const identity = hostIdentity(hop.name, hop.port)
      for (const record of await store.lookupHost(identity)) {
        if (record.trust !== 'trusted' || parseIdentity(record.host).port !== hop.port) continue
        const set = trusted.get(record.type)
        if (set) set.add(record.sha256)
        else trusted.set(record.type, new Set([record.sha256]))
      }
      return trusted
    },
  }
}
