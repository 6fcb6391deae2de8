import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import type { FleetHost, FleetKey, FleetSnapshot } from '../../src/domain/fleet.js'
import type { StoredFinding, TrustedAuthority } from '../../src/domain/history.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { randomart } from '../../src/domain/fingerprint/randomart.js'
import { actionFor, shellQuote } from '../../src/report/finding-actions.js'
import { renderFleetReportHtml } from '../../src/report/fleet-report-html.js'
import { summarizeFleet } from '../../src/analysis/fleet-summary.js'
import { buildHostPage } from '../../src/report/site/host-page.js'
import { hostPageStem } from '../../src/report/site/page-files.js'
import { escapeHtml, escapeMarkdown, markdownCode, markdownCodeBlock } from '../../src/report/site/page-text.js'
import { renderHostHtml, renderIndexHtml } from '../../src/report/site/site-html.js'
import { renderHostMarkdown, renderIndexMarkdown } from '../../src/report/site/site-markdown.js'
import { horizontalBarChart, stackedColumnChart } from '../../src/report/svg-chart.js'
import { htmlProblems } from '../support/page-check.js'

/* The pure renderers of `publish` and `report`: hostile names and banners (they come from inventories
 * and from the network) stay text in HTML and in Markdown, the documents validate, page file names stay
 * inside their directory, and the charts draw what they are given. */

const FIXTURES = new URL('../fixtures/keys/', import.meta.url)
const blobOf = (name: string) => Buffer.from(readFileSync(new URL(`${name}.pub`, FIXTURES), 'utf8').split(' ')[1]!, 'base64')

const T0 = new Date('2026-11-01T10:00:00Z')
const NOW = new Date('2026-11-30T12:00:00Z')

function fleetKey(name: string, overrides: Partial<FleetKey> = {}): FleetKey {
  const key = describeKey(blobOf(name))
  return {
    type: key.type,
    bits: key.bits,
    blob: key.blob,
    sha256: key.sha256,
    md5: key.md5,
    trust: 'trusted',
    current: true,
    source: 'scan',
    firstSeen: T0,
    lastVerified: NOW,
    verifiedFrom: 'scanner1',
    address: '192.0.2.10',
    port: 22,
    ...overrides,
  }
}

function fleetHost(host: string, overrides: Partial<FleetHost> = {}): FleetHost {
  return {
    host,
    port: 22,
    aliases: [],
    addresses: [],
    firstSeen: T0,
    lastReached: NOW,
    lastStatus: 'ok',
    lastBanner: 'SSH-2.0-OpenSSH_9.2p1',
    keys: [fleetKey('ed25519')],
    certificates: [],
    ...overrides,
  }
}

const HOSTILE = `web1<script>alert(1)</script>"'&amp;<img src=x onerror=alert(2)>`
const HOSTILE_BANNER = 'SSH-2.0-</pre><iframe src="javascript:alert(3)"></iframe>\x07\u202e'

/** Every start tag a renderer may write; anything else in a page came from data. */
const OUR_TAGS = new Set(
  'html head meta title style body nav h1 h2 h3 dl dt dd span section article code pre div figure figcaption p a table colgroup col thead tbody tr th td ul li br footer q strong svg text rect line'.split(' '),
)

function tagsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()))
}

const meta = { generatedAt: NOW, knownHostsFile: 'known_hosts.txt' }

