import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { escapeHtml } from '../../src/report/site/page-text.js'
import { hostPageStem } from '../../src/report/site/page-files.js'
import type { CliResult } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { htmlProblems, openInChromium, readPng, skipUnlessChromium } from '../support/page-check.js'
import { makeCa, signHostKey, type KeyPairFiles } from '../support/ssh-ca.js'
import { ensureHostKeys, keyFile, skipUnlessSshd, startSshd, type SshdKeyType, type SshdServer } from '../support/sshd.js'
import { testBackends, type OpenedStore } from '../support/test-store.js'
import type { Store } from '../../src/store/store.js'

/* `publish` and `report` end to end: the CLI, run in this process (main(): the same wiring, renderers
 * and exit codes), scans a small fleet of real sshd on 127.82.0.0/16 (a host with a CA-signed
 * certificate, one rebuilt between two scans, one known only by address whose banner carries markup),
 * into one open embedded store and, when HOSTKEYS_TEST_DATABASE_URL is set, a PostgreSQL one; then publishes the site (HTML and Markdown) and the report, and checks them
 * against OpenSSH's own ssh-keygen, html-validate, and what headless Chromium builds and paints from
 * file://. Set HOSTKEYS_SCREENS_DIR to keep the screenshots. Every scan passes --no-dns. */

const TIMEOUT = ['-T', '8']
const work = mkdtempSync(join(tmpdir(), 'hostkeys-publish-e2e-'))
const backends = testBackends()

const keygen = (args: string[]) => execFileSync('ssh-keygen', args, { encoding: 'utf8' })
const fingerprint = (pub: string, hash: 'sha256' | 'md5') => keygen(['-l', '-E', hash, '-f', pub]).split(' ')[1]!
/** The randomart ssh-keygen -lv draws under the fingerprint line. */
const art = (pub: string, hash: 'sha256' | 'md5') => keygen(['-lv', '-E', hash, '-f', pub]).split('\n').slice(1).join('\n').trimEnd()

function ok(result: CliResult, what: string): CliResult {
  assert.ok(result.code === 0 || result.code === 1, `${what} exited ${result.code}: ${result.stderr}`)
  return result
}

