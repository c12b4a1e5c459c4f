// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'
import { builtinModules } from 'node:module'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const nativeAndMl = ['better-sqlite3', 'sharp', 'onnxruntime-node', 'onnxruntime-web', 'sqlite-vec']
const mlPatterns = ['@tensorflow/*', 'onnxruntime-*']

/** Layer rules (docs/ARCHITECTURE.md): they fail `npm run lint`, and test/unit/lint-layers.test.ts pins them. */
const sharedLayer = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: 'src-shared must not import Node built-ins.' })),
    { name: 'electron', message: 'src-shared must not import electron.' },
    ...nativeAndMl.map((name) => ({ name, message: 'src-shared must not import native or ML packages.' })),
  ],
  patterns: [
    { group: mlPatterns, message: 'src-shared must not import ML packages.' },
    {
      group: ['**/src-main/**', '**/src-renderer/**', '../src-main/*', '../src-renderer/*'],
      message: 'src-shared depends on nothing.',
    },
  ],
}

const domGlobals = [
  'window',
  'document',
  'navigator',
  'localStorage',
  'sessionStorage',
  'HTMLElement',
  'location',
]

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'bench/results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    files: ['src-renderer/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', sharedLayer],
      'no-restricted-globals': ['error', ...domGlobals, 'process', 'Buffer', 'require', '__dirname'],
    },
  },
  {
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'The renderer talks only to the typed API.' })),
            { name: 'electron', message: 'The renderer talks only to the typed API (window.lineup).' },
            ...nativeAndMl.map((name) => ({ name, message: 'The renderer talks only to the typed API.' })),
          ],
          patterns: [
            { group: ['**/src-main/**', ...mlPatterns], message: 'The renderer imports src-shared only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'src-main/engine is plain Node: no electron import below it.' },
          ],
          patterns: [
            {
              group: ['electron/*', '**/electron/**', '**/server/**', '**/cli/**'],
              message: 'engine must not depend on its hosts.',
            },
            { group: ['@tensorflow/*'], message: 'Only src-main/engine/ml/tf imports TensorFlow.js.' },
            { group: ['onnxruntime-*'], message: 'Only src-main/engine/ml/onnx imports onnxruntime.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/engine/ml/onnx/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'src-main/engine is plain Node.' }],
          patterns: [{ group: ['@tensorflow/*'], message: 'Only ml/tf imports TensorFlow.js.' }],
        },
      ],
    },
  },
  {
    files: ['src-main/engine/ml/tf/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'src-main/engine is plain Node.' }],
          patterns: [{ group: ['onnxruntime-*'], message: 'Only ml/onnx imports onnxruntime.' }],
        },
      ],
    },
  },
)
