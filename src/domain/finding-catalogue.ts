import type { FindingKind, Severity } from './finding.js'

/* finding catalogue : every finding kind classified once. The compiler refuses a kind nobody
 *                     classified (Record<FindingKind, …>), so a new kind cannot silently become an
 *                     event or something `accept` closes. The lifecycle code (analysis/finding-lifecycle.ts),
 *                     `accept` and `waive` (store/admin-commands.ts), the report's "resolve with" column
 *                     (report/finding-actions.ts), JSON and docs/findings.md all read this table.
 *
 * lifecycle : condition = true of the host, key, configuration or DNS now: raised at every scan that
 *                         sees it, resolved by the first scan that could see it and did not (`gone`);
 *             event     = something that happened (a key vanished): open until a person closes it;
 *             note      = for the history only: recorded resolved at birth.
 * closed by : accept = a trust decision (`hostkeys accept HOST`): the host's served keys become its
 *                      trusted keys, and these findings close with it;
 *             waiver = only `hostkeys waive KIND HOST --reason … [--until DATE]`, a deliberate, listed
 *                      and expiring exception; `accept` never closes them, since accepting keys does not
 *                      make a weak key strong or DNS right;
 *             never  = nothing closes it but the condition ending (a revoked or compromised key must
 *                      go from the host);
 *             nobody = a note: nothing to close. */

export type Lifecycle = 'condition' | 'event' | 'note'
export type ClosedBy = 'accept' | 'waiver' | 'never' | 'nobody'

/** What a scan must have looked at to say a condition is gone (analysis/finding-lifecycle.ts). */
export type ConditionScope =
  /** the host answered */
  | 'host'
  /** the host answered and every family asked for was collected */
  | 'all-families'
  /** the host's name resolved */
  | 'name'
  /** the host answered and the key's family was asked for and collected */
  | 'key'
  /** one of the hosts holding the key answered */
  | 'holders'
  /** the scan looked at DNS (not --no-dns) */
  | 'dns'
  /** the scan applied a policy (--policy) */
  | 'policy'

export interface FindingSpec {
  /** The severity it is raised at; `alsoAt` lists the others it can take, and `severityNote` says when. */
  readonly severity: Severity
  readonly alsoAt?: readonly Severity[]
  readonly severityNote?: string
  readonly lifecycle: Lifecycle
  /** For conditions: what a scan must have covered to resolve it. */
  readonly gone?: ConditionScope
  /** In words, for people: what ends it. */
  readonly endsWhen: string
  readonly closedBy: ClosedBy
  /** Raised only by a scan that keeps a history (not with --no-store). */
  readonly needsHistory: boolean
  /** The hostkeys command that resolves it, with HOST, HOSTS and NAME standing for the finding's; null when the fix is on the host. */
  readonly resolveWith: string | null
  /** What to make sure of before running resolveWith. */
  readonly checkFirst: string | null
  /** One paragraph for people: what it means, its innocent causes, what to check first. */
  readonly explanation: string
}

const VERIFY_OUT_OF_BAND = "verify the new key or CA with the host's owner out of band"

