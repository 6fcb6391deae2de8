import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { runCli, type CliResult } from '../support/cli.js'
import { skipUnlessSshd, startSshd, type SshdKeyType, type SshdServer } from '../support/sshd.js'
import { scenarioBackends } from '../support/test-store.js'

/* The trust ledger (domain/trust.ts), end to end as a person meets it: the real executable, real sshd
 * on 127.97.<backend*100 + n>.0/24, the embedded store and PostgreSQL. The interceptor is a real sshd
 * started on the host's address and port with keys of its own: what a transparent SSH proxy serves.
 * Each scenario asserts what would be exported (known-hosts) and the exit code a cron job sees. */

interface ScanDocument {
  findings: { kind: string; severity: string; host: string; message: string; fingerprint: string | null }[]
}

const work = mkdtempSync(join(tmpdir(), 'hostkeys-trust-ledger-'))
const backends = scenarioBackends(work)
after(() => rmSync(work, { recursive: true, force: true }))

const base64Of = (pub: string | undefined) => pub!.split(' ')[1]!

async function serve(address: string, port: number | undefined, keyTypes: readonly SshdKeyType[], keyDir: string): Promise<SshdServer> {
  return startSshd({ addresses: [address], keyTypes, keyDir, ...(port ? { port } : {}) })
}

