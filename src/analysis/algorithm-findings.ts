import type { Finding } from '../domain/finding.js'
import type { OfferedAlgorithms } from '../domain/observation.js'
import { finding } from './host-findings.js'

/* What a server's KEXINIT says about it, judged by the names it offers and never by the version in its
 * banner: distributions backport fixes without changing it (ssh-audit dropped version checks for
 * that reason).
 *
 *   terrapin       : CVE-2023-48795 (Bäumer, Brinkmann, Schwenk 2023). chacha20-poly1305@openssh.com,
 *                    or a CBC cipher with an encrypt-then-MAC MAC, offered without the strict key
 *                    exchange marker kex-strict-s-v00@openssh.com.
 *   weak_algorithm : names broken or deprecated by the IETF or OpenSSH, listed below with the reason.
 *   no_pq_kex      : no post-quantum hybrid key exchange (recorded traffic can be decrypted later by
 *                    whoever gets a quantum computer: "harvest now, decrypt later"). */

export const STRICT_KEX_MARKER = 'kex-strict-s-v00@openssh.com'
export const POST_QUANTUM_KEX: readonly string[] = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'mlkem768x25519-sha256']

/** The weak names and why, as RFC 9142 (key exchange), RFC 8758 (RC4), RFC 8332 / OpenSSH 8.8
 * (SHA-1 signatures), OpenSSH 7.0/9.8 (DSA) and NIST SP 800-131A (3DES, MD5, 96-bit MACs) have them. */
const WEAK: readonly { readonly test: (name: string) => boolean; readonly why: string }[] = [
  { test: (n) => n === 'diffie-hellman-group1-sha1', why: '1024-bit group and SHA-1 (RFC 9142: MUST NOT)' },
  { test: (n) => /^diffie-hellman-(group14|group-exchange)-sha1$/.test(n), why: 'SHA-1 key exchange (RFC 9142: SHOULD NOT)' },
  { test: (n) => /-cbc$|^rijndael-cbc@lysator\.liu\.se$/.test(n), why: 'CBC mode (plaintext recovery, CVE-2008-5161)' },
  { test: (n) => n.startsWith('arcfour'), why: 'RC4 (RFC 8758: MUST NOT)' },
  { test: (n) => n.startsWith('hmac-md5'), why: 'MD5' },
  { test: (n) => /-96(@openssh\.com)?$/.test(n), why: 'MAC truncated to 96 bits' },
  { test: (n) => n === 'ssh-dss' || n === 'ssh-dss-cert-v01@openssh.com', why: 'DSA (1024 bits, removed from OpenSSH 10)' },
]

/** Why one algorithm name is weak, or null; ssh-rsa is judged with the rest of its list by weakNames. */
export function weaknessOf(name: string): string | null {
  return WEAK.find((w) => w.test(name))?.why ?? null
}

/** Every weak name the server offers in any list, once, with why. */
export function weakNames(offered: OfferedAlgorithms): { name: string; why: string }[] {
  const names = new Set([
    ...offered.kex,
    ...offered.serverHostKey,
    ...offered.ciphers.clientToServer,
    ...offered.ciphers.serverToClient,
    ...offered.macs.clientToServer,
    ...offered.macs.serverToClient,
  ])
  const found: { name: string; why: string }[] = []
  for (const name of names) {
    const why = weaknessOf(name)
    if (why !== null) found.push({ name, why })
  }
  // ssh-rsa signs with SHA-1: weak only where it is the only RSA signature the server offers.
  const rsa = offered.serverHostKey.filter((n) => n === 'ssh-rsa' || n.startsWith('rsa-sha2-'))
  if (rsa.length > 0 && rsa.every((n) => n === 'ssh-rsa')) found.push({ name: 'ssh-rsa', why: 'RSA signatures with SHA-1 only, no rsa-sha2-256/512 (RFC 8332)' })
  return found
}

/** Whether the server is open to Terrapin (CVE-2023-48795). */
export function isTerrapinVulnerable(offered: OfferedAlgorithms): boolean {
  if (offered.kex.includes(STRICT_KEX_MARKER)) return false
  const ciphers = [...offered.ciphers.clientToServer, ...offered.ciphers.serverToClient]
  const macs = [...offered.macs.clientToServer, ...offered.macs.serverToClient]
  return ciphers.includes('chacha20-poly1305@openssh.com') || (ciphers.some((c) => c.endsWith('-cbc')) && macs.some((m) => m.includes('-etm@')))
}

/** Whether the kex list names a post-quantum hybrid. */
export function offersPostQuantumKex(offered: OfferedAlgorithms): boolean {
  return offered.kex.some((k) => POST_QUANTUM_KEX.includes(k))
}

/** terrapin, weak_algorithm, no_pq_kex for one host whose KEXINIT was read. */
export function algorithmFindings(host: string, offered: OfferedAlgorithms): Finding[] {
  const findings: Finding[] = []
  const base = { host, keyType: null, fingerprint: null, previous: null }
  if (isTerrapinVulnerable(offered)) {
    findings.push(
      finding({
        ...base,
        kind: 'terrapin',
        severity: 'warning',
        message:
          `${host} offers ${offered.ciphers.serverToClient.includes('chacha20-poly1305@openssh.com') ? 'chacha20-poly1305@openssh.com' : 'a CBC cipher with an encrypt-then-MAC MAC'} ` +
          `without strict key exchange (${STRICT_KEX_MARKER}): a man in the middle can drop messages at the start of the session (Terrapin, CVE-2023-48795). ` +
          `Update OpenSSH to a release with strict kex (9.6, or a distribution's backport), or remove those algorithms from sshd_config.`,
      }),
    )
  }
  const weak = weakNames(offered)
  if (weak.length > 0) {
    findings.push(
      finding({
        ...base,
        kind: 'weak_algorithm',
        severity: 'warning',
        message: `${host} offers weak algorithms: ${weak.map((w) => `${w.name} (${w.why})`).join('; ')}. Remove them from sshd_config (KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms).`,
      }),
    )
  }
  if (!offersPostQuantumKex(offered)) {
    findings.push(
      finding({
        ...base,
        kind: 'no_pq_kex',
        severity: 'info',
        message: `${host} offers no post-quantum hybrid key exchange (${POST_QUANTUM_KEX.join(', ')}): sessions recorded today could be decrypted by a future quantum computer. OpenSSH 9.0 and later offer sntrup761x25519 by default.`,
      }),
    )
  }
  return findings
}
