import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { checkZone, runNsupdate, skipUnlessBind, startNamed, type NamedServer } from '../support/bind.js'
import type { CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* SSHFP end to end: the CLI, run in this process (main(): the same wiring, renderers and exit codes) on
 * one open embedded store, scans real sshd hosts named in a zone that a real BIND serves, then
 * `hostkeys sshfp --diff` repairs the zone through nsupdate. Loopback 127.3.5.0/24 only, and every
 * command names the test BIND with --resolver (or --no-dns): the machine's resolver is never asked. */

const ZONE = 'fleet.test'
const NAMED_ADDRESS = '127.3.5.53'
const SILENT_DNS_ADDRESS = '127.3.5.99'
const ADDRESS = { web1: '127.3.5.1', web2: '127.3.5.2', web3: '127.3.5.3' } as const

interface Finding {
  kind: string
  host: string
  keyType: string | null
  fingerprint: string | null
  message: string
}

interface StoredFinding extends Finding {
  status: 'open' | 'accepted' | 'resolved'
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: address, port: 0 }, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** `ssh-keygen -r NAME` over each public key file: the reference our records must equal. */
function sshKeygenRecords(name: string, server: SshdServer): string[] {
  return Object.values(server.publicKeyFiles).flatMap((file) =>
    execFileSync('ssh-keygen', ['-r', name, '-f', file!], { encoding: 'utf8' }).trim().split('\n'),
  )
}

function zoneHeader(): string {
  return [
    `$ORIGIN ${ZONE}.`,
    '$TTL 60',
    `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 60`,
    `@ IN NS ns.${ZONE}.`,
    `ns IN A ${NAMED_ADDRESS}`,
    '',
  ].join('\n')
}

function sshfpFindings(result: CliResult): Finding[] {
  assert.ok(result.code === 0 || result.code === 1, `scan failed (${result.code}): ${result.stderr}`)
  const document = JSON.parse(result.stdout) as { findings: Finding[] }
  return document.findings.filter((f) => f.kind.startsWith('sshfp_') || f.kind === 'dns_error')
}

/** The key types a per-host sshfp_missing lists (each followed by its fingerprint in the message). */
function listedTypes(finding: Finding): string[] {
  return finding.message.match(/\b(?:ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa|ssh-dss)(?= SHA256:)/g) ?? []
}

function summary(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.kind} ${f.host}${f.kind === 'sshfp_missing' ? ` ${listedTypes(f).join(',')}` : ''}`).sort()
}

/** What `hostkeys findings` keeps about one host's sshfp_missing: every row, whatever its status. */
async function storedMissing(history: OpenedStore, host: string): Promise<StoredFinding[]> {
  const result = await runInProcess(['findings', '--format', 'json'], { history: history.store })
  assert.equal(result.code, 0, result.stderr)
  const document = JSON.parse(result.stdout) as { findings: StoredFinding[] }
  return document.findings.filter((f) => f.kind === 'sshfp_missing' && f.host === host)
}

describe('SSHFP checks and hostkeys sshfp (CLI, real sshd and BIND)', { skip: skipUnlessSshd() || skipUnlessBind() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-sshfp-e2e-'))
  let db: OpenedStore
  const inventory = join(dir, 'fleet.txt')
  let named: NamedServer
  let web1: SshdServer
  let web2: SshdServer
  let web3: SshdServer
  let web2Second: number
  let silent: Socket
  let silentPort: number
  const id = (name: 'web1' | 'web2' | 'web3', port: number) => `[${name}.${ZONE}]:${port}`
  let resolver: string[]

  const scan = (...extra: string[]) => runInProcess(['scan', '-f', inventory, '-T', '5', '--format', 'json', '--fail-on', 'never', ...extra], { history: db.store })
  const sshfp = (...args: string[]) => runInProcess(['sshfp', ...args], { history: db.store })

  before(async () => {
    db = await testBackends()[0]!.open()
    web2Second = await freePort(ADDRESS.web2)
    ;[web1, web2, web3] = await Promise.all([
      startSshd({ addresses: [ADDRESS.web1], keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] }),
      // A second port on the same name: two identities, one bare name, one SSHFP RRset.
      startSshd({ addresses: [ADDRESS.web2], keyTypes: ['ed25519'], extraConfig: [`Port ${web2Second}`] }),
      // Three key types and no records: one sshfp_missing for the host, not one per key.
      startSshd({ addresses: [ADDRESS.web3], keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] }),
    ])
    writeFileSync(
      inventory,
      [
        `[${ADDRESS.web1}]:${web1.port} web1.${ZONE}`,
        `[${ADDRESS.web2}]:${web2.port} web2.${ZONE}`,
        `[${ADDRESS.web2}]:${web2Second} web2.${ZONE}`,
        `[${ADDRESS.web3}]:${web3.port} web3.${ZONE}`,
        '',
      ].join('\n'),
    )
    // web1 and web2 published as ssh-keygen -r prints them; web3 absent from the zone.
    const records = [...sshKeygenRecords(`web1.${ZONE}.`, web1), ...sshKeygenRecords(`web2.${ZONE}.`, web2)]
    named = await startNamed(NAMED_ADDRESS, [{ name: ZONE, dynamic: true, text: `${zoneHeader()}${records.join('\n')}\n` }])
    resolver = ['--resolver', `${NAMED_ADDRESS}:${named.nameserver.port}`]
    // A DNS server that reads every query and answers none.
    silent = createSocket('udp4')
    silent.on('message', () => {})
    await new Promise<void>((resolve) => silent.bind({ address: SILENT_DNS_ADDRESS, port: 0 }, () => resolve()))
    silentPort = silent.address().port
  })

  after(async () => {
    await Promise.all([web1?.stop(), web2?.stop(), web3?.stop(), named?.stop(), db?.cleanup()])
    silent?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reports records that are right as insecure only, and a host absent from the zone as one sshfp_missing', async () => {
    const findings = sshfpFindings(await scan(...resolver))
    assert.deepEqual(summary(findings), [
      `sshfp_insecure ${id('web1', web1.port)}`, // an authoritative server sets no AD bit
      `sshfp_insecure ${id('web2', web2.port)}`,
      `sshfp_insecure ${id('web2', web2Second)}`,
      `sshfp_missing ${id('web3', web3.port)} ssh-ed25519,ecdsa-sha2-nistp256,ssh-rsa`,
    ].sort())
    const missing = findings.find((f) => f.kind === 'sshfp_missing')!
    assert.equal(missing.keyType, null)
    assert.equal(missing.fingerprint, null)
    assert.match(missing.message, /ssh-keygen -r web3\.fleet\.test/)
  })

  it('prints the records ssh-keygen -r prints, merged per name, in a zone named-checkzone loads', async () => {
    const all = await sshfp()
    assert.equal(all.code, 0, all.stderr)
    const lines = all.stdout.trim().split('\n')
    const expected = [
      ...sshKeygenRecords(`web1.${ZONE}.`, web1),
      ...sshKeygenRecords(`web2.${ZONE}.`, web2), // once, though two identities carry it
      ...sshKeygenRecords(`web3.${ZONE}.`, web3),
    ]
    assert.deepEqual([...lines].sort(), [...expected].sort())
    assert.equal(checkZone(ZONE, zoneHeader() + all.stdout), null)

    const relative = await sshfp('--origin', ZONE, '--ttl', '300', '--digest', 'sha256', 'web1.fleet.test', id('web3', web3.port))
    assert.equal(relative.code, 0, relative.stderr)
    assert.match(relative.stdout, /^web1 300 IN SSHFP 1 2 [0-9a-f]{64}$/m)
    assert.match(relative.stdout, /^web3 300 IN SSHFP 4 2 [0-9a-f]{64}$/m)
    assert.doesNotMatch(relative.stdout, /web2| 1 [0-9a-f]{40}$/m)
    assert.equal(checkZone(ZONE, zoneHeader() + relative.stdout), null)
  })

  it('refuses unknown, IP-literal and invalid host names with exit 2 and nothing written', async () => {
    const cases = [
      ['nosuch.fleet.test', /no trusted keys for nosuch\.fleet\.test/],
      [ADDRESS.web1, /IP address/],
      ['web1.fleet.test"; rm -rf /', /cannot be used as a DNS name: it contains/],
      ['web1\n.fleet.test', /a line break/],
      [`${'a'.repeat(64)}.fleet.test`, /at most 63/],
    ] as const
    // Only the first opens the database: the others are refused before that, so they can run at once.
    const results = await Promise.all(cases.map(([host]) => sshfp(host)))
    cases.forEach(([host, says], i) => {
      const result = results[i]!
      assert.equal(result.code, 2, `${JSON.stringify(host)}: ${result.stderr}`)
      assert.equal(result.stdout, '')
      assert.match(result.stderr, says)
    })
  })

  it('a host whose missing keys go from three to one keeps one stored sshfp_missing, its message updated', async () => {
    const host3 = id('web3', web3.port)
    const [first] = await storedMissing(db, host3)
    assert.deepEqual(listedTypes(first!), ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'])

    // Publish web3's Ed25519 and RSA records, as ssh-keygen -r prints them; leave ECDSA out.
    const published = (['ed25519', 'rsa'] as const).flatMap((type) =>
      execFileSync('ssh-keygen', ['-r', `web3.${ZONE}.`, '-f', web3.publicKeyFiles[type]!], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    )
    runNsupdate(
      [`server ${NAMED_ADDRESS} ${named.nameserver.port}`, `zone ${ZONE}.`, ...published.map((r) => `update add ${r.replace(' IN ', ' 60 IN ')}`), 'send', ''].join('\n'),
    )

    const findings = sshfpFindings(await scan(...resolver)).filter((f) => f.host === host3)
    assert.deepEqual(summary(findings), [`sshfp_insecure ${host3}`, `sshfp_missing ${host3} ecdsa-sha2-nistp256`])
    const stored = await storedMissing(db, host3)
    assert.equal(stored.length, 1, `one row, touched, not a second one: ${JSON.stringify(stored)}`)
    assert.equal(stored[0]!.status, 'open')
    assert.deepEqual(listedTypes(stored[0]!), ['ecdsa-sha2-nistp256'])
    assert.match(stored[0]!.message, /publish SSHFP records for ECDSA \(algorithm 3\) at web3\.fleet\.test/)
  })

  it('sees a rebuilt host as sshfp_mismatch, and --diff | nsupdate brings DNS in line', async () => {
    // The rebuild: new keys on the same address and port, so the identity is the same host.
    const oldPort = web1.port
    await web1.stop()
    web1 = await startSshd({
      addresses: [ADDRESS.web1],
      keyTypes: ['ed25519', 'ecdsa-256', 'rsa'],
      keyDir: join(dir, 'web1-rebuilt'),
      extraConfig: [`Port ${oldPort}`],
    })
    const rebuilt = sshfpFindings(await scan(...resolver))
    const host1 = id('web1', oldPort)
    assert.deepEqual(
      summary(rebuilt.filter((f) => f.host === host1)),
      [`sshfp_insecure ${host1}`, `sshfp_mismatch ${host1}`, `sshfp_mismatch ${host1}`, `sshfp_mismatch ${host1}`].sort(),
    )

    // Until the new keys are accepted, the trusted keys are the old ones: DNS is already in line for web1.
    const before = await sshfp('--diff', ...resolver, '--origin', ZONE)
    assert.equal(before.code, 0, before.stderr)
    assert.match(before.stderr, /1 of 3 hosts needs SSHFP changes/)
    assert.doesNotMatch(before.stdout, /web1/)

    assert.ok(await db.store.acceptHost(host1, { actor: 'test', reason: 'rebuilt', at: new Date() }))

    const diff = await sshfp('--format', 'nsupdate', '--diff', ...resolver, '--origin', ZONE)
    assert.equal(diff.code, 0, diff.stderr)
    assert.match(diff.stderr, /2 of 3 hosts need SSHFP changes/)
    assert.match(diff.stdout, new RegExp(`^zone ${ZONE}\\.$`, 'm'))
    assert.equal(diff.stdout.match(/^update delete web1\.fleet\.test\. SSHFP /gm)?.length, 6)
    assert.equal(diff.stdout.match(/^update add web1\.fleet\.test\. 3600 SSHFP /gm)?.length, 6)
    // web3's Ed25519 and RSA records are already there: only its ECDSA key's two are added.
    assert.equal(diff.stdout.match(/^update add web3\.fleet\.test\. 3600 SSHFP /gm)?.length, 2)
    assert.equal(diff.stdout.match(/^update add web3\.fleet\.test\. 3600 SSHFP 3 [12] /gm)?.length, 2)
    assert.doesNotMatch(diff.stdout, /web2/)
    runNsupdate(`server ${NAMED_ADDRESS} ${named.nameserver.port}\n${diff.stdout}`)

    const after = sshfpFindings(await scan(...resolver))
    assert.deepEqual(
      after.filter((f) => f.kind !== 'sshfp_insecure'),
      [],
      'no sshfp_mismatch, _missing or _stale once the diff is applied',
    )
    // The scan checked DNS and no key of web3 lacks records now: its sshfp_missing is resolved, and it is
    // still the one row the first scan opened, through the three scans that saw it (three keys, then one).
    assert.deepEqual((await storedMissing(db, id('web3', web3.port))).map((f) => f.status), ['resolved'])
    const again = await sshfp('--diff', ...resolver)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, '')
    assert.match(again.stderr, /0 of 3 hosts need SSHFP changes/)
  })

  it('turns a silent DNS server into dns_error without slowing the scan past the DNS timeout', async () => {
    const [quiet, withoutDns] = await Promise.all([
      scan('--no-store', '--resolver', `${SILENT_DNS_ADDRESS}:${silentPort}`, '--dns-timeout', '0.5'),
      scan('--no-store', '--no-dns'),
    ])
    const findings = sshfpFindings(quiet)
    assert.equal(findings.length, 4)
    assert.ok(findings.every((f) => f.kind === 'dns_error'), JSON.stringify(findings))
    assert.deepEqual(sshfpFindings(withoutDns), [])
    // --dns-timeout 0.5 and the default 2 attempts: at most 1 s of DNS waiting, in parallel with the
    // probes; 1.5 s of slack for process start and a loaded machine.
    assert.ok(quiet.ms - withoutDns.ms < 1000 + 1500, `silent DNS took ${quiet.ms} ms, --no-dns ${withoutDns.ms} ms`)
  })
})
