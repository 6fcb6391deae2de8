import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { checkHostKey } from '../../src/analysis/bad-keys.js'
import { sharedFactors } from '../../src/analysis/batch-gcd.js'
import { bigintFromBytes } from '../../src/analysis/big-integer.js'
import type { HostKey } from '../../src/domain/host-key.js'
import { scanHost } from '../../src/ssh/scan-host.js'
import { closePrimes, keysSharingAPrime, rocaKey, rsaFromPrimes, type RsaFromPrimes } from '../support/rsa-from-primes.js'
import { keyFile, skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* RSA host keys built from chosen primes, served by real OpenSSH sshd on 127.80.0.0/16 (this
 * file's block), collected by the scanner as any host key is, then judged: close primes and the
 * ROCA form are flagged by checkHostKey, two hosts sharing a prime by batch GCD, and an ordinary
 * ssh-keygen key by neither. */

const work = mkdtempSync(path.join(tmpdir(), 'hostkeys-bad-keys-sshd-'))

/** A key directory whose RSA host key is `key` (the harness reuses keys it finds there). */
function keyDirWith(name: string, key: RsaFromPrimes): string {
  const dir = path.join(work, name)
  const file = keyFile(dir, 'rsa')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(file, key.privateKeyPem, { mode: 0o600 })
  writeFileSync(`${file}.pub`, `ssh-rsa ${key.blob.toString('base64')} ${name}\n`)
  return dir
}
async function collectRsaKey(server: SshdServer): Promise<HostKey> {
  const address = server.addresses[0]!
  const observation = await scanHost({ host: address, address, port: server.port, aliases: [], source: 'test' }, { families: ['rsa'], timeoutMs: 10_000 })
  assert.equal(observation.status, 'ok', observation.error ?? '')
  const key = observation.keys.find((k) => k.type === 'ssh-rsa')
  assert.ok(key, `an RSA key from ${address}`)
  return key
}

function modulusOf(key: HostKey): bigint {
  // ssh-rsa blob: string type, mpint e, mpint n.
  let offset = 4 + key.blob.readUInt32BE(0)
  offset += 4 + key.blob.readUInt32BE(offset)
  const length = key.blob.readUInt32BE(offset)
  return bigintFromBytes(key.blob.subarray(offset + 4, offset + 4 + length))
}

describe('known-bad RSA host keys served by real sshd', { skip: skipUnlessSshd() }, () => {
  const built = {
    close: rsaFromPrimes(...closePrimes(1024)),
    roca: rocaKey(2048),
    shared: keysSharingAPrime(2048),
  }
  const servers: Record<string, SshdServer> = {}

  before(async () => {
    const specs: [string, string, string | null][] = [
      ['close', '127.80.0.1', keyDirWith('close', built.close)],
      ['roca', '127.80.0.2', keyDirWith('roca', built.roca)],
      ['sharedA', '127.80.0.3', keyDirWith('sharedA', built.shared[0])],
      ['sharedB', '127.80.0.4', keyDirWith('sharedB', built.shared[1])],
      ['normal', '127.80.0.5', null],
    ]
    for (const [name, address, keyDir] of specs) {
      servers[name] = await startSshd({ addresses: [address], keyTypes: ['rsa'], ...(keyDir ? { keyDir } : {}) })
    }
  })
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })

  it('a key from close primes is served and flagged by the Fermat check', async () => {
    const key = await collectRsaKey(servers['close']!)
    assert.deepEqual(key.blob, built.close.blob, 'sshd serves the key built from the primes')
    assert.equal(key.bits, 2048)
    assert.equal(checkHostKey(key)?.check, 'fermat')
  })

  it('a key from primes of the ROCA form is served and flagged by the ROCA check', async () => {
    const key = await collectRsaKey(servers['roca']!)
    assert.deepEqual(key.blob, built.roca.blob)
    assert.equal(checkHostKey(key)?.check, 'roca')
  })

  it('two hosts whose keys share a prime pass every single-key check and are caught by batch GCD', async () => {
    const a = await collectRsaKey(servers['sharedA']!)
    const b = await collectRsaKey(servers['sharedB']!)
    assert.equal(checkHostKey(a), null)
    assert.equal(checkHostKey(b), null)
    const result = sharedFactors([modulusOf(a)], [modulusOf(b)])
    assert.equal(result.hits.length, 1)
    assert.deepEqual(result.hits[0]!.sharesWith, [{ set: 'known', index: 0 }])
    assert.equal(result.hits[0]!.split, true)
  })

  it('an ordinary ssh-keygen RSA key is not flagged', async () => {
    const key = await collectRsaKey(servers['normal']!)
    assert.equal(checkHostKey(key), null)
    const a = await collectRsaKey(servers['sharedA']!)
    assert.deepEqual(sharedFactors([modulusOf(a)], [modulusOf(key)]).hits, [])
  })
})
