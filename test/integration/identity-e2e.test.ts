import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'

/* Issue 7's situations, end to end: the CLI run in this process (main(): the same wiring, renderers and
 * exit codes), real sshd on 127.91.0.0/16 (each scenario addresses and names of its own:
 * 127.91.<backend*100 + n>.0/24), one open store per backend: the embedded store and PostgreSQL. What
 * reads the whole history is narrowed to the scenario's hosts. Every scan passes --no-dns;
 * unresolvable names are under .invalid (RFC 6761: answered without a query). */

interface Finding {
  kind: string
  severity: string
  host: string
  hosts: string[]
}
interface ScanDocument {
  hosts: { host: string; status: string; error: string | null; keys: { type: string; sha256: string }[] }[]
  findings: Finding[]
}

// Generous: the suite must pass on a loaded 2-core machine.
const TIMEOUT = ['-T', '8']
const work = mkdtempSync(join(tmpdir(), 'hostkeys-identity-e2e-'))
const backends = testBackends()

function json(result: CliResult): ScanDocument {
  assert.ok(result.code === 0 || result.code === 1, `scan exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as ScanDocument
}

const kinds = (doc: ScanDocument) => doc.findings.map((f) => `${f.kind} ${f.host}`).sort()

/**
 * A TCP proxy in front of an sshd. With `stallRsa`, it stalls the connections whose client KEXINIT
 * asks only for RSA host keys: an interceptor hiding one key family (the KEXINIT travels in clear,
 * RFC 4253 §7.1).
 */
async function proxy(address: string, port: number, backend: SshdServer, stallRsa: boolean): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(backend.port, backend.addresses[0]!)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    upstream.pipe(client)
    let pending = Buffer.alloc(0)
    let decided = !stallRsa
    client.on('data', (chunk: Buffer) => {
      if (decided) return void upstream.write(chunk)
      pending = Buffer.concat([pending, chunk])
      const text = pending.toString('latin1')
      if (text.includes('ssh-ed25519') || text.includes('ecdsa-sha2-nistp')) {
        decided = true
        upstream.write(pending)
      } else if (text.includes('rsa-sha2-512')) {
        decided = true
        upstream.destroy() // the client waits for a key exchange reply that never comes
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(port, address, resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy())
        server.close(() => resolve())
      }),
  }
}

describe('identity and trust end to end (CLI, real sshd)', { skip: skipUnlessSshd() }, () => {
  const servers = new Set<SshdServer>()
  const closers: (() => void)[] = []
  async function sshd(address: string, options: { keyDir?: string; port?: number } = {}): Promise<SshdServer> {
    const server = await startSshd({ addresses: [address], keyTypes: ['ed25519', 'ecdsa-256', 'rsa'], ...options })
    servers.add(server)
    return server
  }
  async function rebuild(server: SshdServer): Promise<SshdServer> {
    await server.stop()
    servers.delete(server)
    return sshd(server.addresses[0]!, { port: server.port, keyDir: mkdtempSync(join(work, 'keys-')) })
  }
  after(async () => {
    await Promise.all([...servers].map((s) => s.stop()))
    closers.forEach((c) => c())
    rmSync(work, { recursive: true, force: true })
  })

  for (const [index, backend] of backends.entries()) {
    const net = (n: number) => `127.91.${index * 100 + n}`
    describe(backend.name, { concurrency: 3 }, () => {
      let opened: OpenedStore
      before(async () => {
        opened = await backend.open()
      })
      after(async () => {
        await opened?.cleanup()
      })
      const cli = (args: readonly string[]) => runInProcess(args, { history: opened.store })
      const scan = (...args: string[]) => cli(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', ...args])

      it('a baseline imported by address is compared when the rebuilt server is scanned by name: key_changed, not new_host', async () => {
        const address = `${net(1)}.12`
        const original = await sshd(address)
        const knownHosts = join(work, `kh-${index}`)
        writeFileSync(knownHosts, execFileSync('ssh-keyscan', ['-p', String(original.port), address], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))
        const imported = await cli(['import', 'known_hosts', knownHosts])
        assert.equal(imported.code, 0, imported.stderr)
        const rebuilt = await rebuild(original)
        const inventory = join(work, `inv-${index}-1`)
        writeFileSync(inventory, `${address} web2.example.test\n`)
        const doc = json(await scan('-f', inventory, '-p', String(rebuilt.port)))
        const host = `[web2.example.test]:${rebuilt.port}`
        assert.deepEqual(kinds(doc), [`key_changed ${host}`, `key_changed ${host}`, `key_changed ${host}`])
        // The export still trusts only the imported keys, under the name and the address.
        const exported = await cli(['known-hosts'])
        assert.equal(exported.code, 0, exported.stderr)
        for (const type of ['ed25519', 'ecdsa-256', 'rsa'] as const) {
          const blob = rebuilt.publicKeys[type]!.split(' ')[1]!
          assert.ok(!exported.stdout.includes(blob), `the untrusted new ${type} key is not exported`)
          assert.ok(exported.stdout.includes(original.publicKeys[type]!.split(' ')[1]!), `the imported ${type} key is exported`)
        }
        assert.match(exported.stdout, new RegExp(`\\[web2\\.example\\.test\\]:${rebuilt.port},\\[${address.replace(/\./g, '\\.')}\\]:${rebuilt.port} `))
        // A bare name off port 22 is enough for accept and history.
        const accepted = await cli(['accept', 'web2.example.test', '--reason', 'rebuilt'])
        assert.equal(accepted.code, 0, accepted.stderr)
        const history = await cli(['history', 'web2.example.test'])
        assert.equal(history.code, 0, history.stderr)
      })

      it('two names pointed in DNS at one new server: interception says they answered on one address, to check DNS first', async () => {
        // A consolidation: web3 and web4 had servers of their own; both names now lead to one server.
        const [old3, old4, merged] = [`${net(3)}.13`, `${net(3)}.14`, `${net(3)}.19`]
        const a = await sshd(old3)
        const b = await sshd(old4, { port: a.port })
        const inventory = join(work, `inv-${index}-consolidated`)
        writeFileSync(inventory, `${old3} web3.example.test\n${old4} web4.example.test\n`)
        const first = json(await scan('-f', inventory, '-p', String(a.port)))
        assert.deepEqual(kinds(first), [`new_host [web3.example.test]:${a.port}`, `new_host [web4.example.test]:${a.port}`])
        await Promise.all([a.stop(), b.stop()])
        const server = await sshd(merged, { port: a.port, keyDir: mkdtempSync(join(work, 'keys-')) })
        writeFileSync(inventory, `${merged} web3.example.test\n${merged} web4.example.test\n`)
        const doc = json(await scan('-f', inventory, '-p', String(a.port)))
        const interception = doc.findings.filter((f) => f.kind === 'interception') as (Finding & { message: string })[]
        assert.equal(interception.length, 3, JSON.stringify(kinds(doc))) // one per key type the server serves
        for (const f of interception) {
          assert.equal(f.severity, 'critical')
          assert.deepEqual(f.hosts, [`[web3.example.test]:${server.port}`, `[web4.example.test]:${server.port}`])
          assert.ok(f.message.includes(`All of them answered on one address, ${merged}`), f.message)
          assert.match(f.message, /check DNS first\. If not, a middlebox may be intercepting/)
        }
      })

      it('one dual-stack server scanned by its IPv4 and IPv6 addresses: duplicate_key says how to list it once, and listing it so ends it', async () => {
        const v4 = `${net(4)}.14`
        const server = await startSshd({ addresses: [v4, '::1'], keyTypes: ['ed25519'] })
        servers.add(server)
        const port = server.port
        const first = json(await scan(`[${v4}]:${port}`, `[::1]:${port}`))
        const duplicates = first.findings.filter((f) => f.kind === 'duplicate_key') as (Finding & { message: string })[]
        assert.equal(duplicates.length, 1, JSON.stringify(kinds(first)))
        assert.ok(duplicates[0]!.message.includes(`list it once, as an inventory line '${v4},::1 NAME'`), duplicates[0]!.message)
        const inventory = join(work, `inv-${index}-dual`)
        writeFileSync(inventory, `${v4},::1 dual.example.test\n`)
        const second = json(await scan('-f', inventory, '-p', String(port)))
        assert.deepEqual(kinds(second), [], JSON.stringify(second.findings))
        const findings = await cli(['findings', '--format', 'json'])
        assert.equal(findings.code, 0, findings.stderr)
        const listed = JSON.parse(findings.stdout) as { findings?: { kind: string; status: string; hosts: string[] }[] } | { kind: string; status: string; hosts: string[] }[]
        const all = Array.isArray(listed) ? listed : (listed.findings ?? [])
        // This scenario's: the server's addresses, or the name the inventory gave it.
        const ours = (h: string) => h.startsWith(`[${v4}]:`) || h.startsWith('[::1]:') || h.startsWith('[dual.example.test]:')
        const duplicate = all.filter((f) => f.kind === 'duplicate_key' && f.hosts.some(ours))
        assert.deepEqual(duplicate.map((f) => [f.status, f.hosts]), [['resolved', [`[dual.example.test]:${port}`]]])
        // One host, with both addresses, serving the key since the first scan.
        const history = await cli(['history', 'dual.example.test'])
        assert.equal(history.code, 0, history.stderr)
        assert.match(history.stdout, /::1/)
        assert.match(history.stdout, new RegExp(v4.replace(/\./g, '\\.')))
      })

      it('an address whose history is another machine (no key in common) is not joined when the inventory lists it with a name', async () => {
        const [a, b] = [`${net(5)}.15`, `${net(5)}.16`]
        const first = await sshd(a)
        const other = await sshd(b, { port: first.port })
        const port = first.port
        json(await scan(`[${a}]:${port}`, `[${b}]:${port}`))
        await other.stop()
        const inventory = join(work, `inv-${index}-apart`)
        writeFileSync(inventory, `${a},${b} both.example.test\n`)
        const doc = json(await scan('-f', inventory, '-p', String(port)))
        assert.deepEqual(kinds(doc), [])
        // The other machine's history stays under its address, with its own key.
        const lookup = await cli(['lookup', ...other.publicKeys.ed25519!.split(' ').slice(0, 2)])
        assert.equal(lookup.code, 0, lookup.stderr)
        assert.ok(lookup.stdout.includes(`[${b}]:${port}`), lookup.stdout)
        assert.ok(!lookup.stdout.includes('both.example.test'), lookup.stdout)
        // Its identity, typed exactly, names it, though the named host lists the address too.
        const history = await cli(['history', `[${b}]:${port}`])
        assert.equal(history.code, 0, history.stderr)
        assert.ok(history.stdout.includes(other.publicKeys.ed25519!.split(' ')[1]!) || history.stdout.includes(`[${b}]:${port}`), history.stdout)
      })

      it('a name moved to another server: key_changed gives both addresses; a rebuild at the same address does not', async () => {
        const [before, after] = [`${net(7)}.17`, `${net(7)}.18`]
        const original = await sshd(before)
        const port = original.port
        const inventory = join(work, `inv-${index}-moved`)
        writeFileSync(inventory, `${before} web5.example.test\n`)
        json(await scan('-f', inventory, '-p', String(port)))
        const host = `[web5.example.test]:${port}`
        const rebuilt = await rebuild(original)
        const same = json(await scan('-f', inventory, '-p', String(port)))
        const sameChanged = same.findings.filter((f) => f.kind === 'key_changed') as (Finding & { message: string })[]
        assert.equal(sameChanged.length, 3, JSON.stringify(kinds(same)))
        for (const f of sameChanged) assert.doesNotMatch(f.message, /answered at|last seen at/)
        assert.equal((await cli(['accept', host, '--reason', 'rebuilt'])).code, 0)
        await rebuilt.stop()
        const moved = await sshd(after, { port, keyDir: mkdtempSync(join(work, 'keys-')) })
        writeFileSync(inventory, `${after} web5.example.test\n`)
        const doc = json(await scan('-f', inventory, '-p', String(moved.port)))
        const changed = doc.findings.filter((f) => f.kind === 'key_changed') as (Finding & { message: string })[]
        assert.equal(changed.length, 3, JSON.stringify(kinds(doc)))
        for (const f of changed) {
          assert.equal(f.host, host)
          assert.ok(f.message.includes(`The name answered at ${after}; the trusted key was last seen at ${before}.`), f.message)
          assert.match(f.message, /a DNS change, a migration.*DNS answer may be spoofed/)
        }
      })

      it('one address serving one key on two ports: duplicate_key names the two readings (several Port lines, or NAT to clones)', async () => {
        const address = `${net(8)}.18`
        const first = await sshd(address)
        const second = await sshd(address, { keyDir: first.keyDir }) // another port, the same keys
        const doc = json(await scan(`[${address}]:${first.port}`, `[${address}]:${second.port}`))
        const duplicates = doc.findings.filter((f) => f.kind === 'duplicate_key') as (Finding & { message: string })[]
        assert.equal(duplicates.length, 3, JSON.stringify(kinds(doc)))
        for (const f of duplicates) {
          assert.ok(f.message.includes(`All of them are ${address} on different ports`), f.message)
          assert.match(f.message, /several Port lines.*allow-shared is right.*\(NAT\), those machines are clones/)
        }
      })

      it('one server scanned by address, then by name: one history, no duplicate_key, no new_host', async () => {
        const address = `${net(2)}.11`
        const server = await sshd(address)
        const first = json(await scan(`[${address}]:${server.port}`))
        assert.deepEqual(kinds(first), [`new_host [${address}]:${server.port}`])
        const inventory = join(work, `inv-${index}-2`)
        writeFileSync(inventory, `${address} web1.example.test\n`)
        const second = await scan('-f', inventory, '-p', String(server.port))
        assert.equal(second.code, 0, second.stdout)
        assert.deepEqual(kinds(json(second)), [])
        // Both in one scan: still one server.
        const both = await scan('-f', inventory, '-p', String(server.port), `[${address}]:${server.port}`)
        assert.deepEqual(kinds(json(both)), [])
        const lookup = await cli(['lookup', address])
        assert.equal(lookup.code, 0, lookup.stderr)
        assert.match(lookup.stdout, /web1\.example\.test/)
      })

      it('an address scan of an address that exactly one named host has is that host: no second host, no new_host (rule 2)', async () => {
        const address = `${net(11)}.11`
        const server = await sshd(address)
        const inventory = join(work, `inv-${index}-11`)
        writeFileSync(inventory, `${address}:${server.port} web11\n`)
        const named = json(await scan('-f', inventory))
        const host = `[web11]:${server.port}`
        assert.deepEqual(kinds(named), [`new_host ${host}`])

        const byAddress = await scan(`[${address}]:${server.port}`)
        assert.equal(byAddress.code, 0, byAddress.stderr)
        const doc = json(byAddress)
        assert.deepEqual(kinds(doc), [])
        const history = await cli(['history', address])
        assert.equal(history.code, 0, history.stderr)
        assert.ok(history.stdout.startsWith(host), history.stdout)
        assert.ok(history.stdout.includes(address), history.stdout)
        // One host in the history: the address identity names web11 too, and no new_host was ever recorded for it.
        const byIdentity = await cli(['history', `[${address}]:${server.port}`])
        assert.equal(byIdentity.code, 0, byIdentity.stderr)
        assert.ok(byIdentity.stdout.startsWith(host), byIdentity.stdout)
        const all = await cli(['findings', '--format', 'json'])
        // This scenario's hosts, of the history the scenarios share: web11 (and web12 below) or the address.
        const ours = (f: Finding) => f.host.includes('web11') || f.host.includes('web12') || f.host.includes(address)
        assert.deepEqual((JSON.parse(all.stdout) as { findings: Finding[] }).findings.filter(ours).map((f) => `${f.kind} ${f.host}`), [`new_host ${host}`])

        // Two inventory lines on that address, in a history of their own: an address scan picks neither name.
        const two = await backend.open()
        try {
          const scanTwo = (...args: string[]) => runInProcess(['scan', '--no-dns', ...TIMEOUT, '--format', 'json', ...args], { history: two.store })
          const lines = join(work, `inv-${index}-11b`)
          writeFileSync(lines, `${address}:${server.port} web11\n${address}:${server.port} web12\n`)
          assert.deepEqual(kinds(json(await scanTwo('-f', lines))), [`new_host ${host}`, `new_host [web12]:${server.port}`])
          const neither = json(await scanTwo(`[${address}]:${server.port}`))
          assert.deepEqual(kinds(neither), [`new_host [${address}]:${server.port}`])
        } finally {
          await two.cleanup()
        }
      })

      it('a name that never resolves is host_unresolvable and a host never reached is never_reached (warnings, printed by -q)', async () => {
        const refused = `${net(3)}.1:1` // nothing listens on port 1 of a fresh loopback address: refused
        const quiet = await cli(['scan', '--no-dns', ...TIMEOUT, '-q', 'web3.example.invalid', refused])
        assert.equal(quiet.code, 1, quiet.stderr)
        assert.match(quiet.stdout, /host_unresolvable\s+web3\.example\.invalid/)
        assert.match(quiet.stdout, /never_reached\s+\[127\.91\.\d+\.1\]:1/)
      })

      it('host arguments: a bare name on two ports is ambiguous, a typo names the closest host, allow-shared refuses unknown hosts', async () => {
        const address = `${net(4)}.1`
        const a = await sshd(address)
        const b = await sshd(address)
        const inventory = join(work, `inv-${index}-4`)
        writeFileSync(inventory, `${address}:${a.port} api.example.test\n${address}:${b.port} api.example.test\n`)
        json(await scan('-f', inventory))
        const ambiguous = await cli(['history', 'api.example.test'])
        assert.equal(ambiguous.code, 2)
        assert.match(ambiguous.stderr, new RegExp(`\\[api\\.example\\.test\\]:${a.port}`))
        assert.match(ambiguous.stderr, new RegExp(`\\[api\\.example\\.test\\]:${b.port}`))
        const exact = await cli(['history', `api.example.test:${a.port}`])
        assert.equal(exact.code, 0, exact.stderr)
        const typo = await cli(['accept', 'apj.example.test'])
        assert.equal(typo.code, 2)
        assert.match(typo.stderr, /not in the history; closest known: .*api\.example\.test/)
        const shared = await cli(['allow-shared', `api.example.test:${a.port}`, 'nosuch.example.test'])
        assert.equal(shared.code, 2)
        assert.match(shared.stderr, /nosuch\.example\.test/)
      })

      it('known_hosts @revoked raises revoked_key at every scan; a hashed line seeds the host it names', async () => {
        const revoked = await sshd(`${net(6)}.1`)
        const hashed = await sshd(`${net(6)}.2`)
        const keyscan = (server: SshdServer, ...flags: string[]) =>
          execFileSync('ssh-keyscan', [...flags, '-p', String(server.port), server.addresses[0]!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        const knownHosts = join(work, `kh-${index}-6`)
        writeFileSync(knownHosts, `@revoked * ${revoked.publicKeys.ed25519!.split(' ').slice(0, 2).join(' ')}\n${keyscan(hashed, '-H')}*.example.test ${revoked.publicKeys.rsa!.split(' ').slice(0, 2).join(' ')}\n`)
        const imported = await cli(['import', 'known_hosts', knownHosts])
        assert.equal(imported.code, 0, imported.stderr)
        assert.match(imported.stdout, /1 revoked key/)
        assert.match(imported.stderr, /kh-\d+-6:\d+: wildcard/)
        const targets = [`${revoked.addresses[0]}:${revoked.port}`, `${hashed.addresses[0]}:${hashed.port}`]
        for (let night = 0; night < 2; night++) {
          const doc = json(await scan(...targets))
          const revokedId = `[${revoked.addresses[0]}]:${revoked.port}`
          const expected = night === 0 ? [`new_host ${revokedId}`, `revoked_key ${revokedId}`] : [`revoked_key ${revokedId}`]
          assert.deepEqual(kinds(doc), expected, `night ${night}: the hashed host is no new_host, the revoked key is reported`)
          assert.equal(doc.findings.find((f) => f.kind === 'revoked_key')!.severity, 'critical')
        }
        const rebuilt = await rebuild(hashed)
        const doc = json(await scan(`${rebuilt.addresses[0]}:${rebuilt.port}`))
        const id = `[${rebuilt.addresses[0]}]:${rebuilt.port}`
        assert.deepEqual(kinds(doc), [`key_changed ${id}`, `key_changed ${id}`, `key_changed ${id}`])
      })

      it('an interceptor that stalls one key family cannot hide the keys it substituted: partial, key_changed', async () => {
        const address = `${net(5)}.13`
        const real = await sshd(`${net(5)}.1`)
        const impostor = await sshd(`${net(5)}.2`)
        // The baseline through an honest path, then the same address and port re-keyed by an interceptor.
        const honest = await proxy(address, 0, real, false)
        const baseline = json(await scan(`${address}:${honest.port}`))
        assert.equal(baseline.hosts[0]!.status, 'ok')
        await honest.close()
        const mitm = await proxy(address, honest.port, impostor, true)
        closers.push(() => void mitm.close())
        const result = await cli(['scan', '--no-dns', '-T', '3', '--format', 'json', `${address}:${honest.port}`])
        const doc = json(result)
        assert.equal(result.code, 1)
        assert.equal(doc.hosts[0]!.status, 'partial')
        assert.match(doc.hosts[0]!.error ?? '', /ssh-rsa: timeout/)
        const id = `[${address}]:${honest.port}`
        assert.deepEqual(kinds(doc), [`key_changed ${id}`, `key_changed ${id}`, `partial_scan ${id}`])
        assert.deepEqual(doc.findings.map((f) => f.severity).sort(), ['critical', 'critical', 'warning'])
        // The text table shows the substituted keys too.
        const text = await cli(['scan', '--no-dns', '-T', '3', '--no-store', `${address}:${honest.port}`])
        assert.match(text.stdout, /ssh-ed25519/)
        assert.match(text.stdout, /partial: ssh-rsa: timeout/)
      })
    })
  }
})
