// Packaging test: `npm pack`, install the tarball into a fresh ESM project,
// use it from Node, type-check a TypeScript user against the declarations,
// load it in a browser page through an import map, bundle an app with
// esbuild on `kms-envelope/slim` + `kms-envelope/wasm`, and run the
// JavaScript examples of README.md and docs/javascript.md as written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, readFileSync, symlinkSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
  assert.ok(files.includes('README.md'), 'the README (the registry page) is packed');
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), `unexpected files: ${files}`);
  const tarball = join(scratch, packed.filename);
  console.log(`packaging: ${packed.filename}, ${files.length} files, ${packed.size} B packed, ${packed.unpackedSize} B unpacked`);

  // 2. A fresh Node ESM project.
  const app = join(scratch, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], app);
  writeFileSync(join(app, 'main.js'), `
import { encrypt, decrypt, inspect, RawAesKeyring, AwsKmsKeyring, KmsEnvelopeError } from 'kms-envelope';
const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32).fill(1) });
const ct = await encrypt(new TextEncoder().encode('packaged'), { keyring, encryptionContext: { a: 'b' } });
const { plaintext } = await decrypt(ct, { keyring, encryptionContext: { a: 'b' } });
const h = await inspect(ct);
let code;
try { await decrypt(ct.subarray(0, 10), { keyring }); } catch (e) { code = e instanceof KmsEnvelopeError && e.code; }
// An AWS KMS keyring over a send-shaped client: works without the optional
// peer dependency @aws-sdk/client-kms.
const arn = 'arn:aws:kms:us-east-1:111122223333:key/fake';
const xor = (b) => b.map((x) => x ^ 0x5a);
const fakeKms = {
  async send(c) {
    if (c.constructor.name === 'GenerateDataKeyCommand') {
      const k = crypto.getRandomValues(new Uint8Array(c.input.NumberOfBytes));
      return { KeyId: arn, Plaintext: k, CiphertextBlob: xor(k) };
    }
    if (c.constructor.name === 'DecryptCommand') return { KeyId: arn, Plaintext: xor(c.input.CiphertextBlob) };
    throw Object.assign(new Error('unexpected'), { name: 'UnsupportedOperationException' });
  },
};
const kms = new AwsKmsKeyring({ keyId: arn, client: fakeKms });
const kmsText = new TextDecoder().decode((await decrypt(await encrypt(new TextEncoder().encode('kms'), { keyring: kms }), { keyring: kms })).plaintext);
let peer = 'absent';
try { await import('@aws-sdk/client-kms'); peer = 'installed'; } catch {}
// A large signed message: its hash runs on the package's worker thread
// (src/hash-worker.js must be in the tarball and found from there).
const big = new Uint8Array(16 << 20).fill(3);
const bigBack = (await decrypt(await encrypt(big, { keyring }), { keyring })).plaintext;
const bigOk = bigBack.length === big.length && bigBack.every((b) => b === 3);
console.log(JSON.stringify({ text: new TextDecoder().decode(plaintext), suite: h.algorithmSuite, code, kmsText, peer, bigOk }));
`);
  const out = JSON.parse(run('node', ['main.js'], app));
  assert.deepEqual(out, { text: 'packaged', suite: 0x0578, code: 'malformed_message', kmsText: 'kms', peer: 'absent', bigOk: true });

  // 3. TypeScript users: the declarations type-check (and catch misuse).
  writeFileSync(join(app, 'main.ts'), `
import { encrypt, decrypt, hostCrypto, RawAesKeyring, MultiKeyring, AwsKmsKeyring, AwsKmsDiscoveryKeyring, CachingMaterialsManager, LocalMaterialsCache, type DecryptResult, type KeyringImplementation, type KmsClientLike, KmsEnvelopeError } from 'kms-envelope';
const onHost: boolean = hostCrypto();
void onHost;
const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32) });
const custom: KeyringImplementation = {
  async onEncrypt(m) {
    if (m.algorithmSuite === 0) throw new KmsEnvelopeError('bad argument: no such suite', 'bad_argument');
    return { plaintextDataKey: m.plaintextDataKey ?? new Uint8Array(32), encryptedDataKeys: [{ providerId: 'p', ciphertext: new Uint8Array(1) }] };
  },
  async onDecrypt(_m, edks) { return edks.length ? { plaintextDataKey: new Uint8Array(32) } : null; },
};
const client: KmsClientLike = { async send(c) { return { KeyId: String(c.input.KeyId) }; } };
const kms = new AwsKmsKeyring({ keyId: 'alias/app', client, grantTokens: ['t'], mrkAware: false });
const discovery = new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws', accountIds: ['111122223333'] }, region: 'us-east-1' });
const cache = new LocalMaterialsCache(10);
const cmm = new CachingMaterialsManager({ keyring: kms, maxAge: 60_000, maxMessages: 10, cache, partitionId: 'p' });
const multi = new MultiKeyring({ generator: keyring, children: [custom] });
void [discovery, cmm.partitionId, cache.size, multi.generator, multi.children.length];
export async function f(): Promise<string> {
  const ct: Uint8Array = await encrypt(new Uint8Array(1), { keyring, algorithmSuite: 0x0478, encryptionContext: { a: 'b' } });
  const r: DecryptResult = await decrypt(ct, { keyring: custom, signal: AbortSignal.timeout(60_000) });
  const s: TransformStream<Uint8Array, Uint8Array> = (await import('kms-envelope')).encryptStream({ keyring });
  void s;
  try { await decrypt(ct, { keyring }); } catch (e) { if (e instanceof KmsEnvelopeError) return e.kmsCode ?? e.reasons?.join() ?? e.code; }
  await encrypt(ct, { materialsManager: cmm });
  return r.encryptionContext.a;
}
`);
  // Misuse the runtime refuses is refused by the types too: each line must
  // be an error, or tsc reports the directive unused.
  writeFileSync(join(app, 'expect-errors.ts'), `
import { encrypt, MultiKeyring, RawRsaKeyring, RawAesKeyring, CachingMaterialsManager, RequiredEncryptionContextMaterialsManager, LocalMaterialsCache, Keyring, type NodeKeyObject } from 'kms-envelope';
const keyring = new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: new Uint8Array(32) });
const cache = new LocalMaterialsCache();
// @ts-expect-error: a generator or children
new MultiKeyring({});
// @ts-expect-error: a public key, a private key or both
new RawRsaKeyring({ keyNamespace: 'a', keyName: 'b' });
// @ts-expect-error: not a suite id
void encrypt(new Uint8Array(1), { keyring, algorithmSuite: 'AES_256' });
// @ts-expect-error: a keyring or a materials manager
new CachingMaterialsManager({ maxAge: 1 });
// @ts-expect-error: not both
new CachingMaterialsManager({ keyring, materialsManager: new CachingMaterialsManager({ keyring, maxAge: 1 }), maxAge: 1 });
// @ts-expect-error: capacity or cache, not both
new CachingMaterialsManager({ keyring, maxAge: 1, capacity: 5, cache });
// @ts-expect-error: a keyring or a materials manager
new RequiredEncryptionContextMaterialsManager({ requiredEncryptionContextKeys: ['a'] });
// @ts-expect-error: the base class's constructor is not public
class Mine extends Keyring { constructor() { super(); } }
void Mine;
// @ts-expect-error: not a key
new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: { type: 'secret' } });
// @ts-expect-error: streams take no signal (pipeTo's stops them)
void (await import('kms-envelope')).encryptStream({ keyring, signal: new AbortController().signal });
// What the runtime takes, the types take: DER as an ArrayBuffer, children typed as an array, '0x0578',
// a KeyObject's shape.
const der: ArrayBuffer = new ArrayBuffer(8);
const children: RawAesKeyring[] = [keyring];
const secret: NodeKeyObject = { type: 'secret', export: () => new Uint8Array(32) };
export const ok = [new RawRsaKeyring({ keyNamespace: 'a', keyName: 'b', privateKey: der }), new MultiKeyring({ children }),
  encrypt(new Uint8Array(1), { keyring, algorithmSuite: '0x0578' }), new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: secret })];
`);
  writeFileSync(join(app, 'bad.ts'), `
import { encrypt } from 'kms-envelope';
export const x = encrypt('not bytes', { keyring: 1 });
`);
  writeFileSync(join(app, 'bad-cache.ts'), `
import { CachingMaterialsManager, RawAesKeyring } from 'kms-envelope';
const keyring = new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: new Uint8Array(32) });
export const y = new CachingMaterialsManager({ keyring, maxMessages: 10 }); // no maxAge
`);
  writeFileSync(join(app, 'slim.ts'), `
import { initialize, encrypt, RawAesKeyring, type WasmSource } from 'kms-envelope/slim';
import wasmUrl from 'kms-envelope/wasm';
export async function g(bytes: Uint8Array): Promise<Uint8Array> {
  const source: WasmSource = bytes;
  await initialize(source);
  const url: string = wasmUrl;
  await initialize(url);
  await initialize(new URL('https://example.invalid/k.wasm'));
  return encrypt(new Uint8Array(1), { keyring: new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: bytes }) });
}
`);
  writeFileSync(join(app, 'bad-slim.ts'), `
import { initialize } from 'kms-envelope/slim';
// (WebAssembly.Module is an empty interface to TypeScript, so any object
// passes as a WasmSource; the runtime check catches those.)
export const z: Promise<string> = initialize();
`);
  const tsc = join(pkgDir, 'node_modules/typescript/bin/tsc');
  const tsArgs = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--skipLibCheck', 'false'];
  run('node', [tsc, ...tsArgs, 'main.ts', 'slim.ts', 'expect-errors.ts'], app);
  for (const bad of ['bad.ts', 'bad-cache.ts', 'bad-slim.ts']) {
    assert.throws(() => execFileSync('node', [tsc, ...tsArgs, bad], { cwd: app, stdio: 'pipe' }), `tsc rejects misuse: ${bad}`);
  }

  // 4. The documented examples, as written: every ```js and ```html block
  // of README.md (docs/javascript.md points to them and has none).
  // Node examples run here and type-check; the AWS KMS one (a real AWS
  // account) type-checks; the esbuild one is bundled with its own command
  // line and runs in the page; the HTML one is served as the page.
  const docs = ['README.md', 'docs/javascript.md'].map((f) => readFileSync(join(pkgDir, '..', f), 'utf8'));
  // Every JavaScript-ish fence is one of these two, so none escapes the test.
  const jsFences = (text) => [...text.matchAll(/^```(\w+)/gm)].map((m) => m[1]).filter((l) => /^(js|javascript|mjs|cjs|ts|typescript|html)$/.test(l));
  assert.deepEqual(jsFences(docs[0]).sort(), ['html', 'js', 'js', 'js'], 'the JavaScript and HTML blocks of README.md');
  assert.deepEqual(jsFences(docs[1]), [], 'docs/javascript.md holds no examples of its own (they would go untested)');
  const blocks = [...new Set([...docs[0].matchAll(/```(js|html)\n([\s\S]*?)```/g)].map((m) => `${m[1]}\n${m[2]}`))]
    .map((b) => ({ lang: b.slice(0, b.indexOf('\n')), code: b.slice(b.indexOf('\n') + 1) }));
  const kind = (b) => b.lang === 'html' ? 'page'
    : b.code.includes("from 'kms-envelope/slim'") ? 'bundle'
    : b.code.includes("from '@aws-sdk/client-kms'") ? 'aws' : 'node';
  const byKind = {};
  for (const b of blocks) (byKind[kind(b)] ??= []).push(b);
  assert.deepEqual(Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v.length])), { node: 1, page: 1, bundle: 1, aws: 1 },
    'README.md shows one example of each kind');
  // The KMS example's types come from the test's own @aws-sdk/client-kms,
  // linked in only now (step 2 checked the package works without it).
  for (const scope of ['@aws-sdk', '@types']) symlinkSync(join(pkgDir, 'node_modules', scope), join(app, 'node_modules', scope), 'dir');
  const docJs = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'js' || kind(b) === 'bundle') return;
    docJs.push(`doc-${i}.js`);
    writeFileSync(join(app, `doc-${i}.js`), b.code);
  });
  // Node examples with Node's types alone (docs/javascript.md says why).
  const checkJs = (lib, files) => run('node', [join(pkgDir, 'node_modules/typescript/bin/tsc'), '--noEmit', '--allowJs', '--checkJs', '--strict',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', ...lib, ...files], app);
  checkJs(['--lib', 'es2022', '--types', 'node'], docJs);
  writeFileSync(join(app, 'big.bin'), randomBytes(3 << 20));
  for (const b of byKind.node) {
    const file = `doc-${blocks.indexOf(b)}.js`;
    assert.equal(run('node', [file], app), 'hello example\n', `${file} prints what it decrypted`);
  }
  const inspected = JSON.parse(run('node', ['--input-type=module', '-e', `
import { inspect, decrypt } from 'kms-envelope';
import { readFileSync } from 'node:fs';
const h = await inspect(readFileSync('big.bin.enc'));
console.log(JSON.stringify({ suite: h.algorithmSuite, purpose: h.encryptionContext.purpose }));`], app));
  assert.deepEqual(inspected, { suite: 0x0578, purpose: 'example' }, 'the streaming example wrote a whole message');
  assert.ok(statSync(join(app, 'big.bin.enc')).size > 3 << 20);
  const [bundleDoc] = byKind.bundle;
  const command = bundleDoc.code.match(/^\/\/ (esbuild .*)$/m)?.[1].split(' ');
  assert.ok(command && command[1] === 'app.js', `the esbuild example names its command: ${command}`);
  writeFileSync(join(app, 'app.js'), bundleDoc.code);
  checkJs(['--lib', 'es2022,dom'], ['app.js']);
  // Then the page shows that the module it initialized works.
  writeFileSync(join(app, 'app.js'), `${bundleDoc.code}
window.result = (await encrypt(new Uint8Array(5), { keyring: new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: new Uint8Array(32) }) })).length;
`);
  run(join(pkgDir, 'node_modules/.bin/esbuild'), [...command.slice(1), '--log-level=warning'], app);

  // 5. An app bundled by esbuild, which does not carry the .wasm along by
  // itself: `kms-envelope/slim` with the module's URL from its file loader.
  writeFileSync(join(app, 'bundled.js'), `
