import ssh2 from 'ssh2'
import type { AddressInfo } from 'node:net'

/* A throwaway fleet for `hostkeys demo`: SSH servers inside this process (ssh2's Server), one per
 * loopback address, all on one port. They never let anyone log in; they exist to show their host
 * keys. `rebuild` gives a host new keys, as reinstalling a machine does. Loopback only. */

const { Server, utils } = ssh2

export interface DemoHost {
  readonly name: string
  readonly address: string
}

export interface DemoFleet {
  readonly port: number
  readonly hosts: readonly DemoHost[]
  /** Gives a host freshly generated keys (a new server on its address and port). */
  rebuild(name: string): Promise<void>
  close(): Promise<void>
}

type PrivateKeys = string[]

/**
 * A private key ssh2 can load. ssh2 1.17's generateKeyPairSync now and then (about 1 Ed25519 key in
 * 150, seen here) writes a key its own parser rejects as "Malformed OpenSSH private key"; make another.
 */
function generateLoadableKey(make: () => string): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    const key = make()
    if (!(utils.parseKey(key) instanceof Error)) return key
  }
  throw new Error('demo fleet: ssh2 could not generate a loadable host key')
}

function generateHostKeys(): PrivateKeys {
  return [
    generateLoadableKey(() => utils.generateKeyPairSync('ed25519').private),
    generateLoadableKey(() => utils.generateKeyPairSync('ecdsa', { bits: 256 }).private),
    generateLoadableKey(() => utils.generateKeyPairSync('rsa', { bits: 2048 }).private),
  ]
}

/**
 * Starts the demo fleet: `own` hosts with keys of their own, `clones` hosts sharing one set of keys.
 * Addresses are 127.77.0.1, .2, …; the port is whatever is free on all of them.
 */
export async function startDemoFleet(spec: { own: string[]; clones: string[] }): Promise<DemoFleet> {
  const names = [...spec.own, ...spec.clones]
  const keysByName = new Map<string, PrivateKeys>()
  for (const name of spec.own) keysByName.set(name, generateHostKeys())
  const cloneKeys = generateHostKeys()
  for (const name of spec.clones) keysByName.set(name, cloneKeys)

  const hosts = names.map((name, i) => ({ name, address: `127.77.0.${i + 1}` }))
  for (let attempt = 0; attempt < 10; attempt++) {
    const servers: InstanceType<typeof Server>[] = []
    try {
      let port = 0
      for (const host of hosts) {
        const server = makeServer(() => keysByName.get(host.name)!)
        servers.push(server)
        port = await listen(server, host.address, port)
      }
      return {
        port,
        hosts,
        async rebuild(name) {
          const index = hosts.findIndex((h) => h.name === name)
          if (index < 0) throw new Error(`no demo host named ${name}`)
          keysByName.set(name, generateHostKeys())
          // ssh2 fixes a Server's keys when it is made: replace the server, as a reinstall would.
          await new Promise<void>((resolve) => servers[index]!.close(() => resolve()))
          servers[index] = makeServer(() => keysByName.get(name)!)
          await listen(servers[index]!, hosts[index]!.address, port)
        },
        async close() {
          await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
        },
      }
    } catch (e) {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e
    }
  }
  throw new Error('demo fleet: no port was free on every 127.77.0.x address')
}

function makeServer(keys: () => PrivateKeys): InstanceType<typeof Server> {
  const server = new Server({ hostKeys: keys(), ident: 'hostkeys-demo' }, (client) => {
    client.on('error', () => {})
    client.on('authentication', (context) => context.reject())
  })
  server.on('error', () => {})
  return server
}

function listen(server: InstanceType<typeof Server>, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once('error', onError)
    server.listen(port, address, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