/** Markdown less its fenced blocks and code spans (CommonMark §4.5, §6.1), where nothing is markup. */
function outsideCode(markdown: string): string {
  return markdown.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '').replace(/(`+)[\s\S]*?(?<!`)\1(?!`)/g, '')
}

describe('site pages with hostile names and banners', () => {
  const host = fleetHost(HOSTILE, {
    aliases: ['alias`with`ticks|pipe', '[link](javascript:alert(4))'],
    addresses: ['192.0.2.10'],
    lastBanner: HOSTILE_BANNER,
    keys: [fleetKey('ed25519', { verifiedFrom: '<b>vantage</b>' }), fleetKey('ecdsa', { trust: 'pending' })],
  })
  const page = buildHostPage(host, [])

  it('HTML: every tag is one the renderer writes; the hostile text is there, escaped; the document validates', async () => {
    for (const html of [renderHostHtml(page, meta), renderIndexHtml([page], meta)]) {
      assert.deepEqual([...tagsOf(html)].filter((t) => !OUR_TAGS.has(t)), [])
      assert.ok(html.includes('web1&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;amp;&lt;img src=x onerror=alert(2)&gt;'))
      assert.doesNotMatch(html, /[\x07\u202e]/)
      assert.deepEqual(await htmlProblems(html), [])
    }
    const hostHtml = renderHostHtml(page, meta)
    assert.ok(hostHtml.includes('SSH-2.0-&lt;/pre&gt;&lt;iframe src=&quot;javascript:alert(3)&quot;&gt;&lt;/iframe&gt;\ufffd\ufffd'))
    assert.ok(hostHtml.includes('&lt;b&gt;vantage&lt;/b&gt;'))
  })

  it('HTML: an unaccepted key is shown apart, with no known_hosts or SSHFP line for it', () => {
    const html = renderHostHtml(page, meta)
    const ecdsa = describeKey(blobOf('ecdsa'))
    assert.match(html, /Changed keys not accepted/)
    assert.ok(html.includes(ecdsa.sha256))
    assert.equal(page.knownHosts.length, 1)
    assert.ok(!page.knownHosts.join('\n').includes(ecdsa.blob.toString('base64')))
  })

  it('Markdown: names escaped, fences and code spans cannot be closed by the data, table rows keep their cells', () => {
    for (const markdown of [renderHostMarkdown(page, meta), renderIndexMarkdown([page], meta)]) {
      // Outside code (where everything is literal), no `<` but our own <br>, and no link from the data.
      const prose = outsideCode(markdown)
      assert.deepEqual(prose.match(/(?<!\\)<(?!br>)/g), null, prose)
      assert.ok(!prose.includes('](javascript:'))
      assert.ok(prose.includes('web1\\<script\\>alert\\(1\\)'))
    }
    const index = renderIndexMarkdown([page], meta)
    const row = index.split('\n').find((l) => l.startsWith('| [web1'))!
    // Three cells: four unescaped pipes.
    assert.equal(row.match(/(?<!\\)\|/g)!.length, 4, row)
  })

  it('escapers: HTML five characters, Markdown punctuation, code spans and fences longer than any backtick run', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
    assert.equal(escapeMarkdown('*a* [b](c) `d` | e\nf'), '\\*a\\* \\[b\\]\\(c\\) \\`d\\` \\| e f')
    assert.equal(markdownCode('a``b'), '```a``b```')
    assert.equal(markdownCode('`x'), '`` `x ``')
    const block = markdownCodeBlock('one\n```\ntwo')
    assert.ok(block.startsWith('````text\n') && block.endsWith('\n````'))
  })
})

