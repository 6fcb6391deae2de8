import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { openInventory } from '../../src/inventory/inventory.js'
import { parseInventoryLine } from '../../src/inventory/inventory-line.js'
import { parseTargetSpec } from '../../src/inventory/target-spec.js'
import { bigIntToIpv6, ipv6ToBigInt } from '../../src/inventory/cidr.js'

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

describe('parseTargetSpec', () => {
  const good: [string, string, number][] = [
    ['web1.example.com', 'web1.example.com', 22],
    ['Web1.Example.COM', 'web1.example.com', 22],
    ['web1:2222', 'web1', 2222],
    ['[web1]:2222', 'web1', 2222],
    ['[::1]:2200', '::1', 2200],
    ['[::1]', '::1', 22],
    ['::1', '::1', 22],
    ['2001:db8::5', '2001:db8::5', 22],
    ['192.0.2.10', '192.0.2.10', 22],
    ['192.0.2.10:65535', '192.0.2.10', 65535],
    ['db_1.internal', 'db_1.internal', 22],
  ]
  for (const [text, host, port] of good) {
    it(`reads ${text}`, () => {
      assert.deepEqual(parseTargetSpec(text), { kind: 'single', host, port })
    })
  }

  const bad: [string, RegExp][] = [
    ['web1:0', /not a port/],
    ['web1:65536', /not a port/],
    ['web1:ssh', /not a port/],
    ['[::1]:99999', /not a port/],
    ['2001:db8::5:22x', /not an IPv6 address/],
    ['web 1', /is not host/],
    ['we;b1', /is not host/],
    ['-oProxyCommand=x', /is not host/],
    ['10.0.0.0/33', /longer than 32 bits/],
    ['10.0.0.0/8', /most one range may expand to is 65536/],
    ['2001:db8::/64', /2\^64 addresses/],
    ['300.1.1.1/24', /not an IPv4 or IPv6 address/],
    ['', /empty/],
  ]
  for (const [text, message] of bad) {
    it(`refuses '${text}'`, () => {
      const result = parseTargetSpec(text)
      assert.equal(typeof result, 'string')
      assert.match(result as string, message)
    })
  }

  it('names a host on another port the way known_hosts does', async () => {
    const inventory = await openInventory({ specs: ['web1:2222', '[::1]:2200', 'web2'], files: [], defaultPort: 22 })
    assert.deepEqual((await collect(inventory.targets())).map((t) => t.host), ['[web1]:2222', '[::1]:2200', 'web2'])
  })

  it('uses the default port it is given', () => {
    assert.deepEqual(parseTargetSpec('web1', 2022), { kind: 'single', host: 'web1', port: 2022 })
  })
})

describe('CIDR ranges', () => {
  it('expands an IPv4 /28 to its 14 host addresses', async () => {
    const inventory = await openInventory({ specs: ['10.0.0.0/28'], files: [], defaultPort: 22 })
    const targets = await collect(inventory.targets())
    assert.equal(inventory.size, 14)
    assert.deepEqual(
      targets.map((t) => t.address),
      Array.from({ length: 14 }, (_, i) => `10.0.0.${i + 1}`),
    )
    assert.equal(targets[0]!.host, '10.0.0.1')
  })

  it('keeps both addresses of a /31 (RFC 3021) and the one of a /32', async () => {
    const inventory = await openInventory({ specs: ['10.0.0.6/31', '10.0.0.9/32'], files: [], defaultPort: 22 })
    assert.deepEqual((await collect(inventory.targets())).map((t) => t.address), ['10.0.0.6', '10.0.0.7', '10.0.0.9'])
  })

  it('masks a base address that is not the start of its range', async () => {
    const inventory = await openInventory({ specs: ['10.0.0.77/30'], files: [], defaultPort: 22 })
    assert.deepEqual((await collect(inventory.targets())).map((t) => t.address), ['10.0.0.77', '10.0.0.78'])
  })

  it('expands IPv6 ranges, writing addresses the RFC 5952 way', async () => {
    const inventory = await openInventory({ specs: ['2001:db8::/126'], files: [], defaultPort: 22 })
    assert.deepEqual((await collect(inventory.targets())).map((t) => t.address), [
      '2001:db8::',
      '2001:db8::1',
      '2001:db8::2',
      '2001:db8::3',
    ])
  })

  it('round-trips IPv6 text forms', () => {
    for (const text of ['::', '::1', '2001:db8::1:0:0:1', 'fe80::1', '1:2:3:4:5:6:7:8']) {
      assert.equal(bigIntToIpv6(ipv6ToBigInt(text)), text)
    }
    assert.equal(bigIntToIpv6(ipv6ToBigInt('::ffff:10.0.0.1')), '::ffff:a00:1')
  })

  it('counts a /16 without expanding it', async () => {
    const inventory = await openInventory({ specs: ['10.9.0.0/16'], files: [], defaultPort: 22 })
    assert.equal(inventory.size, 65534)
  })
})

