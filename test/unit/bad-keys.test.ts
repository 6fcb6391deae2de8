import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { checkPrimeSync, createPublicKey, generateKeyPairSync, generatePrimeSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { BAD_KEY_CHECKS_VERSION, checkAllQuietly, checkHostKey, rsaModulus, smallFactorsIn, type BadKeyCheck } from '../../src/analysis/bad-keys.js'
import { bigintFromBytes, bytesFromBigint, modPow } from '../../src/analysis/big-integer.js'
import type { HostKey, KeyType } from '../../src/domain/host-key.js'
import { KeyBlobError } from '../../src/domain/fingerprint/key-blob.js'
import { sshMagnitudeMpint, SshReader, sshString } from '../../src/domain/ssh-wire.js'
import { closePrimes, randomPrime, rocaKey, rsaPublicBlob } from '../support/rsa-from-primes.js'
import { KEYGEN_ARGS, SSH_KEYGEN_PATH, type SshdKeyType } from '../support/sshd.js'

type Key = Pick<HostKey, 'type' | 'blob'>

const rsa = (n: bigint, e = 65537n): Key => ({ type: 'ssh-rsa', blob: rsaPublicBlob(n, e) })
const mpint = (value: bigint) => sshMagnitudeMpint(bytesFromBigint(value))

/** The modulus of a PEM public key (PKCS#1 or SPKI), through node:crypto's own parser. */
function modulusOfPem(pem: string): bigint {
  const jwk = createPublicKey(pem).export({ format: 'jwk' })
  return bigintFromBytes(Buffer.from(jwk.n!, 'base64url'))
}

/* Published vectors. ROCA: crocs-muni/roca roca/tests/data/ssh06.pub (a positive sample of the
 * authors' detector) and badkeys tests/data/rsa-roca.key. Fermat: badkeys tests/data/
 * rsa-fermat-hexmodulus.txt. Small factors: badkeys tests/data/rsa-smallfactors-valid.key. e = 1:
 * badkeys tests/data/rsa-e1.key. A good key: badkeys tests/data/rsa-ok.key. */
const ROCA_SSH06 =
  'AAAAB3NzaC1yc2EAAAADAQABAAABAQGpxaaH24+yow+C3/jdoVTCke8nsEsl4YW4qyDExqX2BIWf5Z7eVKCvfA5yiIAK1xk7tzGlvx4RcNehxmkw1B6j6yHe33uK9dQqkcNPcgRblu/VfLGCMB3cwmln5VCOmriJmG1X6Dff5w+Z/DfEmPQ8F8O5sGTPcERD16Az4DqCFpeqvzD7Ke59M7N2eWWokFjjs5dUvTocAH0oojsM+nn51xGsbkxLT3ewY0sezWhZGvA8fVO2Kl8tkRY9TvT48mgxrkYe2F7F94jFEj/8Esh0IP3P6h0bSlLDUhgk+zmYNIc5tiqYbY52siibwuuLwG0TgUeFG4OgcYPSEFWfkGMh'
const BADKEYS_ROCA = `-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAkTKtIR/MDftNrkgyashkwifks5Swm9HEkw4ZcCijyQdpTStInk9p
dUrq4zjG6tk5xX9AaYXLu47fmiBVzClGvAXTZbpn6JbG1IERUs+i0pBRT5CzUu7v
J/63L72NzVvJFaT0SUE5zByhCjJE+pflMnX1e1UptOdnN5AHeY4RKkugVse3XO2x
Ms3yH3vTyZdtnaOIFRU0d6E7PrsgRtEAqFHcAGmPUw0ZOW8A++8sS/FlnrxMf9lV
a1/8k/A8otPfrNIipfAoq0MKJ+oxE2wML1DDxIGTGmNaN3gPANJyeuca7ptA+NGq
5oU1x3pWMXgSvrVSXUooNk8xIkrKxSz3LQIDAQAB
-----END RSA PUBLIC KEY-----`
const BADKEYS_FERMAT_MODULUS =
  0xe36099d4b2fbf4b58d6a19bb57fc3443f67d86c759169ae8038d46ec28e0256a6730e95f7f9da57c81cd3567b0da5a716fec1a5f15e56c3731075f5351dcbab32b16050c3d72b5ee6c1408aa0f8ce34fa3ef9c6962f4e75b6512af8706551d2819ac900224e4108d24b89f37580853a73aec654f90763d70e5a36fa7d1cbbeed927ab004b7471fa3fb71c91feeeaff9e1ef464f9913b84f8da37a8d356950d00019d6701fc749da72b5b88d48a6998ebcc096a4bc711ffbe6b89627683c14e14fa0ca26a17c228c067295ff8117cc7095537c275e6996e1dc1452cb7f51240364e81841f5bb7df604df747bf774d269f38a35bf93402a08561ff89e0c43d2f97n
const BADKEYS_SMALL_FACTORS = `-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA0qEoL7v8sr9Z8RMSgj1L
wGQbX4YirPGKSHFzko4/H/niYJL53cDE0mLBusUMfCT3QRM2QHW+As7WctShlVt9
m6XcwkwBrxtuPxhC9HZn6gKm+pI90i9ekLL9L9gmbsiVO4xp84Lm5b8GGAZmpGFS
ZpRARs2h1gRXabg6gbD1PKTMHHsFzgpDwhVQnrTZ1QXGYjEk+394zdZOYF/pwaSg
lp8VOcaAKlwuJEfHwJ6o8WixvdwgwnmxUf3CLm+nKb6Qhu1IDYFIwA5sR5iIppJ9
OkPgPUakygLZoa9v17zGOgZxhdolBEWXBZHRVDsgrBiiv8bqILfW9rV3qcN0Fd2e
idp1KNW0LZ2vH5oPYtD96HojOWD/ra25Ax2LT8Fk5kctFsJkMUGIMtw1eCjiE+PQ
KYHMhybnI1Wk4VjGIm7y/dlL4fjeRvqFKeZAB12S1AnZFSXT36GG/967ItSaDuCP
iMQndrm9oBug0sjyO6+CXX89rIEeN0wcyHZHuiJv7TOoiuIgk3r6UKKIsF57mk0Y
gtWNvUQpZU9Kkqhz0phwWNqAxdtevkz5kQ1erjrCwJzNa/9bldrzNdCsZljfmJhY
0lfbAFDMFPBrZqkL4uepUiYqTb/gf5xf61WYkGNVSCF5v4FckL5+agmIgMhDvEt+
S2BGDt9sz0zCnXtDidKnxycCAwEAAQ==
-----END PUBLIC KEY-----`
const BADKEYS_E1 = `-----BEGIN RSA PUBLIC KEY-----
MIIBCAKCAQEA2CzMh5UOtdozYHY5rIe0NKE0dDxuEAyuZBsB6kwoMZd0x9gnbN18
K0eepXnFF05VxNNXRBt90Giy6E0iE/x9FOTNB6a71leCBgVCseAVgyEGbuXotSwg
zZkV1jpL81v4bkqLycu9cqaThJUBwxWelSW63eK3izrLrV0tfbjdDO64HZcGQ/VL
jmCgavVFrs3XiiAZAfOb2uLC4NYfZvej/Se0fC/kWlitCvXi/S73LkXfWD4HukfP
RZ61hWAEfQOhflqhGm1/ty5tNK4cXCvH0cXUz6L8YTUgxxlgW1LO508SjzCQLkgB
XSUqHimDSVLugBG2B96P9dmzM4SKk1qWGQIBAQ==
-----END RSA PUBLIC KEY-----`
const BADKEYS_OK = `-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA3+7n3nVVncZkM25RdNknGuAfkKMwcYaWqQGN4C01zGQlpJvDmXDd
VM+YNi4pZwRACs21V+h6LLy7mieYCWZy9NV/AfjovxZEInrCX3nyHgBxtYaV+bta
jFzFE4T3PJvuE5hc6Kx/KawU1NvE+kvQAirGDcVQe500rEcePgdezBh9wSA0yk/q
Pbc8hgrR6z255RGodzLgJi6v7uaXdvQlhDuIwjITIcdakspIX09xdCI1IzLkEdHX
dr4gutR8/D0UoR3RSfiWLwc4AcdAGvJ0X0HK3tCawPFxGoU3YkLIOIa0XYHTlIqu
Dyq3WaxIJjM/tDRYlBbYl1UF+qHcy4BDjQIDAQAB
-----END RSA PUBLIC KEY-----`
/** crocs-muni/roca roca/tests/test_fingerprint.py test_fake_mods: moduli that are powers of 65537
 * modulo each small prime separately but not jointly; the discrete-log detector must refuse them. */
const ROCA_FAKES = [
  72414128973967872688332736535017614208620368242015797102796086827882754006260204061799547004983731426777596445658889886861027045033760014948048067467947960318205453778973975867532910489227970143091184725760290172935872752222320334100097730483600892686353719855397381316384244147860260153198611313067061116317n,
  138345973265163614694352477004469191286459111070564516299381495188624946671065451924677704628892476011773201612117597303315530745738015579159106259811204610647347662150159814774894784524366138220226431598991937057442020694466365850170057813627445465881816985939192840583168136876337135351417253708364245923133n,
  60828061238058485055546209519792949600733446820687109700021551748017165461584398468231416589035982737511901116540885252089750919566836183252857475484338913841291095222387779067564971983760619814471104385614285949705697261702933899278537712383849527252611987939947273446907728942539157463443880598175266703887n,
]

// ECDSA and Ed25519 blobs from keys node:crypto makes.
function ecdsaKey(curve: 'P-256' | 'P-384' | 'P-521'): { key: Key; x: Buffer; y: Buffer; name: string } {
  const jwk = generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'jwk' })
  const name = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' }[curve]
  const x = Buffer.from(jwk.x!, 'base64url')
  const y = Buffer.from(jwk.y!, 'base64url')
  return { key: ecdsaBlob(name, Buffer.concat([Buffer.from([4]), x, y])), x, y, name }
}
function ecdsaBlob(curve: string, point: Buffer): Key {
  return { type: `ecdsa-sha2-${curve}` as KeyType, blob: Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point)]) }
}
const ed25519Blob = (raw: Buffer): Key => ({ type: 'ssh-ed25519', blob: Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]) })
function dsaBlob(p: bigint, q: bigint, g: bigint, y: bigint): Key {
  return { type: 'ssh-dss', blob: Buffer.concat([sshString('ssh-dss'), mpint(p), mpint(q), mpint(g), mpint(y)]) }
}
function dsaParts(key: Key): [bigint, bigint, bigint, bigint] {
  const reader = new SshReader(key.blob, 'ssh-dss key blob')
  reader.string('key type')
  return (['p', 'q', 'g', 'y'] as const).map((name) => reader.mpint(name)) as [bigint, bigint, bigint, bigint]
}

