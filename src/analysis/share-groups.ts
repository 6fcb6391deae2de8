/* share group : hosts declared (`hostkeys allow-shared`) to serve the same keys legitimately: an HA
 *               pair behind a VIP, several names of one machine. Pairwise: a key served by a, b, c
 *               is still a duplicate if no group holds both a and c, even when groups {a,b} and {b,c}
 *               exist. */

export interface ShareGroups {
  /** True when some group holds both hosts (or they are the same host). */
  mayShare(a: string, b: string): boolean
  /** True when every pair of these hosts may share. */
  allMayShare(hosts: readonly string[]): boolean
}

export function shareGroups(groups: readonly (readonly string[])[]): ShareGroups {
  const membership = new Map<string, Set<number>>()
  groups.forEach((members, index) => {
    for (const host of members) {
      let set = membership.get(host)
      if (!set) membership.set(host, (set = new Set()))
      set.add(index)
    }
  })
  const mayShare = (a: string, b: string): boolean => {
    if (a === b) return true
    const ga = membership.get(a)
    const gb = membership.get(b)
    if (!ga || !gb) return false
    for (const g of ga) if (gb.has(g)) return true
    return false
  }
  return {
    mayShare,
    allMayShare(hosts) {
      for (let i = 0; i < hosts.length; i++) {
        for (let j = i + 1; j < hosts.length; j++) if (!mayShare(hosts[i]!, hosts[j]!)) return false
      }
      return true
    },
  }
}
