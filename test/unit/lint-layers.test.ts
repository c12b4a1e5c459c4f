import { ESLint } from 'eslint'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../helpers/paths'

/** The layer rules of STYLE.md §1 and §9, as eslint.config.js enforces them. */
const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-globals'])

let eslint: ESLint
beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot })
})

/** Lints `code` as if it were the (not existing) file `rel`; returns the layer-rule messages. */
async function layerErrors(rel: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, rel) })
  expect(result!.messages.filter((m) => m.fatal)).toEqual([])
  return result!.messages
    .filter((m) => m.ruleId && LAYER_RULES.has(m.ruleId) && m.severity === 2)
    .map((m) => m.message)
}

describe('layer rules', () => {
  describe('src-shared knows nothing of its hosts', () => {
    it.each([
      [
        'a Node built-in',
        `import fs from 'node:fs'\nexport const x = fs`,
        /src-shared must not import Node built-ins/,
      ],
      ['a bare Node built-in', `import path from 'path'\nexport const x = path`, /Node built-ins/],
      ['electron', `import { app } from 'electron'\nexport const x = app`, /must not import electron/],
      ['SQLite', `import Database from 'better-sqlite3'\nexport const x = Database`, /native or ML/],
      ['onnxruntime', `import * as ort from 'onnxruntime-node'\nexport const x = ort`, /native or ML/],
      ['TensorFlow.js', `import * as tf from '@tensorflow/tfjs-node'\nexport const x = tf`, /ML packages/],
      [
        'the main process',
        `import { x } from '../src-main/engine/service'\nexport const y = x`,
        /depends on nothing/,
      ],
    ])('refuses %s', async (_what, code, message) => {
      // onnxruntime trips both the package list and the ML pattern: one matching message is enough.
      expect(await layerErrors('src-shared/x.ts', code)).toContainEqual(expect.stringMatching(message))
    })

    it.each([
      ['window', 'export const x = window.foo'],
      ['document', 'export const x = document.title'],
      ['process', 'export const x = process.env.HOME'],
      ['Buffer', 'export const x = Buffer.from("a")'],
    ])('refuses the host global %s', async (name, code) => {
      const errors = await layerErrors('src-shared/x.ts', code)
      expect(errors).toEqual([expect.stringContaining(`'${name}'`)])
    })

    it('allows plain TypeScript', async () => {
      expect(
        await layerErrors('src-shared/x.ts', `export const sum = (a: number, b: number) => a + b`),
      ).toEqual([])
    })
  })

  describe('src-main/engine is plain Node', () => {
    it('refuses electron', async () => {
      const errors = await layerErrors(
        'src-main/engine/x.ts',
        `import { app } from 'electron'\nexport const x = app`,
      )
      expect(errors).toEqual([expect.stringMatching(/no electron import below it/)])
    })

    it('refuses its hosts (cli, server, electron folders)', async () => {
      for (const host of ['../cli/main', '../server/http', '../electron/main']) {
        const errors = await layerErrors(
          'src-main/engine/x.ts',
          `import { x } from '${host}'\nexport const y = x`,
        )
        expect(errors).toEqual([expect.stringMatching(/engine must not depend on its hosts/)])
      }
    })

    it('allows Node built-ins, SQLite and sharp', async () => {
      const code = `import fs from 'node:fs'\nimport Database from 'better-sqlite3'\nimport sharp from 'sharp'\nexport const x = [fs, Database, sharp]`
      expect(await layerErrors('src-main/engine/x.ts', code)).toEqual([])
    })
  })

  describe('one module per native runtime', () => {
    const ort = `import * as ort from 'onnxruntime-node'\nexport const x = ort`
    const tf = `import * as tf from '@tensorflow/tfjs-node'\nexport const x = tf`

    it('refuses onnxruntime outside ml/onnx', async () => {
      const errors = await layerErrors('src-main/engine/search/x.ts', ort)
      expect(errors).toEqual([expect.stringMatching(/Only src-main\/engine\/ml\/onnx imports onnxruntime/)])
    })

    it('allows onnxruntime in ml/onnx, and refuses TensorFlow.js there', async () => {
      expect(await layerErrors('src-main/engine/ml/onnx/x.ts', ort)).toEqual([])
      expect(await layerErrors('src-main/engine/ml/onnx/x.ts', tf)).toEqual([
        expect.stringMatching(/Only ml\/tf imports TensorFlow\.js/),
      ])
    })

    it('allows TensorFlow.js in ml/tf, and refuses onnxruntime there', async () => {
      expect(await layerErrors('src-main/engine/ml/tf/x.ts', tf)).toEqual([])
      expect(await layerErrors('src-main/engine/ml/tf/x.ts', ort)).toEqual([
        expect.stringMatching(/Only ml\/onnx imports onnxruntime/),
      ])
    })
  })

  describe('the Electron host', () => {
    it('may import electron', async () => {
      expect(
        await layerErrors('src-main/electron/x.ts', `import { app } from 'electron'\nexport const x = app`),
      ).toEqual([])
    })
  })

  describe('the renderer talks only to the typed API', () => {
    it('refuses electron and Node built-ins', async () => {
      expect(
        await layerErrors(
          'src-renderer/x.ts',
          `import { ipcRenderer } from 'electron'\nexport const x = ipcRenderer`,
        ),
      ).toEqual([expect.stringMatching(/typed API/)])
      expect(await layerErrors('src-renderer/x.ts', `import fs from 'node:fs'\nexport const x = fs`)).toEqual(
        [expect.stringMatching(/typed API/)],
      )
    })
  })
})
