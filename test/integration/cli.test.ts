import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { jsonLines, runCli } from '../helpers/cli'
import { tempDir } from '../helpers/tmp'

const tmp = tempDir('lineup-cli-')
afterAll(() => tmp.dispose())
const emptyFolder = join(tmp.path, 'empty-folder')
mkdirSync(emptyFolder)

describe('lineup (the command line)', () => {
  it('--help lists the commands', async () => {
    const run = await runCli(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^lineup \d+\.\d+\.\d+: offline person re-identification/)
    expect(run.stdout).toMatch(/^ {2}import +import a folder of crops into a library$/m)
    for (const name of ['serve', 'metrics', 'loss'])
      expect(run.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'))
  })

  it('an unknown command exits 2 and lists the known ones', async () => {
    const run = await runCli(['improt', 'x'])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    const listed = /unknown command "improt"; commands: (.*)$/m.exec(run.stderr)?.[1]?.split(', ')
    expect(listed?.sort()).toEqual([
      'audit',
      'embed',
      'eval',
      'import',
      'loss',
      'metrics',
      'model',
      'report',
      'search',
      'serve',
      'train',
    ])
  })

  it('import --help shows its options', async () => {
    const run = await runCli(['import', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^lineup import <folder> --db <library-file>/)
    expect(run.stdout).toMatch(/--layout NAME/)
  })
})

describe('lineup import: usage errors exit 2 and say what is wrong', () => {
  it('without --db', async () => {
    const run = await runCli(['import', emptyFolder])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/--db <library-file> is required/)
    expect(run.stderr).toMatch(/Usage|lineup import <folder>/) // the usage follows
  })

  it('without a folder', async () => {
    const run = await runCli(['import', '--db', join(tmp.path, 'x.lineup')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/give the folder to import/)
  })

  it('with a bad --layout, naming the allowed values', async () => {
    const run = await runCli(['import', emptyFolder, '--db', join(tmp.path, 'x.lineup'), '--layout', 'duke'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/--layout must be one of auto, market1501, generic \(got "duke"\)/)
  })

  it('with an unknown option, naming it; with --json also as a JSON error line', async () => {
    const run = await runCli(['import', emptyFolder, '--db', join(tmp.path, 'x.lineup'), '--fast', '--json'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/--fast/)
    expect(jsonLines(run.stdout)).toEqual([
      { error: { kind: 'invalid-input', message: expect.stringMatching(/--fast/) } },
    ])
  })
})

describe('lineup import: errors exit 1 with a message to act on', () => {
  it('a missing folder, creating no library file', async () => {
    const missing = join(tmp.path, 'no-such-folder')
    const db = join(tmp.path, 'a.lineup')
    const run = await runCli(['import', missing, '--db', db])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain(`folder not found: ${missing}`)
    expect(existsSync(db)).toBe(false)
  })

  it('a file given as the folder', async () => {
    const file = join(tmp.path, 'crop.jpg')
    writeFileSync(file, 'x')
    const run = await runCli(['import', file, '--db', join(tmp.path, 'd.lineup')])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/crop\.jpg is a file, not a folder. Give the folder that holds the crops/)
  })

  it('a missing folder, with --json: one error line {"error":{kind,message}}', async () => {
    const missing = join(tmp.path, 'no-such-folder')
    const run = await runCli(['import', missing, '--db', join(tmp.path, 'b.lineup'), '--json'])
    expect(run.code).toBe(1)
    expect(jsonLines(run.stdout)).toEqual([
      { error: { kind: 'not-found', message: expect.stringContaining(`folder not found: ${missing}`) } },
    ])
  })

  it('a library file that is not a library: refused, and left unchanged', async () => {
    const notLibrary = join(tmp.path, 'evidence.xlsx')
    writeFileSync(notLibrary, 'Exhibit list, not a database.\n'.repeat(100))
    const before = readFileSync(notLibrary)
    const run = await runCli(['import', emptyFolder, '--db', notLibrary, '--json'])
    expect(run.code).toBe(1)
    expect(jsonLines(run.stdout)).toEqual([
      {
        error: {
          kind: 'database',
          message: expect.stringMatching(/evidence\.xlsx is not a Lineup library .*Choose another file/),
        },
      },
    ])
    expect(readFileSync(notLibrary).equals(before)).toBe(true)
    expect(existsSync(`${notLibrary}-wal`)).toBe(false)
  })

  it('an empty folder imports nothing and exits 0', async () => {
    const run = await runCli(['import', emptyFolder, '--db', join(tmp.path, 'c.lineup'), '--json'])
    expect(run.code).toBe(0)
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ imported: 0, duplicates: 0, skipped: [], crops: 0 })
  })
})