describe('trust ledger', { skip: skipUnlessSshd() }, () => {
  for (const [index, backend] of backends.entries()) {
    describe(backend.name, () => {
      const net = `127.97.${index * 100}`
      async function withDb(fn: (cli: (args: string[]) => Promise<CliResult>) => Promise<void>): Promise<void> {
        const database = await backend.database()
        try {
          await fn((args) => runCli([...args, '--db', database.db]))
        } finally {
          await database.cleanup()
        }
      }
      const scan = async (cli: (args: string[]) => Promise<CliResult>, target: string, ...extra: string[]) => {
        const result = await cli(['scan', ...extra, '--no-dns', '-T', '8', '--format', 'json', target])
        assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
        return { code: result.code, doc: JSON.parse(result.stdout) as ScanDocument }
      }
      const exported = async (cli: (args: string[]) => Promise<CliResult>) => {
        const result = await cli(['known-hosts'])
        assert.equal(result.code, 0, result.stderr)
        return result.stdout
      }

      it('a family swap after an imported baseline is critical, and the interceptor key is never exported', async () => {
        const address = `${net}.1`
        const real = await serve(address, undefined, ['ed25519'], join(work, `${backend.name}-swap-real`))
        const port = real.port
        const target = `[${address}]:${port}`
        await withDb(async (cli) => {
          const file = join(work, `${backend.name}-known_hosts`)
          writeFileSync(file, `${target} ${real.publicKeys.ed25519}\n`)
          assert.equal((await cli(['import', 'known_hosts', file])).code, 0)
          await real.stop()
          const interceptor = await serve(address, port, ['rsa'], join(work, `${backend.name}-swap-mitm`))
          try {
            for (const night of [1, 2]) {
              const { code, doc } = await scan(cli, target)
              const changed = doc.findings.find((f) => f.kind === 'key_changed')
              assert.ok(changed, `night ${night}: key_changed raised (got ${doc.findings.map((f) => f.kind).join(', ')})`)
              assert.equal(changed.severity, 'critical')
              assert.match(changed.message, /withholds its trusted ed25519 key/)
              assert.equal(code, 1, `night ${night}: the cron job sees exit 1`)
              const lines = await exported(cli)
              assert.ok(lines.includes(base64Of(real.publicKeys.ed25519)), 'the trusted key stays exported')
              assert.ok(!lines.includes(base64Of(interceptor.publicKeys.rsa)), `night ${night}: the interceptor's key is not exported`)
            }
            const history = await cli(['history', target])
            assert.match(history.stdout, /serves ssh-rsa \S+ \(pending\)/)
            // The withheld family with --fail-on critical too: a warning would have let it pass.
            assert.equal((await cli(['scan', target, '--no-dns', '-T', '8', '-q', '--fail-on', 'critical'])).code, 1)
          } finally {
            await interceptor.stop()
          }
        })
      })

      it('a new family on a host with trusted keys stays pending until accept; accept trusts it and says what it did', async () => {
        const address = `${net}.2`
        const keyDir = join(work, `${backend.name}-added`)
        const first = await serve(address, undefined, ['ed25519'], keyDir)
        const port = first.port
        const target = `[${address}]:${port}`
        await withDb(async (cli) => {
          assert.equal((await scan(cli, target)).doc.findings[0]?.kind, 'new_host')
          await first.stop()
          const both = await serve(address, port, ['ed25519', 'rsa'], keyDir)
          try {
            for (const night of [1, 2]) {
              const { code, doc } = await scan(cli, target)
              assert.deepEqual(doc.findings.map((f) => `${f.kind} ${f.severity}`), ['key_added warning'], `night ${night}`)
              assert.equal(code, 1)
              assert.ok(!(await exported(cli)).includes(base64Of(both.publicKeys.rsa)), 'pending: not exported')
            }
            const accepted = await cli(['accept', target, '--reason', 'RSA key added for old clients'])
            assert.equal(accepted.code, 0, accepted.stderr)
            assert.match(accepted.stdout, /trusted SHA256:/)
            assert.match(accepted.stdout, /closed 1 trust finding\(s\): key_added/)
            assert.ok((await exported(cli)).includes(base64Of(both.publicKeys.rsa)), 'accepted: exported')
            const after = await scan(cli, target)
            assert.deepEqual(after.doc.findings, [])
            assert.equal(after.code, 0)
            const history = await cli(['history', target])
            assert.match(history.stdout, /became trusted: accept by .+ \(RSA key added for old clients\)/)
          } finally {
            await both.stop()
          }
        })
      })

      it('accept closes the key change but not a weak key it still serves; revoke refuses a key for good', async () => {
        const address = `${net}.3`
        const first = await serve(address, undefined, ['ed25519'], join(work, `${backend.name}-weak-a`))
        const port = first.port
        const target = `[${address}]:${port}`
        await withDb(async (cli) => {
          await scan(cli, target)
          await first.stop()
          const rebuilt = await startSshd({ addresses: [address], port, keyTypes: ['ed25519', 'rsa'], rsaBits: 1024, keyDir: join(work, `${backend.name}-weak-b`) })
          try {
            const { doc } = await scan(cli, target)
            assert.deepEqual(doc.findings.map((f) => f.kind).sort(), ['key_added', 'key_changed', 'weak_key'])
            const accepted = await cli(['accept', target, '--reason', 'rebuilt'])
            assert.equal(accepted.code, 0, accepted.stderr)
            assert.match(accepted.stdout, /closed 2 trust finding\(s\)/)
            assert.match(accepted.stdout, /still open, not a trust decision .*weak_key/)
            const next = await scan(cli, target)
            assert.deepEqual(next.doc.findings.map((f) => f.kind), ['weak_key'], 'the weak key is reported again: accept did not silence it')
            assert.equal(next.code, 1)

            // A waiver is the deliberate exception, listed in the history.
            const waived = await cli(['waive', 'weak_key', target, '--reason', 'legacy appliance until replaced', '--until', '2999-01-01'])
            assert.equal(waived.code, 0, waived.stderr)
            assert.match(waived.stdout, /1 open finding\(s\) waived/)
            const quiet = await scan(cli, target)
            assert.deepEqual(quiet.doc.findings, [])
            assert.equal(quiet.code, 0)
            assert.match((await cli(['history', target])).stdout, /weak_key waived by .+ until 2999-01-01/)
            const refused = await cli(['waive', 'key_changed', target, '--reason', 'x'])
            assert.equal(refused.code, 2)
            assert.match(refused.stderr, /trust decision/)

            // Revoked: exported as @revoked only, and no accept trusts it again.
            const ed = rebuilt.publicKeyFiles.ed25519!
            const revoked = await cli(['revoke', ed, '--reason', 'private key leaked'])
            assert.equal(revoked.code, 0, revoked.stderr)
            const lines = (await exported(cli)).split('\n')
            assert.ok(lines.includes(`@revoked * ssh-ed25519 ${base64Of(rebuilt.publicKeys.ed25519)}`), lines.join('\n'))
            assert.ok(!lines.some((l) => !l.startsWith('@revoked') && l.includes(base64Of(rebuilt.publicKeys.ed25519))), 'no plain line for it')
            const again = await scan(cli, target)
            assert.ok(again.doc.findings.some((f) => f.kind === 'revoked_key' && f.severity === 'critical'))
            const refusedAccept = await cli(['accept', target])
            assert.equal(refusedAccept.code, 2)
            assert.match(refusedAccept.stderr, /revoked: no accept can trust it/)
            assert.match((await cli(['lookup', target])).stdout, /revoked/)
          } finally {
            await rebuilt.stop()
          }
        })
      })

      it('a join never carries trust into a host that has trusted keys of its own', async () => {
        const [a, b] = [`${net}.11`, `${net}.12`]
        const real = await serve(a, undefined, ['ed25519'], join(work, `${backend.name}-join-real`))
        const port = real.port
        const mitmDir = join(work, `${backend.name}-join-mitm`)
        const other = await serve(b, port, ['ed25519'], mitmDir)
        const inventory = join(work, `${backend.name}-join-inventory`)
        await withDb(async (cli) => {
          writeFileSync(inventory, `${a} web11\n`)
          await scan(cli, `--file=${inventory}`, '-p', String(port))
          // A one-off scan of the other address: a new host, trusted on first use.
          await scan(cli, `[${b}]:${port}`)
          await real.stop()
          const mitm = await serve(a, port, ['ed25519'], mitmDir)
          try {
            writeFileSync(inventory, `${a},${b} web11\n`)
            const { code, doc } = await scan(cli, `--file=${inventory}`, '-p', String(port))
            assert.ok(doc.findings.some((f) => f.kind === 'key_changed' && f.severity === 'critical'), JSON.stringify(doc.findings) + (await cli(['history', 'web11'])).stdout)
            assert.equal(code, 1)
            const lines = await exported(cli)
            assert.ok(lines.includes(base64Of(real.publicKeys.ed25519)))
            assert.ok(!lines.includes(base64Of(mitm.publicKeys.ed25519)), "the joined host's key is not vouched for under web11")
          } finally {
            await mitm.stop()
            await other.stop()
          }
        })
      })
    })
  }
})
