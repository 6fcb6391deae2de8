import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { readKeyTypeAndBits } from '../../src/domain/fingerprint/key-blob.js'
import { randomart, randomartOfDigest } from '../../src/domain/fingerprint/randomart.js'

/* The drunken bishop, byte for byte against the picture OpenSSH's own `ssh-keygen -lv` draws: for keys
 * ssh-keygen makes here, of every size people serve, and the fixture keys (DSA and RSA 1024, which
 * newer ssh-keygen builds can still print but no longer make). */

const work = mkdtempSync(join(tmpdir(), 'hostkeys-randomart-'))
after(() => rmSync(work, { recursive: true, force: true }))

/** What `ssh-keygen -lv -E hash -f file` prints under its fingerprint line. */
function sshKeygenArt(file: string, hash: 'sha256' | 'md5'): string {
  const out = execFileSync('ssh-keygen', ['-lv', '-E', hash, '-f', file], { encoding: 'utf8' })
  return out.split('\n').slice(1).join('\n').trimEnd()
}

function blobOf(file: string): Buffer {
  return Buffer.from(readFileSync(file, 'utf8').split(' ')[1]!, 'base64')
}

const made: [name: string, args: string[], title: string][] = [
  ['ed25519', ['-t', 'ed25519'], '[ED25519 256]'],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], '[ECDSA 256]'],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], '[ECDSA 384]'],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], '[ECDSA 521]'],
  ['rsa2048', ['-t', 'rsa', '-b', '2048'], '[RSA 2048]'],
  ['rsa3072', ['-t', 'rsa', '-b', '3072'], '[RSA 3072]'],
  ['rsa4096', ['-t', 'rsa', '-b', '4096'], '[RSA 4096]'],
]

describe('randomart against ssh-keygen -lv', () => {
  for (const [name, args, title] of made) {
    it(`${name}: SHA256 and MD5 pictures equal ssh-keygen's, byte for byte`, () => {
      const file = join(work, name)
      execFileSync('ssh-keygen', [...args, '-q', '-N', '', '-C', `art-${name}`, '-f', file])
      const blob = blobOf(`${file}.pub`)
      const key = readKeyTypeAndBits(blob)
      const sha256 = randomart(blob, key, 'SHA256')
      assert.equal(sha256, sshKeygenArt(`${file}.pub`, 'sha256'))
      assert.equal(randomart(blob, key, 'MD5'), sshKeygenArt(`${file}.pub`, 'md5'))
      assert.ok(sha256.includes(title), `title ${title} in\n${sha256}`)
    })
  }

  for (const fixture of ['dsa', 'rsa1024']) {
    it(`fixture ${fixture}.pub: both pictures equal ssh-keygen's`, () => {
      const file = new URL(`../fixtures/keys/${fixture}.pub`, import.meta.url).pathname
      const blob = blobOf(file)
      const key = readKeyTypeAndBits(blob)
      assert.equal(randomart(blob, key, 'SHA256'), sshKeygenArt(file, 'sha256'))
      assert.equal(randomart(blob, key, 'MD5'), sshKeygenArt(file, 'md5'))
    })
  }
})

describe('randomart drawing rules', () => {
  it('an empty digest leaves the bishop where it started: E over S, in the middle', () => {
    const art = randomartOfDigest(new Uint8Array(0), '[T]', '[H]').split('\n')
    assert.equal(art.length, 11)
    assert.equal(art[0], '+-------[T]-------+')
    assert.equal(art[5], '|        E        |')
    assert.equal(art[10], '+-------[H]-------+')
  })

  it('walls clamp the walk: 0x00 moves up-left until the corner, which saturates but never reads S or E', () => {
    // 16 bytes of 0x00: 64 up-left steps; the bishop reaches (0,0) after 4 and stays there.
    const art = randomartOfDigest(new Uint8Array(16), '[T]', '[H]').split('\n')
    assert.equal(art[1]![1], 'E', 'the end is in the top left corner')
    assert.equal(art[5]![9], 'S')
    // The diagonal it walked: (7,3) (6,2) (5,1) visited once each.
    assert.equal(art[4]![8], '.')
    assert.equal(art[3]![7], '.')
    assert.equal(art[2]![6], '.')
  })

  it('every row is 19 characters and the picture uses only the augmentation characters', () => {
    const art = randomartOfDigest(Buffer.from('00112233445566778899aabbccddeeff', 'hex'), '[ED25519 256]', '[MD5]')
    for (const line of art.split('\n')) assert.equal(line.length, 19)
    assert.match(art.split('\n').slice(1, 10).join(''), /^[|\x20.o+=*BOX@%&#/^SE]+$/)
  })
})
