/* jump host : an SSH server the scan logs in to (as `ssh -J` does) to reach targets it cannot reach
 *             itself; the probes of those targets run over its `direct-tcpip` channels (RFC 4254 §7.2)
 * jump chain: the jump hosts in the order they are passed through, the first reached directly, each
 *             next one through the one before (`ssh -J a,b`: a, then b through a)
 * hop       : one jump host of a chain, with everything needed to log in to it
 *
 * A jump host is itself a host of the history: it is probed like any target, through the hops before
 * it, and its key is checked against what the history trusts before anything is sent through it. */

export interface JumpHop {
  /** The name as written in `--jump` or `ProxyJump`: the host's identity in the history (with the port). */
  readonly name: string
  /** Where to connect: `HostName` from the client config, else the name. */
  readonly address: string
  readonly port: number
  /** Login name: as written (`user@`), else `User` from the config, else the local user. */
  readonly user: string
  /** Private keys to offer after the agent's, already expanded (`~`, `%d`, `%u`, `%h`, `%r`); empty: the defaults. */
  readonly identityFiles: readonly string[]
  /** Where the hop was named, for messages: `--jump`, `~/.ssh/config:12`. */
  readonly source: string
}

export type JumpChain = readonly JumpHop[]

/** How one hop is written in messages and in `via`: `user@host:port`, `[v6]:port` bracketed. */
export function formatHop(hop: Pick<JumpHop, 'user' | 'name' | 'port'>): string {
  return `${hop.user}@${hop.name.includes(':') ? `[${hop.name}]` : hop.name}:${hop.port}`
}

/** A chain as `ssh -J` writes it, first hop first; also the key its connections are shared under. */
export function formatChain(chain: JumpChain): string {
  return chain.map(formatHop).join(',')
}