/* Real keys from ssh-keygen, one per type: none may be flagged. */
const keyDir = mkdtempSync(path.join(tmpdir(), 'hostkeys-badkeys-'))
after(() => rmSync(keyDir, { recursive: true, force: true }))
let keygens = 0
function sshKeygen(type: SshdKeyType): Key {
  const file = path.join(keyDir, `${type}-${++keygens}`)
  execFileSync(SSH_KEYGEN_PATH, [...KEYGEN_ARGS[type], '-q', '-N', '', '-C', '', '-f', file])
  const [keyType, base64] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ')
  return { type: keyType as KeyType, blob: Buffer.from(base64!, 'base64') }
}

/** A DSA key whose prime p has the sparse form badkeys' dsasparse looks for, valid otherwise. */
function sparseDsaKey(): Key {
  const q = generatePrimeSync(160, { bigint: true })
  for (;;) {
    // Top 24 bits 0x800000; bits 168..999 with bits 4..23 of every 32-bit word zero; low 168 free.
    let high = 0x800000n << 832n
    for (let word = 0; word < 26; word++) high |= BigInt((Math.floor(Math.random() * 16) | (Math.floor(Math.random() * 256) << 24)) >>> 0) << BigInt(32 * word)
    high &= (1n << 856n) - 1n
    high |= 1n << 855n
    const base = high << 168n
    // p = 1 mod q: the low part L = (1 - base) mod q, plus a multiple of q that keeps L below 2^168.
    const low0 = (((1n - base) % q) + q) % q
    for (let t = 0n; t < 2000n; t++) {
      const p = base + low0 + t * q
      if (p >> 168n !== high) break
      if (!checkPrimeSync(p)) continue
      const g = modPow(2n, (p - 1n) / q, p)
      if (g === 1n) continue
      return dsaBlob(p, q, g, modPow(g, 123456789n, p))
    }
  }
}

