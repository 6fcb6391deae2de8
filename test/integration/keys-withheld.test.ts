import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, type CliResult } from '../support/cli.js'
import { startHostilePeer, type HostilePeer } from '../support/hostile-peer.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { scenarioBackends } from '../support/test-store.js'

/* A host that sends its banner and KEXINIT and then stalls every key-exchange reply answered SSH: it
 * is keys_withheld, a warning from its first scan (never never_reached or host_unreachable, whose
 * advice is to check that sshd runs there), with a store on both backends and with --no-store. The
 * real executable; the peer on 127.93.<backend*10 + n>.1. */

interface Finding {
  kind: string
  severity: string
  host: string
  message: string
}
interface ScanDocument {
  hosts: { host: string; status: string }[]
  findings: Finding[]
}

// Short enough that a stalled key exchange ends soon; long enough for a greeting on a loaded machine.
const TIMEOUT = ['-T', '3']
const work = mkdtempSync(join(tmpdir(), 'hostkeys-withheld-'))
const backends = scenarioBackends(work)

function json(result: CliResult): ScanDocument {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as ScanDocument
}

function assertWithheld(result: CliResult, host: string): void {
  assert.equal(result.code, 1, `a warning at the default --fail-on: exit 1 (${result.stderr})`)
  const doc = json(result)
  assert.deepEqual(doc.findings.map((f) => [f.kind, f.severity, f.host]), [['keys_withheld', 'warning', host]])
  const message = doc.findings[0]!.message
  assert.match(message, /answered SSH \(its banner "SSH-2\.0-OpenSSH_[^"]+" and a key exchange offer naming 3 host key algorithm\(s\): ssh-ed25519,rsa-sha2-512,rsa-sha2-256\) but gave no host key \(timeout: /)
  assert.match(message, /withholds every key from this scanner/)
  assert.doesNotMatch(message, /sshd runs there|did not answer|never answered/)
}

describe('a host that answers SSH and withholds every key (CLI)', { skip: skipUnlessSshd() }, () => {
  const peers = new Set<HostilePeer>()
  const servers = new Set<SshdServer>()
  after(async () => {
    await Promise.all([...peers].map((p) => p.close()))
    await Promise.all([...servers].map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })
  async function stalling(address: string): Promise<HostilePeer> {
    const peer = await startHostilePeer(address, 'stall-after-kexinit')
    peers.add(peer)
    return peer
  }

  it('--no-store: keys_withheld, a warning', async () => {
    const peer = await stalling('127.93.90.1')
    const result = await runCli(['scan', '--no-store', '--no-dns', ...TIMEOUT, '--format', 'json', `${peer.address}:${peer.port}`])
    assertWithheld(result, `[${peer.address}]:${peer.port}`)
  })

  for (const [index, backend] of backends.entries()) {
    describe(backend.name, () => {
      const cleanups: (() => Promise<void>)[] = []
      before(async () => {
        if (index === 0) await backend.database().then((d) => d.cleanup()) // make the template first
      })
      after(async () => {
        await Promise.all(cleanups.map((c) => c()))
      })

      it('keys_withheld from the first scan, at every scan while it stalls; resolved by the scan that gets its keys', async () => {
        const { db, cleanup } = await backend.database()
        cleanups.push(cleanup)
        const address = `127.93.${index * 10 + 1}.1`
        const peer = await stalling(address)
        const host = `[${address}]:${peer.port}`
        const scan = () => runCli(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', '--db', db, `${address}:${peer.port}`])

        assertWithheld(await scan(), host)
        assertWithheld(await scan(), host)

        // The real server at last answers at that address and port: it is reached, and the condition ends.
        await peer.close()
        peers.delete(peer)
        const server = await startSshd({ addresses: [address], keyTypes: ['ed25519'], port: peer.port })
        servers.add(server)
        const reached = json(await scan())
        assert.deepEqual(reached.findings.map((f) => f.kind), ['new_host'])
        const open = await runCli(['findings', '--open', '--format', 'json', '--db', db])
        assert.equal(open.code, 0, open.stderr)
        assert.deepEqual((JSON.parse(open.stdout) as { findings: Finding[] }).findings.filter((f) => f.kind === 'keys_withheld'), [])
      })
    })
  }
})
