import type { Writable } from 'node:stream'
import type { ScanProgress } from '../app/scan-fleet.js'

/** A one-line progress display on a terminal, redrawn at most ten times a second. */
export function progressLine(stream: Writable): { update(progress: ScanProgress): void; clear(): void } {
  let last = 0
  let shown = false
  return {
    update(progress) {
      const now = Date.now()
      if (now - last < 100 && progress.done < progress.total) return
      last = now
      shown = true
      const percent = progress.total > 0 ? Math.floor((progress.done / progress.total) * 100) : 100
      stream.write(
        `\r\x1b[2Kscanning: ${progress.done}/${progress.total} hosts (${percent}%), ${progress.keys} keys, ${progress.failed} failed`,
      )
    },
    clear() {
      if (shown) stream.write('\r\x1b[2K')
      shown = false
    },
  }
}
