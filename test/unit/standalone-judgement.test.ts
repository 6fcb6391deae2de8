import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { StandaloneJudgement } from '../../src/analysis/judge-without-history.js'
import type { HostKey } from '../../src/domain/host-key.js'
import type { HostStatus, Observation } from '../../src/domain/observation.js'
import { describeKey } from '../../src/domain/fingerprint/key-blob.js'
import { OPENSSH_92_DEFAULT } from '../support/kexinit-fixtures.js'
import { observationOf } from '../support/synthetic-keys.js'

function fixture(name: string): HostKey {
  const line = readFileSync(new URL(`../fixtures/keys/${name}.pub`, import.meta.url), 'utf8')
  return describeKey(Buffer.from(line.split(' ')[1]!, 'base64'))
}

/** An observation of `host` at `address` (observationOf, the tests' one builder of observations). */
function seen(host: string, address: string, keys: HostKey[], status: HostStatus = 'ok'): Observation {
  return observationOf(host, keys, { address, status })
}

/** An observation of a host that sent its banner and KEXINIT and then no key before the deadline. */
function greeted(host: string, address: string): Observation {
  return { ...seen(host, address, [], 'timeout'), banner: 'SSH-2.0-OpenSSH_9.2p1', offered: OPENSSH_92_DEFAULT }
}

describe('judging a scan without history (--no-store)', () => {
  const ed25519 = fixture('ed25519')
  const rsa1024 = fixture('rsa1024')
  const dsa = fixture('dsa')
  const cases: [string, Observation[], string[]][] = [
    ['distinct keys: nothing to say', [seen('a', '10.0.0.1', [ed25519]), seen('b', '10.0.0.2', [fixture('ecdsa')])], []],
    ['two hosts, one key: a duplicate naming both', [seen('a', '10.0.0.1', [ed25519]), seen('b', '10.0.0.2', [ed25519])], ['duplicate_key a,b']],
    ['one host on two addresses is one host', [seen('a', '10.0.0.1', [ed25519]), seen('a', '::1', [ed25519])], []],
    ['weak keys: short RSA and any DSA, once per host', [seen('a', '10.0.0.1', [rsa1024, dsa]), seen('a', '::1', [rsa1024])], ['weak_key a', 'weak_key a']],
    ['an unreached host is not judged', [seen('a', '10.0.0.1', [ed25519]), seen('b', '10.0.0.2', [], 'timeout')], []],
    ['a host that greeted and gave no key is keys_withheld', [seen('a', '10.0.0.1', [ed25519]), greeted('b', '10.0.0.2')], ['keys_withheld b']],
    ['not when another address of the host answered, before or after', [greeted('a', '10.0.0.1'), seen('a', '::1', [ed25519]), greeted('a', '10.0.0.3')], []],
  ]
  for (const [name, observations, expected] of cases) {
    it(name, () => {
      const judgement = new StandaloneJudgement()
      for (const o of observations) judgement.observe(o)
      assert.deepEqual(
        judgement.findings().map((f) => (f.kind === 'duplicate_key' ? `${f.kind} ${f.hosts.join(',')}` : `${f.kind} ${f.host}`)),
        expected,
      )
    })
  }
})