describe('host page content', () => {
  it('fingerprints, randomart, known_hosts and SSHFP lines for a DNS-named host on another port', () => {
    const rsa = describeKey(blobOf('rsa'))
    const page = buildHostPage(
      fleetHost('[web1.example.com]:2222', { port: 2222, aliases: ['www.example.com'], addresses: ['192.0.2.10'], keys: [fleetKey('rsa'), fleetKey('ed25519')] }),
      [],
    )
    assert.deepEqual(page.keys.map((k) => k.label), ['ED25519 256', 'RSA 3072'], 'ed25519 first')
    assert.equal(page.keys[1]!.sha256, rsa.sha256)
    assert.equal(page.keys[1]!.md5, rsa.md5)
    assert.equal(page.keys[1]!.artSha256, randomart(rsa.blob, rsa, 'SHA256'))
    assert.equal(page.knownHosts[1], `[web1.example.com]:2222,[www.example.com]:2222,[192.0.2.10]:2222 ssh-rsa ${rsa.blob.toString('base64')}`)
    assert.equal(page.sshfp.kind, 'lines')
    assert.ok(page.sshfp.kind === 'lines' && page.sshfp.lines.includes(`web1.example.com. IN SSHFP 1 2 ${rsa.sha256Hex}`))
    assert.equal(page.lastVerified, NOW)
    assert.equal(page.verifiedFrom, 'scanner1')
  })

  it('no SSHFP for a host known by address, nor for a name DNS cannot hold', () => {
    assert.equal(buildHostPage(fleetHost('[192.0.2.7]:2222'), []).sshfp.kind, 'none')
    assert.equal(buildHostPage(fleetHost('[::1]:2222'), []).sshfp.kind, 'none')
    assert.equal(buildHostPage(fleetHost(HOSTILE), []).sshfp.kind, 'none')
  })

  it('@cert-authority lines only for a trusted CA whose patterns name the host', () => {
    const ca = describeKey(blobOf('ecdsa384'))
    const authority = (patterns: string[]): TrustedAuthority => ({ sha256: ca.sha256, type: ca.type, bits: ca.bits, blob: ca.blob, patterns, source: 'test', trustedAt: T0 })
    const certificate = {
      family: 'ed25519' as const,
      keySha256: describeKey(blobOf('ed25519')).sha256,
      ca: { sha256: ca.sha256, type: ca.type, bits: ca.bits, blob: ca.blob },
      keyId: 'web1<x>',
      serial: '7',
      principals: ['web1.example.com'],
      validAfter: T0,
      validBefore: new Date('2026-12-10T00:00:00Z'),
      signatureValid: true,
      lastSeen: NOW,
      removed: false,
    }
    const host = fleetHost('web1.example.com', { certificates: [certificate] })
    const trusted = buildHostPage(host, [authority(['*.example.com']), authority(['*.example.org'])])
    assert.deepEqual(trusted.certAuthorities, [`@cert-authority *.example.com ${ca.type} ${ca.blob.toString('base64')}`])
    assert.equal(trusted.certificates[0]!.caTrusted, true)
    const untrusted = buildHostPage(host, [authority(['*.example.org'])])
    assert.deepEqual(untrusted.certAuthorities, [])
    assert.equal(untrusted.certificates[0]!.caTrusted, false)
    assert.ok(renderHostHtml(trusted, meta).includes('web1&lt;x&gt;'))
  })
})

describe('page file names', () => {
  const cases: [identity: string, expected: RegExp][] = [
    ['web1.example.com', /^web1\.example\.com$/],
    ['[web1.example.com]:2222', /^web1\.example\.com_2222-[0-9a-f]{8}$/],
    ['[::1]:2222', /^1_2222-[0-9a-f]{8}$/],
    ['[2001:db8::1]:22', /^2001_db8_1_22-[0-9a-f]{8}$/],
    ['../../etc/passwd', /^etc_passwd-[0-9a-f]{8}$/],
    ['..', /^host-[0-9a-f]{8}$/],
    ['con', /^con-[0-9a-f]{8}$/],
    ['Web1.Example.com', /^web1\.example\.com-[0-9a-f]{8}$/],
    ['web1.example.com.', /^web1\.example\.com-[0-9a-f]{8}$/],
    [HOSTILE, /^web1_script_alert_1_script_amp_img_src_x_onerror_alert_2-[0-9a-f]{8}$/],
    ['a'.repeat(300), /^a{100}-[0-9a-f]{8}$/],
  ]
  for (const [identity, expected] of cases) {
    it(`${JSON.stringify(identity.slice(0, 40))} -> ${expected.source}`, () => {
      const stem = hostPageStem(identity)
      assert.match(stem, expected)
      assert.match(stem, /^[a-z0-9][a-z0-9._-]*$/)
      assert.equal(hostPageStem(identity), stem, 'the same name every time')
    })
  }
  it('identities that sanitize alike still get different files', () => {
    const stems = ['[a]:2222', 'a_2222', 'A_2222', 'a:2222'].map(hostPageStem)
    assert.equal(new Set(stems).size, stems.length, stems.join(' '))
  })
})

