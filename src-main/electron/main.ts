/**
 * The desktop shell: one window, the typed API over IPC, images over the `lineup://` protocol.
 * Deliberately thin: everything it serves comes from LineupService (src-main/engine), which the
 * CLI, the HTTP server and the tests drive directly, since the Electron binary cannot run in CI.
 */
import { app, BrowserWindow, dialog, ipcMain, net, protocol, type IpcMainInvokeEvent } from 'electron'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { dispatch, methods } from '../../src-shared/api'
import { EVENT_CHANNEL } from '../../src-shared/channels'
import { LineupService } from '../engine/service'
import { electronBindingPath } from './native-path'

protocol.registerSchemesAsPrivileged([
  { scheme: 'lineup', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
])

let win: BrowserWindow | null = null

function rendererEntry(): { url?: string; file?: string } {
  const dev = process.env.ELECTRON_RENDERER_URL
  return dev ? { url: dev } : { file: join(import.meta.dirname, '../renderer/index.html') }
}

/** IPC calls are answered only for our own window's top frame. */
function trusted(event: IpcMainInvokeEvent): boolean {
  return win !== null && event.sender === win.webContents && event.senderFrame === win.webContents.mainFrame
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'Lineup',
    backgroundColor: '#16181d',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  })
  w.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  w.webContents.on('will-navigate', (e) => e.preventDefault())
  const entry = rendererEntry()
  if (entry.url) void w.loadURL(entry.url)
  else void w.loadFile(entry.file!)
  return w
}

async function start(): Promise<void> {
  await app.whenReady()
  // better-sqlite3 built for Electron's ABI (npm start fetches it); workers inherit the variable.
  const binding = electronBindingPath(process.versions.electron ?? '')
  if (existsSync(binding)) process.env.LINEUP_SQLITE_BINDING = binding
  const service = new LineupService({
    dbPath: join(app.getPath('userData'), 'library.lineup'),
    host: 'electron',
    autoEmbed: true,
    chooseFolder: async () => {
      const r = await dialog.showOpenDialog(win ?? undefined!, {
        title: 'Import a folder of crops',
        properties: ['openDirectory'],
      })
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!
    },
  })

  // lineup://thumb/<id> and lineup://original/<id>: the renderer never sees a file:// URL.
  protocol.handle('lineup', async (request) => {
    const url = new URL(request.url)
    const id = Number(url.pathname.replace(/^\//, ''))
    if (!Number.isInteger(id) || id <= 0) return new Response('bad image id', { status: 400 })
    try {
      if (url.hostname === 'thumb') {
        const t = service.thumb(id)
        return new Response(new Uint8Array(t.data), { headers: { 'content-type': t.mime } })
      }
      if (url.hostname === 'original') {
        const path = service.originalPath(id)
        if (!existsSync(path))
          return new Response(`the original of crop ${id} is no longer at ${path}`, { status: 404 })
        return net.fetch(pathToFileURL(path).toString())
      }
      return new Response('unknown image kind', { status: 404 })
    } catch (err) {
      return new Response((err as Error).message, { status: 404 })
    }
  })

  // One handler per contract method; the method name is the channel name (STYLE.md §2).
  for (const method of methods) {
    ipcMain.handle(method, (event, input: unknown) =>
      trusted(event)
        ? dispatch(service, method, input)
        : { ok: false, error: { kind: 'unauthorized', message: 'call from an untrusted frame' } },
    )
  }
  service.onEvent((event) => win?.webContents.send(EVENT_CHANNEL, event))

  win = createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = createWindow()
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  app.on('will-quit', () => {
    void service.close()
  })
}

void start()
