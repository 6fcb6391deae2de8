/** Synthetic RSA moduli that pass every known-bad key check (see sieved-moduli.mjs). */
export function sievedModuli(count: number): Buffer[]
export function sievedModuliInOrder(): Generator<Buffer, never>