import { initialize, encrypt, decrypt, encryptStream, RawAesKeyring } from 'kms-envelope/slim';
import wasmUrl from 'kms-envelope/wasm';
const keyring = () => new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32).fill(2) });
let before;
try { keyring(); } catch (e) { before = e.code; }
await initialize(new URL(wasmUrl, import.meta.url));
const k = keyring();
const streamed = await new Response(new Blob([new TextEncoder().encode('bundled app')]).stream().pipeThrough(encryptStream({ keyring: k }))).arrayBuffer();
window.result = { before, text: new TextDecoder().decode((await decrypt(new Uint8Array(streamed), { keyring: k })).plaintext) };
`);
  // The main entry bundled, with only names api.js defines: the package's
  // "sideEffects" must keep browser.js's loading of the module. Served from
  // the package's src/, where its `new URL('../dist/…')` finds the module.
  writeFileSync(join(app, 'main-bundled.js'), `
import { encrypt, decrypt, RawAesKeyring } from 'kms-envelope';
const keyring = new RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: new Uint8Array(32).fill(3) });
window.result = new TextDecoder().decode((await decrypt(await encrypt(new TextEncoder().encode('main bundled'), { keyring }), { keyring })).plaintext);
`);
  // Slim without initialize(): the clear error, not a TypeError.
  writeFileSync(join(app, 'slim-uninitialized.js'), `
