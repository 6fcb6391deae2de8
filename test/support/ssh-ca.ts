/* OpenSSH certificates made by OpenSSH's own ssh-keygen, for unit tests of the certificate parser
 * and for integration tests where a real sshd serves one (`HostCertificate PATH` beside its
 * `HostKey`).
 *
 * CA        : a key pair made by makeCa; ssh-keygen -s signs with its private half
 * listing   : what `ssh-keygen -L -f KEY-cert.pub` prints, parsed into fields, run with TZ=UTC so
 *             its times compare with Date.toISOString()
 *
 * Everything happens in a directory the caller owns (mkdtempSync under os.tmpdir(), removed after). */

import { copyFileSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { KEYGEN_ARGS, SSH_KEYGEN_PATH, type SshdKeyType } from './sshd.js'

export interface KeyPairFiles {
  readonly type: SshdKeyType
  readonly privateKey: string
  /** Path of the `.pub` file. */
  readonly publicKey: string
  /** Its one line, `TYPE BASE64 COMMENT`. */
  readonly publicLine: string
  readonly blob: Buffer
}

export interface SignOptions {
  /** Key ID (-I). */
  readonly id: string
  /** Principals (-n); none (the default) makes a certificate valid for any name. */
  readonly principals?: readonly string[]
  /** Validity interval (-V), e.g. '-1d:+5d' or 'always:forever'; ssh-keygen's default is forever. */
  readonly validity?: string
  /** Serial (-z), up to 18446744073709551615. */
  readonly serial?: bigint | number | string
  /** A user certificate instead of a host certificate (no -h). */
  readonly user?: boolean
  /** With an RSA CA, the signature algorithm (-t); ssh-keygen's default is rsa-sha2-512. */
  readonly signatureAlgorithm?: 'ssh-rsa' | 'rsa-sha2-256' | 'rsa-sha2-512'
  /** Certificate options (-O), e.g. 'force-command=/bin/true', 'extension:name=value'. */
  readonly options?: readonly string[]
  /** Where the certificate goes; must end in '-cert.pub'. Default: beside the key, as ssh-keygen
   * puts it (KEY.pub -> KEY-cert.pub), so a second signing of the same key replaces the first. */
  readonly certPath?: string
}

export interface SignedCertificate {
  readonly path: string
  /** The `-cert.pub` line, `CERTTYPE BASE64 COMMENT`. */
  readonly line: string
  readonly blob: Buffer
}

function keygen(args: readonly string[], env?: NodeJS.ProcessEnv): string {
  const result = spawnSync(SSH_KEYGEN_PATH, args, { encoding: 'utf8', env: env ?? process.env })
  if (result.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed: ${result.stderr || result.error?.message}`)
  return result.stdout
}

function blobOfLine(line: string): Buffer {
  return Buffer.from(line.trim().split(' ')[1]!, 'base64')
}

/** A new key pair `dir/name` and `dir/name.pub` (ssh-keygen -N ''). */
export function makeKey(dir: string, type: SshdKeyType, name: string = `key_${type}`): KeyPairFiles {
  const privateKey = path.join(dir, name)
  keygen([...KEYGEN_ARGS[type], '-q', '-N', '', '-C', `hostkeys-test-${name}`, '-f', privateKey])
  const publicKey = `${privateKey}.pub`
  const publicLine = readFileSync(publicKey, 'utf8').trim()
  return { type, privateKey, publicKey, publicLine, blob: blobOfLine(publicLine) }
}

/** A new certificate authority: a key pair whose private half signs certificates. */
export function makeCa(dir: string, type: SshdKeyType, name: string = `ca_${type}`): KeyPairFiles {
  return makeKey(dir, type, name)
}

/** True when this ssh-keygen still makes DSA keys (OpenSSH 9.8 disabled DSA at build time by default, 10.0 removed it). */
export function dsaKeysSupported(dir: string): boolean {
  const probe = path.join(dir, 'dsa_probe')
  return spawnSync(SSH_KEYGEN_PATH, ['-t', 'dsa', '-q', '-N', '', '-f', probe], { stdio: 'ignore' }).status === 0
}

/** Signs the public key at `pubPath` with the CA (`ssh-keygen -s CA -I id [-h] ...`); a host certificate unless `user`. */
export function signHostKey(ca: KeyPairFiles, pubPath: string, options: SignOptions): SignedCertificate {
  let keyPath = pubPath
  if (options.certPath !== undefined) {
    if (!options.certPath.endsWith('-cert.pub')) throw new Error(`certPath '${options.certPath}' must end in -cert.pub`)
    keyPath = `${options.certPath.slice(0, -'-cert.pub'.length)}.pub`
    if (path.resolve(keyPath) !== path.resolve(pubPath)) copyFileSync(pubPath, keyPath)
  }
  const args = ['-q', '-s', ca.privateKey, '-I', options.id]
  if (!options.user) args.push('-h')
  if (options.principals && options.principals.length > 0) args.push('-n', options.principals.join(','))
  if (options.validity !== undefined) args.push('-V', options.validity)
  if (options.serial !== undefined) args.push('-z', String(options.serial))
  if (options.signatureAlgorithm !== undefined) args.push('-t', options.signatureAlgorithm)
  for (const option of options.options ?? []) args.push('-O', option)
  keygen([...args, keyPath])
  const certPath = `${keyPath.replace(/\.pub$/, '')}-cert.pub`
  const line = readFileSync(certPath, 'utf8').trim()
  return { path: certPath, line, blob: blobOfLine(line) }
}

/** `SHA256:...` of a public key or certificate file, as `ssh-keygen -l -f` prints it. */
export function keygenFingerprint(pubPath: string): string {
  return keygen(['-l', '-E', 'sha256', '-f', pubPath]).split(' ')[1]!
}

export interface CertificateListing {
  /** 'ssh-ed25519-cert-v01@openssh.com', from `Type: ... host certificate`. */
  readonly certType: string
  readonly kind: 'host' | 'user'
  /** `Public key: ED25519-CERT SHA256:...`: the certified key's fingerprint. */
  readonly publicKeyFingerprint: string
  /** `Signing CA: ED25519 SHA256:... (using ssh-ed25519)`. */
  readonly caLabel: string
  readonly caFingerprint: string
  readonly signatureAlgorithm: string
  /** Inside the quotes of `Key ID: "..."`. */
  readonly keyId: string
  readonly serial: string
  /** After `Valid: `: 'forever', 'from T to T', 'after T', 'before T' (T in UTC, 2026-01-02T03:04:05). */
  readonly valid: string
  readonly principals: readonly string[]
  /** Each option line as printed: `name` for a flag, `name value` for force-command and source-address. */
  readonly criticalOptions: readonly string[]
  readonly extensions: readonly string[]
}

/** `ssh-keygen -L -f CERT` parsed into its fields, times in UTC. */
export function listCertificate(certPath: string): CertificateListing {
  const lines = keygen(['-L', '-f', certPath], { ...process.env, TZ: 'UTC' }).split('\n')
  const field = (name: string): string => {
    const line = lines.find((l) => l.startsWith(`        ${name}:`))
    if (line === undefined) throw new Error(`ssh-keygen -L printed no '${name}:' line`)
    return line.slice(`        ${name}:`.length).trim()
  }
  const list = (name: string): string[] => {
    const start = lines.findIndex((l) => l.startsWith(`        ${name}:`))
    if (field(name) === '(none)') return []
    const items: string[] = []
    for (let i = start + 1; i < lines.length && lines[i]!.startsWith('                '); i++) items.push(lines[i]!.slice(16))
    return items
  }
  const type = /^(\S+) (host|user) certificate$/.exec(field('Type'))
  const signing = /^(\S+) (SHA256:\S+) \(using (\S+)\)$/.exec(field('Signing CA'))
  const keyId = /^"(.*)"$/.exec(field('Key ID'))
  if (!type || !signing || !keyId) throw new Error(`unexpected ssh-keygen -L output:\n${lines.join('\n')}`)
  return {
    certType: type[1]!,
    kind: type[2] as 'host' | 'user',
    publicKeyFingerprint: field('Public key').split(' ')[1]!,
    caLabel: signing[1]!,
    caFingerprint: signing[2]!,
    signatureAlgorithm: signing[3]!,
    keyId: keyId[1]!,
    serial: field('Serial'),
    valid: field('Valid'),
    principals: list('Principals'),
    criticalOptions: list('Critical Options'),
    extensions: list('Extensions'),
  }
}