export const FINDING_CATALOGUE: Readonly<Record<FindingKind, FindingSpec>> = {
  new_host: {
    severity: 'info',
    lifecycle: 'note',
    endsWhen: 'recorded resolved: the first scan of a host trusts what it serves (trust on first use)',
    closedBy: 'nobody',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'A host the history had not seen answered for the first time, and its keys were trusted on first use. ' +
      'Check the fingerprints against the console or the provisioning log if the host matters.',
  },
  key_added: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'an accept trusts the key, or a scan no longer sees it served',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: VERIFY_OUT_OF_BAND,
    explanation:
      'A host that has trusted keys serves a key of a family it never had a trusted key of (an Ed25519 host now also offers RSA). ' +
      'The key stays pending, never exported, until accepted. Innocent causes: a new HostKey line, an upgrade that generated ' +
      'a missing key type, an imported known_hosts baseline that listed one key type only. An interceptor that offers its own key ' +
      'of another family raises it too: check with the host owner before accepting.',
  },
  key_removed: {
    severity: 'warning',
    lifecycle: 'event',
    endsWhen: 'an accept retires the key',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: 'make sure the key was retired on purpose',
    explanation:
      'A host no longer serves one of its trusted keys while it still serves the others of that family or none new. ' +
      'Innocent causes: a HostKey line removed, a key type disabled by hardening. The trusted key stays exported until the removal ' +
      'is accepted.',
  },
  key_changed: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'an accept trusts the new key, or the host serves its trusted key again',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: VERIFY_OUT_OF_BAND,
    explanation:
      'What ssh calls "REMOTE HOST IDENTIFICATION HAS CHANGED": the host serves a key that is not trusted where a trusted one ' +
      'was, either a different key of the same family or a key of a new family while it withholds every trusted family (a family swap). ' +
      'Innocent causes: a rebuild or reinstall, a key rotation, a DNS name moved to another server, a load balancer in front ' +
      'of several servers. Otherwise somebody may be in the middle. Do not connect until the owner confirms the new fingerprint.',
  },
  host_unreachable: {
    severity: 'info',
    alsoAt: ['warning'],
    severityNote: 'warning once the host failed --unreachable-after scans in a row',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan reaches the host',
    closedBy: 'waiver',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'A host that answered before did not answer this scan (refused, timed out, unreachable). One night is often maintenance; ' +
      'many in a row mean it is gone or firewalled. Remove it from the inventory if it was decommissioned.',
  },
  host_unresolvable: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'name',
    endsWhen: "a scan resolves the host's name",
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: "The inventory's name did not resolve. A typo, a removed DNS record or a resolver problem on the scanning machine.",
  },
  never_reached: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan reaches the host',
    closedBy: 'waiver',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'An inventory entry that has never answered SSH. Check the name, the port and that sshd runs there; ' +
      'addresses a CIDR range expanded to are not hosts until they answer.',
  },
  partial_scan: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'all-families',
    endsWhen: 'a scan collects every family it asks for',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'The host answered, but the probe for some key families failed (timeout, dropped connection), so nothing is known about ' +
      'those families this scan. Often load or MaxStartups on the server; a host that fails only some families every night deserves a look.',
  },
  keys_withheld: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan receives a host key from the server',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'The server answered SSH (sent its banner and KEXINIT) but never sent a host key: every key exchange stalled or broke. ' +
      'Innocent causes: an overloaded sshd, a tarpit, a broken middlebox. It is not "down": something answers in its name.',
  },
  revoked_key: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host no longer serves the revoked key',
    closedBy: 'never',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'The host serves a key marked @revoked (imported from a known_hosts file, or `hostkeys revoke`). ssh refuses it, ' +
      'exports write it as @revoked, and no accept can trust it again. Replace the key on the host.',
  },
  duplicate_key: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'holders',
    endsWhen: 'the hosts no longer share the key, or allow-shared records that they may',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: 'hostkeys allow-shared HOSTS',
    checkFirst: 'only if these hosts legitimately share the key',
    explanation:
      'Several hosts serve the same key: usually VMs cloned from one template (each can impersonate the others), sometimes one ' +
      'server under several names or a cluster behind one key on purpose. Regenerate the keys of clones (ssh-keygen -A after removing ' +
      'them); record legitimate sharing with allow-shared.',
  },
  weak_key: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host no longer serves the weak key',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'A key below current strength (RSA under 2048 bits, DSA). Generate a stronger key on the host and remove the weak one.',
  },
  interception: {
    severity: 'critical',
    lifecycle: 'event',
    endsWhen: 'an accept of each host involved',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: VERIFY_OUT_OF_BAND,
    explanation:
      'Several hosts changed to one and the same key in one scan: the signature of a transparent SSH proxy or an intercepting ' +
      'firewall that re-keys every connection. Innocent only when the hosts were rebuilt from one template in the same window.',
  },
  sshfp_mismatch: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'dns',
    endsWhen: "a scan that checked DNS finds records matching the host's trusted keys",
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: 'hostkeys sshfp --format nsupdate --diff NAME',
    checkFirst: 'then feed the update to nsupdate',
    explanation:
      "DNS publishes SSHFP records for the host, and none matches the key it serves: clients with VerifyHostKeyDNS refuse it. " +
      'Usually records left from before a rebuild; otherwise DNS or the host is not what it claims.',
  },
  sshfp_missing: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'dns',
    endsWhen: 'a scan that checked DNS finds the records',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: 'hostkeys sshfp --format nsupdate --diff NAME',
    checkFirst: 'then feed the update to nsupdate',
    explanation: 'The host publishes SSHFP records for some keys but not for this one (or none at all where records are expected).',
  },
  sshfp_stale: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'dns',
    endsWhen: 'a scan that checked DNS no longer finds the stale record',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: 'hostkeys sshfp --format nsupdate --diff NAME',
    checkFirst: 'then feed the update to nsupdate',
    explanation: 'DNS publishes an SSHFP record for a key the host no longer serves: remove it, or clients may trust an old key.',
  },
  sshfp_insecure: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'dns',
    endsWhen: 'a scan that checked DNS gets the records DNSSEC-validated',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'SSHFP records came without DNSSEC validation (no AD bit): ssh ignores them, and anyone on the path could forge them.',
  },
  dns_error: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'dns',
    endsWhen: 'a scan that checked DNS gets an answer',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The SSHFP lookup failed (timeout, SERVFAIL, a malformed answer): nothing is known of the records this scan.',
  },
  cert_expired: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host presents a valid certificate',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The host certificate has expired: clients that trust the CA refuse it. Sign a new one and reload sshd.',
  },
  cert_expiring: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host presents a renewed certificate',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The host certificate ends within --cert-warn-days. Renew it before clients start refusing it.',
  },
  cert_not_yet_valid: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the certificate becomes valid, or is replaced',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: "The certificate is valid only from a future date: usually the signer's clock, or a -V range off by a day.",
  },
  cert_no_expiry: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host presents a certificate with a validity period',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The certificate never expires: if the host key leaks it cannot age out. Sign with a validity period.',
  },
  cert_principal_mismatch: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: "the certificate's principals name the host",
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The certificate does not name the host under the name clients use: they fall back to known_hosts or refuse.',
  },
  cert_untrusted_ca: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the CA is trusted for the host (`hostkeys ca trust`), or the host presents a certificate of a trusted CA',
    closedBy: 'waiver',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The certificate is signed by a CA the history does not trust for this host, or by a revoked CA.',
  },
  cert_bad_signature: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host presents a certificate whose signature verifies',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: "The certificate's CA signature does not verify: altered or forged. Treat the host as untrusted until explained.",
  },
  cert_not_host: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host presents a host certificate',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The host presents a USER certificate as its host key: a configuration mistake or an impersonation attempt.',
  },
  ca_changed: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: "an accept makes the new CA the host's, or the host presents a certificate of its CA again",
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: VERIFY_OUT_OF_BAND,
    explanation: 'The host presents a certificate signed by another CA than the one it had: a CA rotation, or a forged certificate.',
  },
  cert_renewed: {
    severity: 'info',
    lifecycle: 'note',
    endsWhen: 'recorded resolved',
    closedBy: 'nobody',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The host presents a new certificate from its CA for the same key: a renewal, for the history.',
  },
  cert_removed: {
    severity: 'warning',
    lifecycle: 'event',
    endsWhen: 'an accept of the host',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: 'make sure the certificate was removed on purpose',
    explanation: 'The host serves a key without the certificate it presented before: clients relying on the CA fall back to known_hosts.',
  },
  terrapin: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan that reaches the host no longer sees the vulnerable combination',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'The server offers ChaCha20-Poly1305 or CBC with an EtM MAC without strict key exchange (CVE-2023-48795, Terrapin). ' +
      'Update sshd or remove those algorithms.',
  },
  weak_algorithm: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan that reaches the host no longer sees the algorithm offered',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The server offers an algorithm below current strength (SHA-1 key exchange, CBC ciphers, 96-bit MACs, ssh-rsa signatures only).',
  },
  no_pq_kex: {
    severity: 'info',
    lifecycle: 'condition',
    gone: 'host',
    endsWhen: 'a scan that reaches the host sees a post-quantum key exchange offered',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The server offers no post-quantum hybrid key exchange: recorded sessions could be decrypted later. OpenSSH 9.0 and later offer one.',
  },
  policy_violation: {
    severity: 'warning',
    lifecycle: 'condition',
    gone: 'policy',
    endsWhen: 'a scan with --policy finds the host compliant',
    closedBy: 'waiver',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The server offers something the --policy file forbids, or lacks something it requires.',
  },
  config_changed: {
    severity: 'info',
    lifecycle: 'note',
    endsWhen: 'recorded resolved',
    closedBy: 'nobody',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation: 'The server changed its banner or algorithms while keeping its keys: an upgrade or a new sshd_config, for the history.',
  },
  compromised_key: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'the host no longer serves the key',
    closedBy: 'never',
    needsHistory: false,
    resolveWith: null,
    checkFirst: null,
    explanation:
      'The key is known-bad (a shared prime, ROCA, Fermat-close primes, a blocklisted or small-order key): its private key can be ' +
      'computed or is public. It is never vouched for and no accept can trust it. Regenerate the key on the host.',
  },
  oob_mismatch: {
    severity: 'critical',
    lifecycle: 'condition',
    gone: 'key',
    endsWhen: 'a scan sees the stated key, or a newer statement states the served key',
    closedBy: 'waiver',
    needsHistory: true,
    resolveWith: null,
    checkFirst: null,
    explanation:
      "A statement made outside the network (the owner's `expect`, or the host's own `self-report`) contradicts the key the host serves: " +
      'a self-report lists every key the host has, so a served key missing from it is not the host\'s. A stale statement is the innocent cause: ' +
      'state again after a rebuild.',
  },
  vantage_mismatch: {
    severity: 'critical',
    lifecycle: 'event',
    endsWhen: 'an accept of the host',
    closedBy: 'accept',
    needsHistory: true,
    resolveWith: 'hostkeys accept HOST',
    checkFirst: 'find out which network path answers in the host\'s name',
    explanation:
      'Two vantages of one run saw different keys for the host, or one saw a key family the other did not: one network path is answered ' +
      'by something else (an intercepting proxy re-keys what crosses it). Innocent causes: split-horizon DNS, keys regenerated between probes.',
  },
}

/** The catalogue's entry for a kind. */
export function specOf(kind: FindingKind): FindingSpec {
  return FINDING_CATALOGUE[kind]
}

/** Kinds `accept` closes: its trust decisions. */
export const ACCEPT_CLOSES: readonly FindingKind[] = (Object.keys(FINDING_CATALOGUE) as FindingKind[]).filter(
  (k) => FINDING_CATALOGUE[k].closedBy === 'accept',
)
