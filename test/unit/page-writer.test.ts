import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { SITE_MARKER, writePage, writeSite } from '../../src/cli/page-writer.js'
import { OperationalError, UserError } from '../../src/domain/errors.js'

/* Pages are written whole or not at all: a site into a staging directory renamed into place, a page
 * into a temporary file renamed over its target; a failure leaves what was there before and no
 * staging left behind. */

const work = mkdtempSync(join(tmpdir(), 'hostkeys-page-writer-'))
after(() => rmSync(work, { recursive: true, force: true }))
const at = new Date('2026-11-30T12:00:00Z')

describe('writeSite', () => {
  it('creates the directory with every file and the marker; a second write replaces it whole', async () => {
    const out = join(work, 'site')
    await writeSite(out, [{ path: 'index.html', content: 'one' }, { path: 'hosts/a.html', content: 'a' }], { force: false, at })
    assert.deepEqual(readdirSync(out).sort(), [SITE_MARKER, 'hosts', 'index.html'])
    await writeSite(out, [{ path: 'index.html', content: 'two' }], { force: false, at })
    assert.deepEqual(readdirSync(out).sort(), [SITE_MARKER, 'index.html'])
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'two')
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('hostkeys-')), [], 'no staging left')
  })

  it('a failure half way leaves the previous site untouched and no staging directory', async () => {
    const out = join(work, 'kept')
    await writeSite(out, [{ path: 'index.html', content: 'old' }], { force: false, at })
    // A path that would escape the site: refused when its turn comes, after other files were written.
    await assert.rejects(writeSite(out, [{ path: 'index.html', content: 'new' }, { path: '../escape.html', content: 'x' }], { force: false, at }), /outside/)
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'old')
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('hostkeys-') || f === 'escape.html'), [])
  })

  it('the restore an interrupt runs puts the previous site back when it was caught between the two renames', async () => {
    const out = join(work, 'interrupted')
    await writeSite(out, [{ path: 'index.html', content: 'previous' }], { force: false, at })
    let restore: (() => Promise<void>) | null = null
    let staging = ''
    await writeSite(out, [{ path: 'index.html', content: 'next' }], {
      force: false,
      at,
      onStaging: (r) => {
        restore = r
        staging = join(work, readdirSync(work).find((f) => f.startsWith('.interrupted.hostkeys-'))!)
      },
    })
    // After a whole write, restore changes nothing.
    await restore!()
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'next')
    // The window between "previous site aside" and "new site in place", as an interrupt could leave it.
    renameSync(out, `${staging}-previous`)
    mkdirSync(staging)
    await restore!()
    assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), 'next')
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('.interrupted.hostkeys-')), [])
  })

  it('refuses a non-empty directory it did not write unless forced, and a file', async () => {
    const foreign = join(work, 'foreign')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'notes.txt'), 'mine')
    await assert.rejects(writeSite(foreign, [{ path: 'index.html', content: 'x' }], { force: false, at }), (e) => e instanceof UserError && /--force/.test(e.message))
    assert.deepEqual(readdirSync(foreign), ['notes.txt'])
    const empty = join(work, 'empty')
    mkdirSync(empty)
    await writeSite(empty, [{ path: 'index.html', content: 'x' }], { force: false, at })
    await writeSite(foreign, [{ path: 'index.html', content: 'x' }], { force: true, at })
    assert.deepEqual(readdirSync(foreign).sort(), [SITE_MARKER, 'index.html'])
    await assert.rejects(writeSite(join(foreign, 'index.html'), [], { force: true, at }), (e) => e instanceof UserError && /is a file/.test(e.message))
  })
})

describe('writePage', () => {
  it('replaces the file in one rename; a directory or a missing parent is a user error', async () => {
    const file = join(work, 'report.html')
    writeFileSync(file, 'old')
    await writePage(file, 'new')
    assert.equal(readFileSync(file, 'utf8'), 'new')
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('.report.html')), [])
    await assert.rejects(writePage(work, 'x'), (e) => e instanceof UserError && /is a directory/.test(e.message))
    await assert.rejects(writePage(join(work, 'missing', 'r.html'), 'x'), (e) => e instanceof UserError && /does not exist/.test(e.message))
  })

  it('a write that fails is an operational error that says where', async () => {
    // /proc takes no new files, even from root: the temporary file cannot be made.
    await assert.rejects(writePage('/proc/hostkeys-report.html', 'x'), (e) => e instanceof OperationalError && e.message.includes('/proc/hostkeys-report.html'))
  })
})
