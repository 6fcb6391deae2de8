import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { inflateSync } from 'node:zlib'
import { pathToFileURL } from 'node:url'
import { HtmlValidate } from 'html-validate'

/* Checks of the pages hostkeys writes, as their readers meet them:
 *   html-validate : the markup against the HTML standard (its "recommended" rules)
 *   chromium      : Debian's headless Chromium builds the DOM and paints a screenshot, from file://
 *   png           : the screenshot read back (PNG, ISO/IEC 15948: IHDR, IDAT through zlib, per-row
 *                   filters undone) to tell its size and whether anything but background was painted */

export const CHROMIUM = '/usr/bin/chromium'

const validator = new HtmlValidate({ extends: ['html-validate:recommended'] })

/** html-validate's complaints about a document, one line each (`line:col rule message`); empty when valid. */
export async function htmlProblems(html: string, name = 'page.html'): Promise<string[]> {
  const report = await validator.validateString(html, name)
  return report.results.flatMap((r) => r.messages.map((m) => `${name}:${m.line}:${m.column} ${m.ruleId} ${m.message}`))
}

/** For describe(..., { skip }): the reason when Chromium is missing, except under CI, where that fails. */
export function skipUnlessChromium(): string | false {
  if (existsSync(CHROMIUM)) return false
  const reason = `page tests need ${CHROMIUM} (apt-get install chromium)`
  if (process.env.CI) throw new Error(`${reason}; CI is set, so this is a failure, not a skip`)
  process.stderr.write(`\n*** SKIPPING Chromium page tests: ${reason}\n\n`)
  return reason
}

function runChromium(args: readonly string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // --no-sandbox: tests run as root in a container; --disable-gpu: no display. Nothing here goes
    // to the network: every page is a file:// URL with no external resource.
    const child = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: process.env.HOME ?? '/tmp' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Opens the page once: writes a screenshot of it at width x height to `png` and returns the DOM as
 * Chromium built it (`--screenshot` and `--dump-dom` in one launch).
 */
export async function openInChromium(file: string, png: string, size: { width: number; height: number }): Promise<string> {
  const result = await runChromium([`--screenshot=${png}`, `--window-size=${size.width},${size.height}`, '--dump-dom', pathToFileURL(file).href])
  if (result.code !== 0 || !existsSync(png) || !result.stdout.includes('<html')) {
    throw new Error(`chromium on ${file} failed (exit ${result.code}): ${result.stderr.slice(-1500)}`)
  }
  return result.stdout
}

export interface PngFacts {
  readonly width: number
  readonly height: number
  /** Share of pixels that differ from the top-left pixel (the page background). */
  readonly inked: number
  /** Distinct colours among the pixels (capped at 10,000). */
  readonly colours: number
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** Size and ink of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export async function readPng(file: string): Promise<PngFacts> {
  const data = await readFile(file)
  if (data.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${file} is not a PNG`)
  let offset = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (offset < data.length) {
    const length = data.readUInt32BE(offset)
    const type = data.subarray(offset + 4, offset + 8).toString('latin1')
    const body = data.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const [depth, colourType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]]
      if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) throw new Error(`${file}: unexpected PNG format (depth ${depth}, colour ${colourType}, interlace ${interlace})`)
      channels = colourType === 6 ? 4 : 3
    } else if (type === 'IDAT') idat.push(body)
    offset += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0
      const value = row[i]!
      const predicted = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c)
      pixels[y * stride + i] = (value + predicted) & 0xff
    }
  }
  const background = pixels.subarray(0, 3).toString('hex')
  let inked = 0
  const colours = new Set<string>()
  for (let p = 0; p < width * height; p++) {
    const colour = pixels.subarray(p * channels, p * channels + 3).toString('hex')
    if (colour !== background) inked++
    if (colours.size < 10_000) colours.add(colour)
  }
  return { width, height, inked: inked / (width * height), colours: colours.size }
}
