import type { OfferedAlgorithms } from '../../src/domain/observation.js'

/* Server KEXINITs as real servers send them, for table tests of the policy and the fleet audit. */

const both = (names: readonly string[]) => ({ clientToServer: names, serverToClient: names })

/** Debian 12's sshd (OpenSSH 9.2p1 Debian-2+deb12u10) with its default algorithms and an Ed25519, an RSA and
 * an ECDSA P-256 host key, as src/ssh/probe-host-key.ts read it from /usr/sbin/sshd on loopback. */
export const OPENSSH_92_BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10'
export const OPENSSH_92_DEFAULT: OfferedAlgorithms = {
  kex: [
    'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
    'kex-strict-s-v00@openssh.com',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256'],
  ciphers: both(['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']),
  macs: both([
    'umac-64-etm@openssh.com',
    'umac-128-etm@openssh.com',
    'hmac-sha2-256-etm@openssh.com',
    'hmac-sha2-512-etm@openssh.com',
    'hmac-sha1-etm@openssh.com',
    'umac-64@openssh.com',
    'umac-128@openssh.com',
    'hmac-sha2-256',
    'hmac-sha2-512',
    'hmac-sha1',
  ]),
  compression: both(['none', 'zlib@openssh.com']),
}

/** The same sshd with this repository's docs/policy.example applied (ssh-audit's Debian 12 hardening):
 * only the Ed25519 and RSA host keys, as sshd_config lines the integration test also uses. */
export const HARDENED_SSHD_CONFIG: readonly string[] = [
  'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256',
  'Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-gcm@openssh.com,aes128-ctr',
  'MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com',
  'HostKeyAlgorithms sk-ssh-ed25519-cert-v01@openssh.com,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256',
]

/** What that sshd sends with HARDENED_SSHD_CONFIG and an Ed25519 and an RSA host key (read the same way). */
export const OPENSSH_92_HARDENED: OfferedAlgorithms = {
  kex: [
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group-exchange-sha256',
    'kex-strict-s-v00@openssh.com',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  ciphers: both(['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-gcm@openssh.com', 'aes128-ctr']),
  macs: both(['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'umac-128-etm@openssh.com']),
  compression: both(['none', 'zlib@openssh.com']),
}
