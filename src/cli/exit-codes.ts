/* The exit codes, in one module the commands and main.ts both import (main.ts says what each means). */

export const EXIT_OK = 0
export const EXIT_FINDINGS = 1
export const EXIT_ERROR = 2
