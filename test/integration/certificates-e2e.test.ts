import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { keygenFingerprint, listCertificate, makeCa, signHostKey, type KeyPairFiles, type SignOptions } from '../support/ssh-ca.js'
import { ensureHostKeysAsync, keyFile, skipUnlessSshd, startSshd, type SshdKeyType, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'

/* Host certificates end to end: real sshd serving certificates made by ssh-keygen -s (HostCertificate),
 * scanned by the CLI run in this process (main(): the same wiring, renderers and exit codes) into an
 * open embedded store and PostgreSQL, one per test. 127.72.0.0/16: the fleet of
 * certificate cases on 127.72.0.0/24, each backend's history scenario on 127.72.<10 + backend>.0/24. */

interface Certificate {
  keyId: string
  serial: string
  principals: string[]
  validAfter: string | null
  validBefore: string | null
  ca: { type: string; sha256: string }
  signatureValid: boolean
  kind: string
}
interface ScanDocument {
  hosts: { host: string; status: string; error: string | null; keys: { type: string; sha256: string; certificate: Certificate | null }[] }[]
  findings: { kind: string; severity: string; host: string; fingerprint: string | null; previous: string | null; message: string }[]
}

const TIMEOUT = ['-T', '8']
const work = mkdtempSync(join(tmpdir(), 'hostkeys-certs-e2e-'))
const backends = testBackends()

function json(result: CliResult): ScanDocument {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as ScanDocument
}

const certKinds = (doc: ScanDocument, host: string) =>
  doc.findings.filter((f) => f.host === host && (f.kind.startsWith('cert_') || f.kind === 'ca_changed')).map((f) => `${f.severity} ${f.kind}`).sort()

/** One sshd whose host keys of `types` each serve a certificate signed as `sign` says (null: plain keys). */
interface Certified {
  readonly keyDir: string
  readonly types: readonly SshdKeyType[]
}

describe('host certificates end to end (CLI, real sshd)', { skip: skipUnlessSshd() }, () => {
  const servers = new Set<SshdServer>()
  let fleet: KeyPairFiles
  let rogue: KeyPairFiles

  /** Signs the keys in keyDir (made if missing) and starts an sshd serving them with their certificates. */
  async function certifiedSshd(
    address: string,
    certified: Certified,
    sign: ((type: SshdKeyType) => { ca: KeyPairFiles; options: SignOptions }) | null,
    port?: number,
  ): Promise<SshdServer> {
    await ensureHostKeysAsync(certified.keyDir, certified.types)
    const extraConfig: string[] = []
    if (sign) {
      for (const type of certified.types) {
        const { ca, options } = sign(type)
        extraConfig.push(`HostCertificate ${signHostKey(ca, `${keyFile(certified.keyDir, type)}.pub`, options).path}`)
      }
    }
    const server = await startSshd({ addresses: [address], keyDir: certified.keyDir, keyTypes: certified.types, extraConfig, ...(port ? { port } : {}) })
    servers.add(server)
    return server
  }

  before(() => {
    fleet = makeCa(work, 'ed25519', 'fleet_ca')
    rogue = makeCa(work, 'ecdsa-256', 'rogue_ca')
  })
  after(async () => {
    await Promise.all([...servers].map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })

  describe('a fleet of certificate cases, judged in one scan', () => {
    /** name -> address, validity, principals, CA, user */
    const cases = {
      valid: { n: 1, types: ['ed25519', 'ecdsa-256', 'rsa'] as SshdKeyType[], validity: '-1d:+90d', expect: [] as string[] },
      expiring: { n: 2, validity: '-1d:+5d', expect: ['warning cert_expiring'] },
      expired: { n: 3, validity: '-10d:-1d', expect: ['critical cert_expired'] },
      later: { n: 4, validity: '+2d:+30d', expect: ['warning cert_not_yet_valid'] },
      forever: { n: 5, validity: 'always:forever', expect: ['warning cert_no_expiry'] },
      elsewhere: { n: 6, validity: '-1d:+90d', principals: ['elsewhere.example.test'], expect: ['warning cert_principal_mismatch'] },
      rogue: { n: 7, validity: '-1d:+90d', ca: 'rogue', expect: ['warning cert_untrusted_ca'] },
      user: { n: 8, validity: '-1d:+90d', user: true, expect: ['critical cert_not_host'] },
    } as const
    type Case = keyof typeof cases
    const name = (c: Case) => `${c}.certs.test`
    const address = (c: Case) => `127.72.0.${cases[c].n}`
    let port: number
    const keyDirs = new Map<Case, string>()
    const inventory = join(work, 'fleet.txt')

    before(async () => {
      for (const c of Object.keys(cases) as Case[]) {
        const spec = cases[c] as { n: number; types?: SshdKeyType[]; validity: string; principals?: readonly string[]; ca?: string; user?: boolean }
        const keyDir = mkdtempSync(join(work, `keys-${c}-`))
        keyDirs.set(c, keyDir)
        const server = await certifiedSshd(
          address(c),
          { keyDir, types: spec.types ?? ['ed25519'] },
          () => ({
            ca: spec.ca === 'rogue' ? rogue : fleet,
            options: { id: `${c}-host`, principals: spec.principals ?? [name(c), address(c)], validity: spec.validity, serial: 100 + spec.n, ...(spec.user ? { user: true } : {}) },
          }),
          c === 'valid' ? undefined : port,
        )
        port ??= server.port
      }
      writeFileSync(inventory, (Object.keys(cases) as Case[]).map((c) => `${address(c)} ${name(c)}`).join('\n') + '\n')
    })

    for (const [index, backend] of backends.entries()) {
      it(`${backend.name}: collects every certificate and raises exactly its finding for each case`, async () => {
        const { store, cleanup } = await backend.open()
        const cli = (...args: string[]) => runInProcess(args, { history: store })
        try {
          // The fleet CA is trusted for the fleet's names: an @cert-authority line, as ssh_known_hosts has it.
          // Off port 22 ssh looks hosts up as [name]:port, then as the bare name: either pattern names them.
          const knownHosts = join(work, `ca-${index}`)
          writeFileSync(knownHosts, `@cert-authority *.certs.test,[*.certs.test]:* ${fleet.publicLine}\n`)
          const imported = await cli('import', 'known_hosts', knownHosts)
          assert.equal(imported.code, 0, imported.stderr)

          const result = await cli('scan', '--no-dns', ...TIMEOUT, '--format', 'json', '-p', String(port), '-f', inventory)
          const doc = json(result)
          assert.equal(result.code, 1, 'critical findings exit 1')
          for (const c of Object.keys(cases) as Case[]) {
            const host = `[${name(c)}]:${port}`
            assert.deepEqual(certKinds(doc, host), [...cases[c].expect], `${c}: ${doc.findings.filter((f) => f.host === host).map((f) => f.message).join(' | ')}`)
          }

          // Each certificate as ssh-keygen -L reads it; each certified key's fingerprint as ssh-keygen -lf prints the plain key's.
          const valid = doc.hosts.find((h) => h.host === `[${name('valid')}]:${port}`)!
          assert.equal(valid.status, 'ok', valid.error ?? '')
          assert.deepEqual(valid.keys.map((k) => k.type).sort(), ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa'])
          for (const type of cases.valid.types) {
            const pub = `${keyFile(keyDirs.get('valid')!, type)}.pub`
            const listing = listCertificate(`${keyFile(keyDirs.get('valid')!, type)}-cert.pub`)
            const key = valid.keys.find((k) => k.sha256 === keygenFingerprint(pub))
            assert.ok(key, `the ${type} key, by its plain fingerprint`)
            const cert = key.certificate!
            assert.equal(cert.kind, 'host')
            assert.equal(cert.keyId, listing.keyId)
            assert.equal(cert.serial, listing.serial)
            assert.deepEqual(cert.principals, [...listing.principals])
            assert.equal(cert.ca.sha256, listing.caFingerprint)
            assert.equal(cert.ca.sha256, keygenFingerprint(fleet.publicKey))
            assert.equal(cert.signatureValid, true)
            assert.match(listing.valid, new RegExp(`^from ${cert.validAfter!.slice(0, 19)} to ${cert.validBefore!.slice(0, 19)}$`))
          }
          const forever = doc.hosts.find((h) => h.host === `[${name('forever')}]:${port}`)!
          assert.equal(forever.keys[0]!.certificate!.validBefore, null)

          // lookup by a CA's fingerprint: every host whose certificate it signed.
          const signed = await cli('lookup', keygenFingerprint(fleet.publicKey), '--format', 'json')
          assert.equal(signed.code, 0, signed.stderr)
          const matches = (JSON.parse(signed.stdout) as { matches: { host: string; certifiedBy: { keyId: string } | null }[] }).matches
          const hosts = [...new Set(matches.map((m) => m.host))].sort()
          assert.deepEqual(hosts, (Object.keys(cases) as Case[]).filter((c) => c !== 'rogue').map((c) => `[${name(c)}]:${port}`).sort())
          assert.ok(matches.every((m) => m.certifiedBy !== null))
          const byRogue = await cli('lookup', keygenFingerprint(rogue.publicKey))
          assert.equal(byRogue.code, 0, byRogue.stderr)
          assert.match(byRogue.stdout, /rogue\.certs\.test.*certified by this CA \("rogue-host" serial 107/)
          assert.doesNotMatch(byRogue.stdout, /valid\.certs\.test/)
        } finally {
          await cleanup()
        }
      })
    }

    it('--no-store judges what needs no history: validity, principals, the signature; not the CA\'s trust', async () => {
      const result = await runInProcess(['scan', '--no-store', '--no-dns', ...TIMEOUT, '--format', 'json', '-p', String(port), '-f', inventory])
      const doc = json(result)
      for (const c of Object.keys(cases) as Case[]) {
        const expected = cases[c].expect.filter((k) => k !== 'warning cert_untrusted_ca')
        assert.deepEqual(certKinds(doc, `[${name(c)}]:${port}`), expected, c)
      }
    })

    it('the text table marks certified keys', async () => {
      const result = await runInProcess(['scan', '--no-store', '--no-dns', ...TIMEOUT, '-p', String(port), `${address('expired')}`])
      assert.match(result.stdout, /ssh-ed25519 +256 +SHA256:\S+ \(cert "expired-host" serial 103, CA SHA256:\S+, until \d{4}-\d\d-\d\d\)/)
      assert.match(result.stdout, /CRITICAL cert_expired/)
    })
  })

  for (const [index, backend] of backends.entries()) {
    it(`${backend.name}: the history records renewals, a change of CA and a certificate dropped`, async () => {
      const { store, cleanup } = await backend.open()
      const cli = (...args: string[]) => runInProcess(args, { history: store })
      const address = `127.72.${10 + index}.1`
      const keyDir = mkdtempSync(join(work, `keys-history-${index}-`))
      const certified = { keyDir, types: ['ed25519'] as SshdKeyType[] }
      const names = ['web.certs.test', address]
      const scan = () => cli('scan', '--no-dns', ...TIMEOUT, '--format', 'json', '-p', String(server.port), '-f', inventory)
      const inventory = join(work, `history-${index}.txt`)
      writeFileSync(inventory, `${address} web.certs.test\n`)
      let server = await certifiedSshd(address, certified, () => ({ ca: fleet, options: { id: 'web', principals: names, validity: '-1d:+60d', serial: 1 } }))
      const restart = async (sign: Parameters<typeof certifiedSshd>[2]) => {
        await server.stop()
        servers.delete(server)
        server = await certifiedSshd(address, certified, sign, server.port)
      }
      try {
        const trust = join(work, `trust-${index}`)
        writeFileSync(trust, `@cert-authority [*.certs.test]:* ${fleet.publicLine}\n`)
        assert.equal((await cli('import', 'known_hosts', trust)).code, 0)
        const host = `[web.certs.test]:${server.port}`
        const first = json(await scan())
        assert.deepEqual(first.findings.map((f) => f.kind), ['new_host'])

        // Renewed: same key, same CA, a new serial and end. Not a key change; an info in the history.
        await restart(() => ({ ca: fleet, options: { id: 'web', principals: names, validity: '-1d:+120d', serial: 2 } }))
        const renewed = json(await scan())
        assert.deepEqual(renewed.findings.map((f) => `${f.severity} ${f.kind}`), ['info cert_renewed'])
        assert.match(renewed.findings[0]!.message, /serial 1 -> 2/)
        const again = json(await scan())
        assert.deepEqual(again.findings, [], 'a renewal is reported once')

        // The same key now certified by another CA: ca_changed, until accepted.
        await restart(() => ({ ca: rogue, options: { id: 'web', principals: names, validity: '-1d:+60d', serial: 3 } }))
        const changed = json(await scan())
        assert.deepEqual(certKinds(changed, host), ['critical ca_changed', 'warning cert_untrusted_ca'])
        const caChanged = changed.findings.find((f) => f.kind === 'ca_changed')!
        assert.equal(caChanged.previous, keygenFingerprint(fleet.publicKey))
        assert.match(caChanged.message, new RegExp(keygenFingerprint(rogue.publicKey).replace(/[+/]/g, '\\$&')))
        const stillOpen = json(await scan())
        assert.deepEqual(certKinds(stillOpen, host), ['critical ca_changed', 'warning cert_untrusted_ca'], 'an event stays open until accepted')
        assert.equal((await cli('accept', 'web.certs.test', '--reason', 'CA rotation')).code, 0)
        const accepted = json(await scan())
        // The accept took the new CA as the host's (no ca_changed); that the CA is trusted for no host is still
        // true, and accept decides trust in keys, not in CAs (`ca trust` does): the warning stays.
        assert.deepEqual(certKinds(accepted, host), ['warning cert_untrusted_ca'], 'the accepted CA is the host\'s CA now, still untrusted')

        // The certificate taken away: the same key served plain.
        await restart(null)
        const removed = json(await scan())
        assert.deepEqual(certKinds(removed, host), ['warning cert_removed'])
        assert.equal(removed.hosts[0]!.keys[0]!.certificate, null)

        const history = await cli('history', 'web.certs.test')
        assert.equal(history.code, 0, history.stderr)
        for (const kind of ['cert_renewed', 'ca_changed', 'cert_removed']) assert.match(history.stdout, new RegExp(kind))
      } finally {
        await cleanup()
      }
    })
  }
})
