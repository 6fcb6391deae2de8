import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/* Runs a command under GNU time and returns its output with wall time, CPU and peak RSS. */

export const GNU_TIME = '/usr/bin/time'

export interface Measured {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
  readonly wallSeconds: number
  readonly cpuSeconds: number
  readonly peakRssMb: number
}

export function requireGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`the benchmark needs GNU time at ${GNU_TIME} (apt-get install time)`)
}

export function measure(command: string, args: readonly string[]): Promise<Measured> {
  const report = path.join(tmpdir(), `hostkeys-bench-${process.pid}-${Math.random().toString(36).slice(2)}`)
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', report, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const fields = readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
      rmSync(report, { force: true })
      const [wall, user, system, rssKb] = fields as [number, number, number, number]
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? -1,
        wallSeconds: wall,
        cpuSeconds: user + system,
        peakRssMb: rssKb / 1024,
      })
    })
  })
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
