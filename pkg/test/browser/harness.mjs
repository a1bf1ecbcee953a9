// A static file server on 127.0.0.1 and Debian's chromium, headless, driven
// by playwright-core (it downloads no browser).
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.bin': 'application/octet-stream',
};

/** Serves `root` on 127.0.0.1; `extra` maps paths to in-memory bodies. */
export async function serve(root, extra = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    try {
      let body = path === '/favicon.ico' ? '' : extra[path];
      if (body === undefined) {
        const file = normalize(join(root, path));
        if (!file.startsWith(normalize(root))) throw new Error('outside root');
        body = await readFile(file);
      }
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Runs `fn(page)` in a fresh headless chromium profile. */
export async function withPage(fn) {
  const profile = await mkdtemp(join(tmpdir(), 'kms-envelope-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
    return await fn(page, errors);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
