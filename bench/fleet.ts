import { writeFileSync } from 'node:fs'
import { loopbackRange, startSshd } from '../test/support/sshd.js'

/* A fleet to profile by hand: `node --import tsx bench/fleet.ts N FILE` starts N default-config
 * OpenSSH servers on 127.5.1.x (as bench/scan.ts does), writes their inventory to FILE with the port,
 * and keeps them up until interrupted. */

const count = Number(process.argv[2] ?? 208)
const file = process.argv[3] ?? '/tmp/hostkeys-fleet.txt'
const addresses = loopbackRange('127.5.1', count)
const server = await startSshd({ addresses, keyTypes: ['ed25519', 'ecdsa-256', 'rsa'] })
writeFileSync(file, addresses.map((a) => `${a}\n`).join(''))
console.log(`${count} servers on port ${server.port}; inventory in ${file}; Ctrl-C stops them`)
process.on('SIGINT', () => void server.stop().then(() => process.exit(0)))
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)))
setInterval(() => {}, 1 << 30)