import { RawAesKeyring } from 'kms-envelope/slim';
try { new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: new Uint8Array(32) }); window.result = 'no error'; }
catch (e) { window.result = { code: e.code, message: e.message }; }
`);
  const esbuild = join(pkgDir, 'node_modules/.bin/esbuild');
  run(esbuild, ['bundled.js', 'main-bundled.js', 'slim-uninitialized.js', '--bundle', '--minify', '--format=esm', '--platform=browser', '--loader:.wasm=file', '--outdir=out', '--log-level=warning'], app);
  const outFiles = readdirSync(join(app, 'out'));
  assert.ok(outFiles.some((f) => f.endsWith('.wasm')), `esbuild emitted the module: ${outFiles}`);
  const script = (src) => `<!doctype html><meta charset="utf-8"><script type="module" src="${src}"></script>`;
  const pages = {
    // The README's page loads the installed package through an import map.
    '/index.html': byKind.page[0].code,
    '/app.html': script('/out/app.js'),
    '/bundled.html': script('/out/bundled.js'),
    '/node_modules/kms-envelope/src/main-bundled.js': readFileSync(join(app, 'out/main-bundled.js')),
    '/main-bundled.html': script('/node_modules/kms-envelope/src/main-bundled.js'),
    '/slim-uninitialized.html': script('/out/slim-uninitialized.js'),
  };
  const server = await serve(app, pages);
  try {
    const results = await withPage(async (p, errors) => {
      const seen = {};
      for (const name of ['index', 'app', 'bundled', 'main-bundled', 'slim-uninitialized']) {
        await p.goto(`${server.url}/${name}.html`);
        // The README's page shows its result; the others set window.result.
        const result = name === 'index' ? () => document.body?.textContent || undefined : () => window.result;
        await p.waitForFunction(result, null, { timeout: 30000 });
        seen[name] = await p.evaluate(result);
      }
      assert.deepEqual(errors, []);
      return seen;
    });
    assert.equal(results.index, 'hello from the page');
    assert.ok(results.app > 5, `the esbuild example's app encrypted: ${results.app}`);
    assert.deepEqual(results.bundled, { before: 'bad_argument', text: 'bundled app' });
    assert.equal(results['main-bundled'], 'main bundled');
    assert.equal(results['slim-uninitialized'].code, 'bad_argument');
    assert.match(results['slim-uninitialized'].message, /not loaded: with 'kms-envelope\/slim', await initialize\(\) first/);
  } finally {
    await server.close();
  }
  console.log(`packaging test: passed (Node ESM project, TypeScript declarations, browser page, esbuild bundles, ${blocks.length} documented examples)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