describe('publish and report (CLI, real sshd, Chromium)', { skip: skipUnlessSshd() || skipUnlessChromium() }, () => {
  const servers: SshdServer[] = []
  let ca: KeyPairFiles
  let port: number
  /** Public key files by host, as ssh-keygen made them; web2's first keys, then its rebuilt ones. */
  const pubs = new Map<string, string[]>()
  let rebuiltPubs: string[] = []
  const stores = new Map<string, OpenedStore>()
  const cli = (store: Store | null, args: readonly string[]) => runInProcess(args, store ? { history: store } : {})
  const id = (name: string) => `[${name}]:${port}`
  let hosts: string[] = []

  async function sshd(address: string, keyTypes: SshdKeyType[], options: { keyDir?: string; rsaBits?: number; extraConfig?: string[] } = {}) {
    const server = await startSshd({ addresses: [address], keyTypes, ...(port ? { port } : {}), ...options })
    servers.push(server)
    port ??= server.port
    return server
  }
  const pubsOf = (server: SshdServer) => Object.values(server.publicKeyFiles) as string[]

  before(async () => {
    ca = makeCa(work, 'ed25519', 'fleet_ca')
    const web1 = await sshd('127.82.1.1', ['ed25519', 'ecdsa-256', 'rsa'])
    const web2 = await sshd('127.82.1.2', ['ed25519', 'ecdsa-521', 'rsa'], { rsaBits: 3072, keyDir: join(work, 'web2-keys') })
    const db1Keys = join(work, 'db1-keys')
    ensureHostKeys(db1Keys, ['ed25519', 'ecdsa-384'])
    const certificate = signHostKey(ca, `${keyFile(db1Keys, 'ed25519')}.pub`, { id: 'db1-host', principals: ['db1.example.test'], validity: '-1d:+20d', serial: 42 })
    const db1 = await sshd('127.82.1.3', ['ed25519', 'ecdsa-384'], { keyDir: db1Keys, extraConfig: [`HostCertificate ${certificate.path}`] })
    // A banner with markup in it: what a hostile or silly server can send, and the pages must show as text.
    const bare = await sshd('127.82.1.4', ['ed25519'], { extraConfig: ['VersionAddendum <b>bold</b> & "quoted"'] })
    pubs.set(id('web1.example.test'), pubsOf(web1))
    pubs.set(id('web2.example.test'), pubsOf(web2))
    pubs.set(id('db1.example.test'), pubsOf(db1))
    pubs.set(id('127.82.1.4'), pubsOf(bare))
    hosts = [...pubs.keys()]

    const inventory = join(work, 'fleet.txt')
    writeFileSync(inventory, '127.82.1.1 web1.example.test,www.example.test\n127.82.1.2 web2.example.test\n127.82.1.3 db1.example.test\n127.82.1.4\n')
    const scan = (store: Store) => cli(store, ['scan', '--no-dns', '--format', 'json', ...TIMEOUT, '-p', String(port), '-f', inventory])
    for (const backend of backends) {
      const opened = await backend.open()
      stores.set(backend.name, opened)
      const store = opened.store
      ok(await cli(store, ['ca', 'trust', ca.publicKey, '--names', '*.example.test']), 'ca trust')
      const first = JSON.parse(ok(await scan(store), 'first scan').stdout) as { hosts: { status: string }[] }
      assert.deepEqual(first.hosts.map((h) => h.status), ['ok', 'ok', 'ok', 'ok'])
    }
    // web2 is reinstalled: same address and port, new keys. Nobody accepts them: key_changed.
    await web2.stop()
    const rebuilt = await sshd('127.82.1.2', ['ed25519', 'ecdsa-521', 'rsa'], { rsaBits: 3072, keyDir: join(work, 'web2-rebuilt') })
    rebuiltPubs = pubsOf(rebuilt)
    for (const { store } of stores.values()) ok(await scan(store), 'second scan')
  })

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await Promise.all([...stores.values()].map((s) => s.cleanup()))
    rmSync(work, { recursive: true, force: true })
  })

  for (const backend of backends) {
    describe(backend.name, () => {
      const site = join(work, `site-${backend.name}`)
      const wiki = join(work, `wiki-${backend.name}`)
      const report = join(work, `report-${backend.name}.html`)
      const run = (...args: string[]) => cli(stores.get(backend.name)!.store, args)
      const page = (host: string, ext = 'html') => readFileSync(join(ext === 'html' ? site : wiki, 'hosts', `${hostPageStem(host)}.${ext}`), 'utf8')

      it('publish writes an index, one page per host and known_hosts.txt; the fingerprints are ssh-keygen\'s', async () => {
        const result = ok(await run('publish', '--out', site), 'publish')
        assert.equal(result.code, 0)
        assert.match(result.stdout, /^published 4 host\(s\), 9 trusted key\(s\) of 4 verified host\(s\): /)
        assert.deepEqual(readdirSync(site).sort(), ['.hostkeys-publish', 'hosts', 'index.html', 'known_hosts.txt'])
        assert.deepEqual(readdirSync(join(site, 'hosts')).sort(), hosts.map((h) => `${hostPageStem(h)}.html`).sort())
        const index = readFileSync(join(site, 'index.html'), 'utf8')
        for (const [host, files] of pubs) {
          assert.ok(index.includes(`href="hosts/${hostPageStem(host)}.html">${escapeHtml(host)}</a>`), host)
          const html = page(host)
          for (const pub of files) {
            assert.ok(index.includes(fingerprint(pub, 'sha256')), `${host} ${pub} on the index`)
            assert.ok(html.includes(fingerprint(pub, 'sha256')) && html.includes(fingerprint(pub, 'md5')), `${host} ${pub}`)
            assert.ok(html.includes(escapeHtml(art(pub, 'sha256'))) && html.includes(escapeHtml(art(pub, 'md5'))), `randomart of ${pub}`)
          }
        }
      })

      it('a rebuilt host: its trusted keys are vouched for, the new ones are shown apart and nowhere to paste', () => {
        const html = page(id('web2.example.test'))
        const apart = html.indexOf('Changed keys not accepted')
        assert.ok(apart > 0)
        for (const pub of pubs.get(id('web2.example.test'))!) assert.ok(html.indexOf(fingerprint(pub, 'sha256')) < apart)
        for (const pub of rebuiltPubs) assert.ok(html.indexOf(fingerprint(pub, 'sha256')) > apart)
        const knownHosts = readFileSync(join(site, 'known_hosts.txt'), 'utf8')
        for (const pub of rebuiltPubs) assert.ok(!knownHosts.includes(readFileSync(pub, 'utf8').split(' ')[1]!))
      })

      it('known_hosts.txt and the host pages\' lines work with ssh-keygen -F; SSHFP lines are ssh-keygen -r\'s', () => {
        const file = join(site, 'known_hosts.txt')
        for (const [host, files] of pubs) {
          const found = keygen(['-F', host, '-f', file])
          for (const pub of files) assert.ok(found.includes(readFileSync(pub, 'utf8').split(' ')[1]!), `${host} ${pub}`)
        }
        const web1 = page(id('web1.example.test'))
        for (const pub of pubs.get(id('web1.example.test'))!) {
          for (const line of keygen(['-r', 'web1.example.test.', '-f', pub]).trim().split('\n')) assert.ok(web1.includes(line), line)
        }
        assert.match(page(id('127.82.1.4')), /No SSHFP records: SSHFP records live at DNS names/)
      })

      it('the certified host gets the @cert-authority line of the trusted CA, and its certificate', () => {
        const html = page(id('db1.example.test'))
        assert.ok(html.includes(`@cert-authority *.example.test ${readFileSync(ca.publicKey, 'utf8').split(' ').slice(0, 2).join(' ')}`))
        assert.ok(html.includes('db1-host') && html.includes('>42<'))
        assert.ok(!page(id('web1.example.test')).includes('@cert-authority'))
      })

      it('the banner from the network is text on the page', () => {
        const html = page(id('127.82.1.4'))
        assert.match(html, /OpenSSH_[^<]*&lt;b&gt;bold&lt;\/b&gt; &amp; &quot;quoted&quot;/)
        assert.ok(!html.includes('<b>'))
      })

      it('every HTML page validates', async () => {
        ok(await run('report', '--out', report), 'report')
        const files = [join(site, 'index.html'), ...readdirSync(join(site, 'hosts')).map((f) => join(site, 'hosts', f)), report]
        for (const file of files) assert.deepEqual(await htmlProblems(readFileSync(file, 'utf8'), file), [])
      })

      it('report: open findings, the rebuilt host with the command that resolves it, the certificate ending', () => {
        const html = readFileSync(report, 'utf8')
        assert.match(html, /4 hosts in the history \(4 ever reached\)/)
        assert.ok(html.includes(`<code>hostkeys accept ${escapeHtml(`'${id('web2.example.test')}'`)}</code>`))
        assert.match(html, /<strong>key_changed<\/strong>/)
        assert.match(html, new RegExp(`>${escapeHtml(id('db1.example.test')).replace(/[[\]]/g, '\\$&')}</text>.*>ed25519: 1[89] d, `), 'the certificate in the expiry chart')
        assert.match(html, /<strong>cert_expiring<\/strong>/)
        assert.equal(html.match(/<svg /g)!.length, 5)
      })

      it('markdown: the same hosts and fingerprints, as .md with relative links', async () => {
        ok(await run('publish', '--out', wiki, '--format', 'markdown'), 'publish markdown')
        const index = readFileSync(join(wiki, 'index.md'), 'utf8')
        for (const [host, files] of pubs) {
          assert.ok(index.includes(`](hosts/${hostPageStem(host)}.md)`), host)
          const md = page(host, 'md')
          for (const pub of files) {
            assert.ok(md.includes(`\`${fingerprint(pub, 'sha256')}\``) && md.includes(`\`${fingerprint(pub, 'md5')}\``))
            assert.ok(md.includes(art(pub, 'sha256')))
          }
        }
      })

      it('publishing again replaces its own site; another directory is refused unless --force; flags and --out errors are exit 2', async () => {
        writeFileSync(join(site, 'hosts', 'stale.html'), 'left from an older publish')
        assert.equal((await run('publish', '--out', site)).code, 0)
        assert.ok(!existsSync(join(site, 'hosts', 'stale.html')), 'the whole site was replaced')

        const foreign = join(work, `foreign-${backend.name}`)
        mkdirSync(foreign)
        writeFileSync(join(foreign, 'notes.txt'), 'mine')
        const refused = await run('publish', '--out', foreign)
        assert.equal(refused.code, 2)
        assert.match(refused.stderr, /holds other files .*--force/)
        assert.deepEqual(readdirSync(foreign), ['notes.txt'])
        assert.equal((await run('publish', '--out', foreign, '--force')).code, 0)
        assert.ok(!existsSync(join(foreign, 'notes.txt')) && existsSync(join(foreign, 'index.html')))

        const badFormat = await run('publish', '--out', join(work, 'x'), '--format', 'pdf')
        assert.equal(badFormat.code, 2)
        assert.match(badFormat.stderr, /'pdf' is not one of html, markdown/)
        const toDirectory = await run('report', '--out', work)
        assert.equal(toDirectory.code, 2)
        assert.match(toDirectory.stderr, /is a directory/)
        assert.ok(!existsSync(join(work, 'x')))
      })
    })
  }

  it('a database that is down is exit 2 and writes nothing', async () => {
    const out = join(work, 'never')
    const result = await cli(null, ['publish', '--db', 'postgres://postgres@127.82.0.1:9/none', '--db-timeout', '5', '--out', out])
    assert.equal(result.code, 2)
    assert.ok(!existsSync(out))
    const missing = await cli(null, ['report', '--db', join(work, 'no-such-db'), '--out', join(work, 'r.html')])
    assert.equal(missing.code, 2)
    assert.ok(!existsSync(join(work, 'r.html')))
  })

  it('Chromium builds every host into the DOM and paints the pages (embedded store)', async () => {
    const site = join(work, 'site-embedded')
    const shots = process.env['HOSTKEYS_SCREENS_DIR'] || null
    const pages: [name: string, file: string, mustHave: string[]][] = [
      ['index', join(site, 'index.html'), [...hosts, ...[...pubs.values()].flat().map((p) => fingerprint(p, 'sha256'))]],
      ['host', join(site, 'hosts', `${hostPageStem(id('web1.example.test'))}.html`), pubs.get(id('web1.example.test'))!.flatMap((p) => [fingerprint(p, 'sha256'), fingerprint(p, 'md5')])],
      ['report', join(work, 'report-embedded.html'), hosts],
    ]
    for (const [name, file, mustHave] of pages) {
      const png = join(work, `${name}.png`)
      const dom = await openInChromium(file, png, { width: 1200, height: 2000 })
      for (const text of mustHave) assert.ok(dom.includes(escapeHtml(text).replace(/&#39;/g, "'").replace(/&quot;/g, '"')), `${name}: ${text} in the DOM`)
      assert.ok(!/<script/i.test(dom))
      const facts = await readPng(png)
      assert.deepEqual([facts.width, facts.height], [1200, 2000])
      assert.ok(facts.inked > 0.01 && facts.colours > 20, `${name}: a painted page, not a blank one (${JSON.stringify(facts)})`)
      if (shots) {
        mkdirSync(shots, { recursive: true })
        copyFileSync(png, join(shots, `${name}.png`))
      }
    }
  })
})
