import { open } from 'node:fs/promises'
import { parsePolicy, PolicyError, type AlgorithmPolicy } from '../analysis/policy.js'
import { echoInput } from '../domain/echo.js'

/* `--policy FILE`: read whole and parsed before the first connection, so a typo on line 12 stops the
 * scan before it starts. A policy is a few dozen lines; more than MAX_POLICY_BYTES is the wrong file
 * (or /dev/zero), refused rather than read into memory. */

export const MAX_POLICY_BYTES = 1 << 20

/** Reads and parses a policy file; every failure is a PolicyError naming the file. */
export async function readPolicyFile(file: string): Promise<AlgorithmPolicy> {
  const { text } = await readPolicySource(file)
  return parsePolicy(text, file)
}

/** A policy file's text, checked by parsing it: what a distributed run keeps for its judge, which may
 * run on a machine without the file. */
export async function readPolicySource(file: string): Promise<{ file: string; text: string }> {
  let bytes: Buffer
  try {
    const handle = await open(file, 'r')
    try {
      const buffer = Buffer.alloc(MAX_POLICY_BYTES + 1)
      let length = 0
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
        if (bytesRead === 0) break
        length += bytesRead
      }
      bytes = buffer.subarray(0, length)
    } finally {
      await handle.close()
    }
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
    throw new PolicyError(`cannot read policy file ${echoInput(file)}: ${why}`, { cause: e })
  }
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError(`policy file ${echoInput(file)} is larger than ${MAX_POLICY_BYTES} bytes: not a policy`)
  const text = bytes.toString('utf8')
  parsePolicy(text, file)
  return { file, text }
}