describe('svg charts', () => {
  it('bars are as long as their share of the largest, labels escaped, numbers written', async () => {
    const svg = horizontalBarChart({ id: 'c', title: 'T <1>', bars: [{ label: '<b>x</b>', value: 10 }, { label: 'y', value: 5 }, { label: 'z', value: 0 }] })
    const widths = [...svg.matchAll(/<rect [^>]*width="(\d+)"/g)].map((m) => Number(m[1]))
    assert.equal(widths.length, 3)
    assert.deepEqual([widths[1]! * 2, widths[2]], [widths[0], 0])
    // The longest bar ends where the room for its number begins: the plot is as wide as it can be.
    assert.equal(widths[0], 520 - 230 - 60, "labels take 230, the text after the bar at least 60")
    assert.ok(svg.includes('&lt;b&gt;x&lt;/b&gt;') && svg.includes('<title id="c-title">T &lt;1&gt;</title>'))
    assert.ok(/>10<\/text>/.test(svg) && />5<\/text>/.test(svg))
    assert.deepEqual(await htmlProblems(`<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>${svg}</body></html>`), [])
  })

  it('an empty chart says so', () => {
    assert.match(horizontalBarChart({ id: 'e', title: 'E', bars: [] }), /nothing to show/)
    assert.match(stackedColumnChart({ id: 'e', title: 'E', series: [], columns: [] }), /nothing to show/)
  })

  it('stacked columns: segment heights add up to the column total on one scale', () => {
    const svg = stackedColumnChart({
      id: 's',
      title: 'S',
      series: [{ name: 'critical', tone: 'critical' }, { name: 'warning', tone: 'warning' }],
      columns: [{ label: 'a', values: [2, 2] }, { label: 'b', values: [0, 1] }],
    })
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#(?:b42318|d4a72c)"><title>/g)].map((m) => Number(m[1]))
    assert.equal(heights.length, 3)
    assert.ok(Math.abs(heights[0]! + heights[1]! - 4 * heights[2]!) < 0.2, heights.join(' '))
  })
})

function finding(overrides: Partial<StoredFinding>): StoredFinding {
  return {
    id: 1,
    kind: 'key_changed',
    severity: 'critical',
    host: 'web1.example.com',
    hosts: ['web1.example.com'],
    keyType: null,
    fingerprint: null,
    previous: null,
    message: 'm',
    status: 'open',
    firstSeen: NOW,
    lastSeen: NOW,
    resolvedAt: null,
    acceptedAt: null,
    acceptedBy: null,
    acceptReason: null,
    ...overrides,
  }
}

describe('finding actions', () => {
  const cases: [Partial<StoredFinding>, string | null][] = [
    [{ kind: 'key_changed', host: 'web1.example.com' }, 'hostkeys accept web1.example.com'],
    [{ kind: 'ca_changed', host: '[web1.example.com]:2222' }, "hostkeys accept '[web1.example.com]:2222'"],
    [{ kind: 'duplicate_key', host: 'a', hosts: ['a', 'b', 'a'] }, 'hostkeys allow-shared a b'],
    [{ kind: 'sshfp_mismatch', host: '[web1.example.com]:2222' }, 'hostkeys sshfp --format nsupdate --diff web1.example.com'],
    [{ kind: 'sshfp_stale', host: '192.0.2.1' }, null],
    [{ kind: 'weak_key' }, null],
    [{ kind: 'revoked_key' }, null],
    [{ kind: 'key_changed', host: "x'; rm -rf /" }, `hostkeys accept 'x'\\''; rm -rf /'`],
  ]
  for (const [given, command] of cases) {
    it(`${given.kind} ${given.host ?? ''} -> ${command}`, () => assert.equal(actionFor(finding(given))?.command ?? null, command))
  }
  it('shellQuote leaves plain words alone', () => assert.equal(shellQuote('web1.example.com'), 'web1.example.com'))
})

