import { setFlagsFromString } from 'node:v8'

/* wasm tier : V8 compiles WebAssembly twice. Liftoff, its baseline compiler, turns the whole module
 *             into machine code at once (PGlite's 9 MB pglite.wasm in ~40 ms); TurboFan, the
 *             optimising one, then recompiles the functions that run hot, on background threads
 *             (dynamic tiering, V8's default). The flag is read when a module is compiled, which for
 *             PGlite is inside PGlite.create.
 *
 * A lookup runs PostgreSQL for a few hundred milliseconds, and what it runs hot (start-up: catalog
 * reads, relcache init) is exactly what TurboFan picks: the process then spends its life compiling
 * code it will barely use, and exits only after those background jobs wind down. Measured on a
 * 1,000-host store (`hostkeys lookup`, medians of 7, alternating): 0.72 s, 200 MB peak RSS by
 * default; 0.43 s, 115 MB with Liftoff only (TurboFan's compile zones were the ~85 MB).
 * A long run is the opposite case. Recording a synthetic scan (bench/store-scan-child.mjs, a second
 * scan of a store of as many hosts, TurboFan vs Liftoff only): 200 hosts 1.6 s, 234 MB vs 0.95 s,
 * 144 MB; 1,000 hosts 2.1 s, 240 MB vs 1.4 s, 176 MB; 5,000 hosts 5.2–6.4 s, 260 MB vs
 * 5.1–5.5 s, 200 MB (even); 20,000 hosts 65 s / 11 s (first / second scan) vs 82 s / 18 s. */

/** Targets from which a scan keeps TurboFan: well below the break-even (~5,000), so that a large
 * scan is never slower than before; every smaller scan gains. */
export const LONG_RUNNING_SCAN_TARGETS = 2_000

/**
 * Chooses how V8 compiles the embedded PostgreSQL about to be started: Liftoff only for a short
 * command, both tiers for a long one. Process-wide, like every V8 flag; set before each
 * PGlite.create so two opens in one process (tests) each get what they ask for.
 */
export function chooseWasmTiers(longRunning: boolean): void {
  setFlagsFromString(longRunning ? '--no-liftoff-only' : '--liftoff-only')
}
