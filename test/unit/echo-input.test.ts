import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { ECHO_LIMIT, echoInput, echoQuoted, oneLine } from '../../src/domain/echo.js'
import { openInventory } from '../../src/inventory/inventory.js'
import { parseInventoryLine } from '../../src/inventory/inventory-line.js'
import { parseTargetSpec } from '../../src/inventory/target-spec.js'
import { parsePortOption } from '../../src/cli/options.js'

/* Issue 9, item 6: input quoted back in a message is escaped and cut, wherever it is quoted. */

const TITLE = '\x1b]0;pwned\x07'

describe('echoInput', () => {
  const table: [string, string][] = [
    ['web1.example.com', 'web1.example.com'],
    [TITLE, '\\x1b]0;pwned\\x07'],
    ['a\tb\r\nc\x00\x7f\x9b', 'a\\x09b\\x0d\\x0ac\\x00\\x7f\\x9b'],
    ['back\\x1bslash', 'back\\\\x1bslash'],
    ['rtl\u202eevil\u2066', 'rtl\\u{202e}evil\\u{2066}'],
    ['naïve', 'naïve'],
  ]
  for (const [input, shown] of table) it(JSON.stringify(input), () => assert.equal(echoInput(input), shown))

  it('cuts long input and says how much was left out', () => {
    const shown = echoInput('x'.repeat(10_000_000))
    assert.equal(shown, `${'x'.repeat(ECHO_LIMIT)}… (${10_000_000 - ECHO_LIMIT} more characters)`)
  })
  it('never cuts a surrogate pair in half', () => {
    const shown = echoInput(`${'a'.repeat(ECHO_LIMIT - 1)}😀tail`)
    assert.ok(shown.startsWith(`${'a'.repeat(ECHO_LIMIT - 1)}…`), shown)
  })
  it('echoQuoted quotes as JSON, escapes what JSON leaves, and cuts', () => {
    assert.equal(echoQuoted(`a\tb${TITLE}\u202e`), '"a\\tb\\u001b]0;pwned\\u0007\\u{202e}"')
    assert.equal(echoQuoted('x'.repeat(1000), 10), `"${'x'.repeat(10)}"… (990 more characters)`)
  })
  it('oneLine escapes control characters of a whole message but keeps its backslashes', () => {
    assert.equal(oneLine(`bad '\\x1b' and ${TITLE}`), "bad '\\x1b' and \\x1b]0;pwned\\x07")
  })
})

/** No raw control character, and short: what reaches a terminal. */
function assertSafe(message: string): void {
  assert.doesNotMatch(message, /[\x00-\x1f\x7f]/, message)
  assert.ok(message.length < 1000, `${message.length} characters`)
}

describe('echoed input in messages', () => {
  const huge = `web${'x'.repeat(10 * 1024 * 1024)}`
  it('an inventory line of 10 MB, and one that sets the terminal title', async () => {
    for (const line of [huge, `host${TITLE}`, `10.0.0.1 name${TITLE}`, `[${TITLE}]:22`, `10.0.0.0/${TITLE}`, `${TITLE}/8`]) {
      await assert.rejects(openInventory({ specs: [], files: ['-'], defaultPort: 22, stdin: Readable.from([`${line}\n`]) }), (e: Error) => {
        assertSafe(e.message)
        assert.match(e.message, /^<stdin>:1: /)
        return true
      })
    }
  })
  it('a target on the command line, and a flag value', () => {
    for (const text of [huge, `h${TITLE}:22`, `${TITLE}:x`, `a:${TITLE}`]) assertSafe(String(parseTargetSpec(text)))
    assertSafe(String(parseInventoryLine(`10.0.0.1 ${huge}`, 22)))
    assert.throws(() => parsePortOption(`${TITLE}${huge}`), (e: Error) => (assertSafe(e.message), true))
  })
})