describe('fleet summary and report', () => {
  const snapshot: FleetSnapshot = {
    hosts: [
      fleetHost('old.example.com', { keys: [fleetKey('rsa1024', { firstSeen: new Date('2025-01-01T00:00:00Z') }), fleetKey('ed25519')] }),
      fleetHost('dsa.example.com', { keys: [fleetKey('dsa', { firstSeen: new Date('2026-06-01T00:00:00Z') }), fleetKey('ed25519', { current: false })] }),
      fleetHost('new.example.com', {
        lastReached: null,
        keys: [],
        certificates: [
          {
            family: 'ed25519',
            keySha256: describeKey(blobOf('ed25519')).sha256,
            ca: { sha256: describeKey(blobOf('ecdsa')).sha256, type: 'ecdsa-sha2-nistp256', bits: 256, blob: blobOf('ecdsa') },
            keyId: 'k',
            serial: '1',
            principals: [],
            validAfter: null,
            validBefore: new Date('2026-12-05T12:00:00Z'),
            signatureValid: true,
            lastSeen: NOW,
            removed: false,
          },
        ],
      }),
    ],
    findings: [
      finding({ id: 1, severity: 'critical', kind: 'key_changed', host: 'old.example.com', firstSeen: new Date('2026-11-29T08:00:00Z') }),
      finding({ id: 2, severity: 'warning', kind: 'weak_key', host: 'dsa.example.com', firstSeen: new Date('2026-11-29T09:00:00Z') }),
      finding({ id: 3, severity: 'info', kind: 'new_host', host: 'new.example.com', firstSeen: new Date('2026-11-30T09:00:00Z') }),
      finding({ id: 4, severity: 'warning', kind: 'key_added', status: 'resolved', firstSeen: new Date('2026-10-01T00:00:00Z') }),
    ],
    scans: [{ id: 1, startedAt: T0, finishedAt: NOW, vantage: 'scanner<1>', hostsAsked: 3, hostsReached: 2, findings: 3 }],
    authorities: [],
  }
  const summary = summarizeFleet(snapshot, NOW)

  it('counts open findings, served key types (weak ones marked), the oldest keys, raised per day, certificates ahead', () => {
    assert.deepEqual(summary.openBySeverity, { info: 1, warning: 1, critical: 1 })
    assert.deepEqual(
      summary.keyTypes.map((t) => `${t.label} ${t.count}${t.weak ? ' weak' : ''}`),
      ['DSA 1024 1 weak', 'ED25519 256 1', 'RSA 1024 1 weak'],
    )
    assert.deepEqual(summary.oldestKeys.map((k) => `${k.host} ${k.label} ${k.ageDays}`), ['old.example.com RSA 1024 698', 'dsa.example.com DSA 1024 182'])
    assert.equal(summary.raisedByDay.length, 30)
    assert.deepEqual(summary.raisedByDay.at(-2), { day: '2026-11-29', counts: { info: 0, warning: 1, critical: 1 } })
    assert.deepEqual(summary.raisedByDay.at(-1), { day: '2026-11-30', counts: { info: 1, warning: 0, critical: 0 } })
    assert.deepEqual(summary.certificatesAhead.map((c) => `${c.host} ${c.daysLeft}`), ['new.example.com 5'])
    assert.deepEqual(summary.needsAction.map((f) => f.kind), ['key_changed', 'weak_key'])
  })

  it('the report page validates, has its five charts and the action table, and escapes the vantage', async () => {
    const html = renderFleetReportHtml(summary)
    assert.deepEqual(await htmlProblems(html), [])
    assert.equal(html.match(/<svg /g)!.length, 5)
    assert.ok(html.includes('scanner&lt;1&gt;'))
    assert.ok(html.includes('<code>hostkeys accept old.example.com</code>'))
    assert.deepEqual([...tagsOf(html)].filter((t) => !OUR_TAGS.has(t) && t !== 'title'), [])
  })
})
