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
 * A scan is the opposite case: 20,000 hosts recorded in 65 s / 11 s (first / second scan) with
 * TurboFan, 82 s / 18 s with Liftoff only. So a command that writes in bulk keeps both tiers. */

/**
 * Chooses how V8 compiles the embedded PostgreSQL about to be started: Liftoff only for a short
 * command, both tiers for a bulk writer. Process-wide, like every V8 flag; set before each
 * PGlite.create so two opens in one process (tests) each get what they ask for.
 */
export function chooseWasmTiers(bulk: boolean): void {
  setFlagsFromString(bulk ? '--no-liftoff-only' : '--liftoff-only')
}
