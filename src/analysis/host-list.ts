/** `a, b and c`, or `a, b, c and 12 more` past `max` names: messages stay readable for big clone sets. */
export function listHosts(hosts: readonly string[], max = 8): string {
  if (hosts.length <= 1) return hosts.join('')
  if (hosts.length > max) return `${hosts.slice(0, max).join(', ')} and ${hosts.length - max} more`
  return `${hosts.slice(0, -1).join(', ')} and ${hosts[hosts.length - 1]}`
}
