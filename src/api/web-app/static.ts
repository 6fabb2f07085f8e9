import fs from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import type { ApiContextExtras, ApiState } from '../deps';
import { ApiError } from '../errors';

/** Where `scripts/build-app.ts` writes the bundle: dist/app, from src/ (tsx) and from dist/src/ (compiled). */
export function defaultAppDir(): string {
  const root = path.resolve(__dirname, '../../..');
  return path.basename(root) === 'dist' ? path.join(root, 'app') : path.join(root, 'dist', 'app');
}

export const APP_PATH = '/app';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The app's pages: script and styles only from this origin, and the WebSocket back to it. The
 * bundle has no inline script; inline styles are the SVG charts' `style` attributes.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * Serves the built web app at /app: a file of dist/app when the path names one, else index.html
 * (the app routes /app/* itself; index.html names its assets by absolute /app/ paths). GET and HEAD only; other methods fall through to the 405/404.
 * A checkout whose app was never built answers 503 naming the command that builds it.
 */
export function serveWebApp(appDir = defaultAppDir()): Middleware<ApiState, ApiContextExtras> {
  const root = path.resolve(appDir);
  return async (ctx, next) => {
    if (ctx.path !== APP_PATH && !ctx.path.startsWith(`${APP_PATH}/`)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path.slice(APP_PATH.length + 1));
    } catch {
      throw new ApiError(400, 'BAD_REQUEST', 'The path is not valid percent-encoding');
    }
    const candidate = path.resolve(root, relative);
    const inside = candidate.startsWith(root + path.sep);
    const isFile = inside && relative !== '' && (await fileExists(candidate));
    // Paths that look like assets (an extension) are not pages: a missing one is a 404, not the app.
    if (!isFile && path.extname(relative)) throw new ApiError(404, 'NOT_FOUND', `No file ${ctx.path}`);
    const file = isFile ? candidate : path.join(root, 'index.html');
    if (!(await fileExists(file))) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'The web app is not built: run `npm run build:app` (npm start and npm run build do it)', [], { 'Retry-After': '60' });
    }
    ctx.type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    // index.html names the bundle, so it is always revalidated; bundle names carry no hash, so neither is cached long.
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = fs.createReadStream(file);
  };
}

async function fileExists(file: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(file)).isFile();
  } catch {
    return false;
  }
}
