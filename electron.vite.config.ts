import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

// Three bundles: the Electron main process (plus the worker entries it spawns),
// the sandboxed preload (CommonJS, no npm imports at run time), and the Svelte renderer.
// `lineup serve` serves the same renderer bundle (out/renderer) over HTTP.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src-main/electron/main.ts'),
          'import.worker': resolve('src-main/engine/jobs/import.worker.ts'),
          'embed.worker': resolve('src-main/engine/jobs/embed.worker.ts'),
          'train.worker': resolve('src-main/engine/jobs/train.worker.ts'),
          'probe-child': resolve('src-main/engine/ml/onnx/probe-child.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src-main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src-renderer'),
    plugins: [svelte()],
    build: {
      outDir: resolve('out/renderer'),
      rollupOptions: { input: resolve('src-renderer/index.html') },
    },
  },
})
