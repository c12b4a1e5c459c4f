import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { dispatch } from '../../src-shared/api'
import { toErrorBody, LineupError, type Envelope } from '../../src-shared/errors'
import type { LineupEvent } from '../../src-shared/events'
import type { LineupService } from '../engine/service'

export interface HttpOptions {
  service: LineupService
  /** The built renderer (out/renderer). */
  rendererDir: string
  /** Loopback only; anything else is refused. Default 127.0.0.1. */
  host?: '127.0.0.1' | 'localhost'
  /** 0 picks a free port. */
  port?: number
  /** Fixed token (tests); default: 24 random bytes per start. */
  token?: string
}

export interface HttpHandle {
  /** Open this in a browser: it carries the token once and sets the session cookie. */
  url: string
  origin: string
  token: string
  close(): Promise<void>
}

const COOKIE = 'lineup_session'
const MAX_BODY = 1 << 20
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}
const IMAGE_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/avif',
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie ?? ''
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === COOKIE) return v.join('=')
  }
  return null
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', ...extra })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, envelope: Envelope<unknown>): void {
  send(res, status, JSON.stringify(envelope), 'application/json; charset=utf-8', {
    'cache-control': 'no-store',
  })
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new LineupError('invalid-input', `request body over ${MAX_BODY} bytes`))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/**
 * Browser mode (`lineup serve`): the typed API over HTTP on the loopback interface.
 *
 * - `POST /api/<method>` with a JSON body → the `{ok, value}|{ok:false, error}` envelope.
 * - `GET /api/events` → server-sent events (progress, library changes).
 * - `GET /img/thumb/<id>` and `/img/original/<id>` → image bytes (never file:// URLs).
 * - everything else → the built renderer.
 * A random token is made at each start; the printed URL carries it once, the server swaps it for
 * an HttpOnly SameSite=Strict cookie. API calls also accept `Authorization: Bearer <token>`.
 * Requests whose Host is not this loopback address are refused (DNS-rebinding guard).
 */
export async function startHttpServer(options: HttpOptions): Promise<HttpHandle> {
  const { service } = options
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? randomBytes(24).toString('base64url')
  const rendererDir = resolve(options.rendererDir)
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new LineupError(
      'not-found',
      `the UI is not built (${join(rendererDir, 'index.html')} is missing); run npm run build`,
    )
  }
  const clients = new Set<ServerResponse>()
  const unsubscribe = service.onEvent((event: LineupEvent) => {
    const data = `data: ${JSON.stringify(event)}\n\n`
    for (const c of clients) c.write(data)
  })
  let port = 0

  const authorised = (req: IncomingMessage): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const presented = bearer ?? cookieToken(req)
    return presented !== null && sameSecret(presented, token)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`]
    if (!allowedHosts.includes(req.headers.host ?? '')) {
      return send(res, 421, 'wrong host: Lineup answers only on its loopback address', 'text/plain')
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
    const path = url.pathname

    if (req.method === 'GET' && url.searchParams.has('token')) {
      if (!sameSecret(url.searchParams.get('token')!, token)) {
        return send(res, 401, 'wrong token: open the URL that `lineup serve` printed', 'text/plain')
      }
      return send(res, 302, '', 'text/plain', {
        location: '/',
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      })
    }
    if (!authorised(req)) {
      if (path.startsWith('/api/')) {
        return sendJson(res, 401, {
          ok: false,
          error: { kind: 'unauthorized', message: 'no session: open the URL that `lineup serve` printed' },
        })
      }
      return send(
        res,
        401,
        'no session: open the URL that `lineup serve` printed (it carries the token)',
        'text/plain',
      )
    }

    if (path === '/api/events' && req.method === 'GET') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      })
      res.write(': connected\n\n')
      clients.add(res)
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000)
      req.on('close', () => {
        clearInterval(ping)
        clients.delete(res)
      })
      return
    }
    if (path.startsWith('/api/')) {
      if (req.method !== 'POST')
        return sendJson(res, 405, {
          ok: false,
          error: { kind: 'invalid-input', message: 'API calls are POST with a JSON body' },
        })
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendJson(res, 415, {
          ok: false,
          error: { kind: 'invalid-input', message: 'API calls need content-type: application/json' },
        })
      }
      let input: unknown
      try {
        const body = await readBody(req)
        input = body.trim() === '' ? {} : JSON.parse(body)
      } catch (err) {
        const error =
          err instanceof LineupError
            ? toErrorBody(err)
            : { kind: 'invalid-input' as const, message: 'request body is not valid JSON' }
        return sendJson(res, 400, { ok: false, error })
      }
      const envelope = await dispatch(service, decodeURIComponent(path.slice('/api/'.length)), input)
      return sendJson(res, 200, envelope)
    }
    const img = /^\/img\/(thumb|original)\/(\d+)$/.exec(path)
    if (img && req.method === 'GET')
      return serveImage(res, service, img[1] as 'thumb' | 'original', Number(img[2]))
    if (req.method !== 'GET') return send(res, 405, 'method not allowed', 'text/plain')
    return serveStatic(res, rendererDir, path)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: toErrorBody(err) })
      else res.end()
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new LineupError(
          'io',
          err.code === 'EADDRINUSE'
            ? `port ${options.port} is in use; choose another with --port`
            : err.message,
        ),
      ),
    )
    server.listen(options.port ?? 0, host, () => ok())
  })
  port = (server.address() as AddressInfo).port
  const origin = `http://${host}:${port}`
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    close: async () => {
      unsubscribe()
      for (const c of clients) c.end()
      await new Promise<void>((ok) => server.close(() => ok()))
    },
  }
}

function serveImage(
  res: ServerResponse,
  service: LineupService,
  kind: 'thumb' | 'original',
  id: number,
): void {
  try {
    if (kind === 'thumb') {
      const t = service.thumb(id)
      return send(res, 200, t.data, t.mime, { 'cache-control': 'private, max-age=3600' })
    }
    const path = service.originalPath(id)
    if (!existsSync(path))
      return send(res, 404, `the original of crop ${id} is no longer at ${path}`, 'text/plain')
    const ext = extname(path).slice(1).toLowerCase()
    res.writeHead(200, {
      'content-type': IMAGE_TYPES[ext] ?? 'application/octet-stream',
      'cache-control': 'private, max-age=3600',
      'x-content-type-options': 'nosniff',
    })
    createReadStream(path).pipe(res)
  } catch (err) {
    const body = toErrorBody(err)
    send(res, body.kind === 'not-found' ? 404 : 500, body.message, 'text/plain')
  }
}

function serveStatic(res: ServerResponse, root: string, urlPath: string): void {
  const rel = normalize(decodeURIComponent(urlPath)).replace(/^([/\\])+/, '')
  let file = join(root, rel)
  if (!file.startsWith(root + sep) && file !== root) return send(res, 403, 'forbidden', 'text/plain')
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html')
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  const headers: Record<string, string> = {
    'cache-control': 'no-cache',
    'content-security-policy':
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
  }
  res.writeHead(200, { 'content-type': type, 'x-content-type-options': 'nosniff', ...headers })
  createReadStream(file).pipe(res)
}
