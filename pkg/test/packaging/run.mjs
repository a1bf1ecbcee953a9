// Packaging test: `npm pack`, install the tarball into a fresh ESM project,
// use it from Node, type-check a TypeScript user against the declarations,
// and load it in a browser page through an import map.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { serve, withPage } from '../browser/harness.mjs';

const pkgDir = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'kms-envelope-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  // 1. Pack: only the entry points, declarations and the generated dist files.
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], pkgDir))[0];
  const files = packed.files.map((f) => f.path).sort();
  assert.ok(files.includes('dist/kms_envelope_wasm_bg.wasm'), 'the wasm is packed');
  assert.ok(files.includes('src/index.d.ts'), 'the declarations are packed');
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), `unexpected files: ${files}`);
  const tarball = join(scratch, packed.filename);
  console.log(`packaging: ${packed.filename}, ${files.length} files, ${packed.size} B packed, ${packed.unpackedSize} B unpacked`);

  // 2. A fresh Node ESM project.
  const app = join(scratch, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], app);
  writeFileSync(join(app, 'main.js'), `
import { encrypt, decrypt, inspect, RawAesKeyring, KmsEnvelopeError } from 'kms-envelope';
const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32).fill(1) });
const ct = await encrypt(new TextEncoder().encode('packaged'), { keyring, encryptionContext: { a: 'b' } });
const { plaintext } = await decrypt(ct, { keyring, encryptionContext: { a: 'b' } });
const h = await inspect(ct);
let code;
try { await decrypt(ct.subarray(0, 10), { keyring }); } catch (e) { code = e instanceof KmsEnvelopeError && e.code; }
console.log(JSON.stringify({ text: new TextDecoder().decode(plaintext), suite: h.algorithmSuite, code }));
`);
  const out = JSON.parse(run('node', ['main.js'], app));
  assert.deepEqual(out, { text: 'packaged', suite: 0x0578, code: 'malformed_message' });

  // 3. TypeScript users: the declarations type-check (and catch misuse).
  writeFileSync(join(app, 'main.ts'), `
import { encrypt, decrypt, hostCrypto, RawAesKeyring, type DecryptResult, type KeyringImplementation, KmsEnvelopeError } from 'kms-envelope';
const onHost: boolean = hostCrypto();
void onHost;
const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32) });
const custom: KeyringImplementation = {
  async onEncrypt(m) { return { plaintextDataKey: m.plaintextDataKey ?? new Uint8Array(32), encryptedDataKeys: [] }; },
  async onDecrypt(_m, edks) { return edks.length ? { plaintextDataKey: new Uint8Array(32) } : null; },
};
export async function f(): Promise<string> {
  const ct: Uint8Array = await encrypt(new Uint8Array(1), { keyring, algorithmSuite: 0x0478, encryptionContext: { a: 'b' } });
  const r: DecryptResult = await decrypt(ct, { keyring: custom });
  const s: TransformStream<Uint8Array, Uint8Array> = (await import('kms-envelope')).encryptStream({ keyring });
  void s;
  try { await decrypt(ct, { keyring }); } catch (e) { if (e instanceof KmsEnvelopeError) return e.code; }
  return r.encryptionContext.a;
}
`);
  writeFileSync(join(app, 'bad.ts'), `
import { encrypt } from 'kms-envelope';
export const x = encrypt('not bytes', { keyring: 1 });
`);
  const tsc = join(pkgDir, 'node_modules/typescript/bin/tsc');
  const tsArgs = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--skipLibCheck', 'false'];
  run('node', [tsc, ...tsArgs, 'main.ts'], app);
  assert.throws(() => execFileSync('node', [tsc, ...tsArgs, 'bad.ts'], { cwd: app, stdio: 'pipe' }), 'tsc rejects misuse');

  // 4. A page that loads the installed package through an import map.
  const page = `<!doctype html><meta charset="utf-8">
<script type="importmap">{ "imports": { "kms-envelope": "/node_modules/kms-envelope/src/browser.js" } }</script>
<script type="module">
  import { encrypt, decrypt, RawAesKeyring } from 'kms-envelope';
  const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32).fill(1) });
  const ct = await encrypt(new TextEncoder().encode('packaged page'), { keyring });
  window.result = new TextDecoder().decode((await decrypt(ct, { keyring })).plaintext);
</script>`;
  const server = await serve(app, { '/index.html': page });
  try {
    const text = await withPage(async (p, errors) => {
      await p.goto(`${server.url}/index.html`);
      await p.waitForFunction(() => window.result !== undefined, null, { timeout: 30000 });
      assert.deepEqual(errors, []);
      return p.evaluate(() => window.result);
    });
    assert.equal(text, 'packaged page');
  } finally {
    await server.close();
  }
  console.log(`packaging test: passed (Node ESM project, TypeScript declarations, browser page)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