describe('inventory lines (ssh-keyscan -f form)', () => {
  it('skips comments and blank lines', () => {
    assert.equal(parseInventoryLine('   ', 22), null)
    assert.equal(parseInventoryLine('# a comment', 22), null)
  })

  it('takes the first NAME as identity and the first ADDR as where to connect', () => {
    const line = parseInventoryLine('192.0.2.10,192.0.2.11 web1.example.com,web1  # rack 4', 22)
    assert.deepEqual(line, {
      spec: { kind: 'single', host: '192.0.2.10', port: 22 },
      identity: 'web1.example.com',
      aliases: ['192.0.2.10', '192.0.2.11', 'web1'],
    })
  })

  it('uses the target as written when there is no NAME', () => {
    const line = parseInventoryLine('[db1]:2222', 22)
    assert.deepEqual(line, { spec: { kind: 'single', host: 'db1', port: 2222 }, identity: null, aliases: [] })
  })

  const bad: [string, RegExp][] = [
    ['a b c', /found 3 fields/],
    ['10.0.0.0/30 router', /CIDR range .* stands alone/],
    ['web1,,web2', /empty entry/],
    ['web1 "quoted"', /not a host name/],
  ]
  for (const [text, message] of bad) {
    it(`refuses '${text}'`, () => assert.match(parseInventoryLine(text, 22) as string, message))
  }
})

describe('openInventory', () => {
  it('reads files and stdin, naming the source of each target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostkeys-inv-'))
    const file = join(dir, 'hosts.txt')
    await writeFile(file, '# fleet\n\n192.0.2.1 web1\n[192.0.2.2]:2200\n')
    const stdin = Readable.from(['192.0.2.3 db1\n'])
    const inventory = await openInventory({ specs: ['192.0.2.9'], files: [file, '-'], defaultPort: 22, stdin })
    const targets = await collect(inventory.targets())
    assert.equal(inventory.size, 4)
    assert.deepEqual(
      targets.map((t) => [t.host, t.address, t.port, t.source]),
      [
        ['192.0.2.9', '192.0.2.9', 22, 'argv'],
        ['web1', '192.0.2.1', 22, `${file}:3`],
        ['[192.0.2.2]:2200', '192.0.2.2', 2200, `${file}:4`],
        ['db1', '192.0.2.3', 22, '<stdin>:1'],
      ],
    )
  })

  it('names the file and line of a malformed line before yielding anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostkeys-inv-'))
    const file = join(dir, 'hosts.txt')
    await writeFile(file, '192.0.2.1\n192.0.2.2\nweb1:99999\n')
    await assert.rejects(openInventory({ specs: [], files: [file], defaultPort: 22 }), (e: Error) => {
      assert.equal(e.name, 'InventoryError')
      assert.match(e.message, new RegExp(`^${file}:3: '99999' in 'web1:99999' is not a port`))
      return true
    })
  })

  it('says which file it cannot read', async () => {
    await assert.rejects(
      openInventory({ specs: [], files: ['/nonexistent/hosts.txt'], defaultPort: 22 }),
      /cannot read inventory file \/nonexistent\/hosts.txt/,
    )
  })

  it('refuses a malformed target on the command line', async () => {
    await assert.rejects(openInventory({ specs: ['web1:0'], files: [], defaultPort: 22 }), /target '0' in 'web1:0' is not a port/)
  })
})