describe('checkHostKey', () => {
  it('exports a version for stored verdicts', () => {
    assert.ok(Number.isInteger(BAD_KEY_CHECKS_VERSION) && BAD_KEY_CHECKS_VERSION >= 1)
  })

  describe('flags known-bad keys', () => {
    const [p1, q1] = [randomPrime(1024), randomPrime(1024)]
    const p256 = ecdsaKey('P-256')
    const onCurve = ecdsaKey('P-384')
    const flipped = Buffer.from(onCurve.y)
    flipped[flipped.length - 1]! ^= 1
    const cases: { name: string; key: () => Key; check: BadKeyCheck; detail?: RegExp }[] = [
      { name: 'e = 1 (badkeys rsa-e1.key)', key: () => rsa(modulusOfPem(BADKEYS_E1), 1n), check: 'rsa-parameters', detail: /e is 1/ },
      { name: 'an even e', key: () => rsa(p1 * q1, 65536n), check: 'rsa-parameters', detail: /even/ },
      { name: 'e not below n', key: () => rsa(p1 * q1, p1 * q1 + 2n), check: 'rsa-parameters', detail: /not smaller/ },
      { name: 'an even modulus', key: () => rsa(2n * p1 * q1), check: 'rsa-parameters', detail: /even/ },
      { name: 'a 512-bit modulus', key: () => rsa(randomPrime(256) * randomPrime(256)), check: 'rsa-parameters', detail: /512 bits/ },
      { name: 'a modulus with factors 3 and 65537', key: () => rsa(3n * 65537n * p1 * randomPrime(1000)), check: 'small-factor', detail: /divisible by 3, 65537 / },
      { name: 'badkeys rsa-smallfactors-valid.key', key: () => rsa(modulusOfPem(BADKEYS_SMALL_FACTORS)), check: 'small-factor' },
      { name: 'close primes from rsa-from-primes', key: () => rsa(closePrimes(1024).reduce((a, b) => a * b)), check: 'fermat', detail: /after 1 step/ },
      { name: 'badkeys rsa-fermat-hexmodulus.txt', key: () => rsa(BADKEYS_FERMAT_MODULUS), check: 'fermat' },
      { name: 'a perfect square', key: () => rsa(p1 * p1), check: 'fermat', detail: /perfect square/ },
      { name: 'ROCA: crocs-muni ssh06.pub', key: () => ({ type: 'ssh-rsa', blob: Buffer.from(ROCA_SSH06, 'base64') }), check: 'roca' },
      { name: 'ROCA: badkeys rsa-roca.key', key: () => rsa(modulusOfPem(BADKEYS_ROCA)), check: 'roca' },
      { name: 'ROCA: an RSA-2048 key from primes of the RSALib form', key: () => ({ type: 'ssh-rsa', blob: rocaKey(2048).blob }), check: 'roca' },
      { name: 'ECDSA: the point at infinity', key: () => ecdsaBlob('nistp256', Buffer.from([0])), check: 'ecdsa-point', detail: /infinity/ },
      { name: 'ECDSA: a compressed point', key: () => ecdsaBlob('nistp256', Buffer.concat([Buffer.from([2]), p256.x])), check: 'ecdsa-point', detail: /uncompressed/ },
      { name: 'ECDSA: y off by one bit', key: () => ecdsaBlob(onCurve.name, Buffer.concat([Buffer.from([4]), onCurve.x, flipped])), check: 'ecdsa-point', detail: /not on nistp384/ },
      {
        name: 'ECDSA: x = p (not reduced)',
        key: () => ecdsaBlob('nistp256', Buffer.concat([Buffer.from([4]), Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex'), p256.y])),
        check: 'ecdsa-point',
        detail: /below the field prime/,
      },
      { name: 'DSA: g = 1', key: () => { const [p, q, , y] = dsaParts(sshKeygen('dsa')); return dsaBlob(p, q, 1n, y) }, check: 'dsa-parameters', detail: /g is 1/ },
      { name: 'DSA: y = 1', key: () => { const [p, q, g] = dsaParts(sshKeygen('dsa')); return dsaBlob(p, q, g, 1n) }, check: 'dsa-parameters', detail: /y is outside/ },
      { name: 'DSA: q does not divide p - 1', key: () => { const [p, q, g, y] = dsaParts(sshKeygen('dsa')); return dsaBlob(p, q + 2n, g, y) }, check: 'dsa-parameters', detail: /q does not divide/ },
      { name: 'DSA: y outside the subgroup', key: () => { const [p, q, g] = dsaParts(sshKeygen('dsa')); return dsaBlob(p, q, g, p - 2n) }, check: 'dsa-parameters', detail: /y is (outside|not in)/ },
      { name: 'DSA: a sparse prime (badkeys dsasparse)', key: sparseDsaKey, check: 'dsa-sparse' },
    ]
    for (const c of cases) {
      it(c.name, () => {
        const verdict = checkHostKey(c.key())
        assert.equal(verdict?.check, c.check, JSON.stringify(verdict))
        if (c.detail) assert.match(verdict!.detail, c.detail)
      })
    }

    it('checkAllQuietly: the same verdicts, the small-factor test made once for many RSA keys', () => {
      const good = Array.from({ length: 6 }, () => rsa(randomPrime(1024) * randomPrime(1024)))
      const bad = cases.map((c) => c.key())
      const smallFactor = cases.findIndex((c) => c.check === 'small-factor')
      // Clean RSA keys with one bad key of each kind among them; then with only the small-factor one;
      // then clean ones alone (the batched test passes them all at once).
      for (const keys of [[...good, ...bad], [...good.slice(0, 3), bad[smallFactor]!, ...good.slice(3)], good]) {
        assert.deepEqual(checkAllQuietly(keys), keys.map((k) => checkHostKey(k)))
      }
      assert.equal(smallFactorsIn(good.map((k) => rsaModulus(k.blob))), false)
      assert.equal(smallFactorsIn([...good.map((k) => rsaModulus(k.blob)), 65537n * randomPrime(1024)]), true)
    })
  })

  describe('Ed25519 points of small order', () => {
    // Independent check that each flagged encoding is of small order: decode it (RFC 8032 §5.1.3)
    // and multiply by 8 with the twisted Edwards addition law (RFC 8032 §5.1.4).
    const P = 2n ** 255n - 19n
    const d = (-121665n * modPow(121666n, P - 2n, P)) % P
    const mod = (x: bigint) => ((x % P) + P) % P
    const decode = (y: bigint, sign: number): [bigint, bigint] | null => {
      const u = mod(y * y - 1n)
      const v = mod(d * y * y + 1n)
      let x = mod(u * modPow(v, P - 2n, P))
      x = modPow(x, (P + 3n) / 8n, P)
      const x2 = mod((u * modPow(v, P - 2n, P)))
      if (mod(x * x - x2) !== 0n) x = mod(x * modPow(2n, (P - 1n) / 4n, P))
      if (mod(x * x - x2) !== 0n) return null
      if (x === 0n && sign === 1) return null
      if (Number(x & 1n) !== sign) x = P - x
      return [mod(x), mod(y)]
    }
    const add = ([x1, y1]: [bigint, bigint], [x2, y2]: [bigint, bigint]): [bigint, bigint] => {
      const t = mod(d * x1 * x2 * y1 * y2)
      return [mod((x1 * y2 + x2 * y1) * modPow(mod(1n + t), P - 2n, P)), mod((y1 * y2 + x1 * x2) * modPow(mod(1n - t), P - 2n, P))]
    }
    const encode = (y: bigint, sign: number) => {
      const bytes = Buffer.alloc(32)
      const little = bytesFromBigint(y).reverse()
      little.copy(bytes)
      bytes[31]! |= sign << 7
      return bytes
    }
    const smallOrderY = [
      0n,
      1n,
      P - 1n,
      bigintFromBytes(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex').reverse()),
      bigintFromBytes(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex').reverse()),
    ]
    for (const y of smallOrderY) {
      for (const sign of [0, 1]) {
        const point = decode(y, sign)
        if (!point) continue
        it(`y = ${y.toString(16).slice(0, 12)}…, sign ${sign}: of small order, flagged`, () => {
          let multiple = point
          for (let i = 0; i < 3; i++) multiple = add(multiple, multiple)
          assert.deepEqual(multiple, [0n, 1n], '8·A is the neutral point')
          assert.equal(checkHostKey(ed25519Blob(encode(y, sign)))?.check, 'ed25519-small-order')
        })
      }
    }
    it('non-canonical encodings of 0 and 1 (y = p, p + 1) are flagged too', () => {
      assert.equal(checkHostKey(ed25519Blob(encode(P, 0)))?.check, 'ed25519-small-order')
      assert.equal(checkHostKey(ed25519Blob(encode(P + 1n, 0)))?.check, 'ed25519-small-order')
    })
  })

  describe('passes real keys', () => {
    for (const type of ['ed25519', 'ecdsa-256', 'ecdsa-384', 'ecdsa-521', 'rsa', 'dsa'] as const) {
      it(`ssh-keygen ${type}`, () => assert.equal(checkHostKey(sshKeygen(type)), null))
    }
    it('node:crypto RSA-2048, RSA-3072 and RSA-4096 keys', () => {
      for (const modulusLength of [2048, 2048, 3072, 4096]) {
        const jwk = generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ format: 'jwk' })
        const e = bigintFromBytes(Buffer.from(jwk.e!, 'base64url'))
        assert.equal(checkHostKey(rsa(bigintFromBytes(Buffer.from(jwk.n!, 'base64url')), e)), null, `RSA-${modulusLength}`)
      }
    })
    it('node:crypto ECDSA keys on every curve, which also checks the curve constants', () => {
      for (let i = 0; i < 5; i++) {
        for (const curve of ['P-256', 'P-384', 'P-521'] as const) assert.equal(checkHostKey(ecdsaKey(curve).key), null, curve)
      }
    })
    it('node:crypto Ed25519 keys', () => {
      for (let i = 0; i < 20; i++) {
        const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url')
        assert.equal(checkHostKey(ed25519Blob(raw)), null)
      }
    })
    it("badkeys' rsa-ok.key", () => assert.equal(checkHostKey(rsa(modulusOfPem(BADKEYS_OK))), null))
    it('moduli that only the older per-prime ROCA detector flags (crocs-muni fake moduli)', () => {
      for (const n of ROCA_FAKES) assert.equal(checkHostKey(rsa(n)), null)
    })
    it('primes 2^200 apart, beyond badkeys’ 100 Fermat steps', () => {
      const p = randomPrime(1024)
      const [q] = closePrimes(1024, 1)
      const far = p + (1n << 700n) + (q & ((1n << 100n) - 1n))
      let q2 = far | 1n
      while (!checkPrimeSync(q2)) q2 += 2n
      assert.equal(checkHostKey(rsa(p * q2)), null)
    })
  })

  it('throws KeyBlobError when the blob is not of the given type', () => {
    const key = sshKeygen('ed25519')
    assert.throws(() => checkHostKey({ type: 'ssh-rsa', blob: key.blob }), KeyBlobError)
  })
})
