import { PassThrough } from 'node:stream'

/** stdout and stderr for running the CLI in process, and what was written to them. */
export function capturedStreams(): { stdout: PassThrough; stderr: PassThrough; written(): { stdout: string; stderr: string } } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d) => (out += d))
  stderr.on('data', (d) => (err += d))
  return { stdout, stderr, written: () => ({ stdout: out, stderr: err }) }
}
