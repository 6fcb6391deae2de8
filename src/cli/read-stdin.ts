import type { Readable } from 'node:stream'
import { UserError } from '../domain/errors.js'

/** A statement or key list pasted on stdin is a few lines; anything far larger is a mistake (a
 * binary piped in), refused rather than held in memory. */
const MAX_STDIN_BYTES = 1 << 20

/** The whole of stdin as UTF-8 text, at most 1 MiB. */
export async function readAll(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buffer.length
    if (size > MAX_STDIN_BYTES) throw new UserError(`stdin: more than ${MAX_STDIN_BYTES} bytes; expected a few key lines`)
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
