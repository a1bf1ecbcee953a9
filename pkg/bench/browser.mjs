// Browser figures (headless Chromium) beside @aws-crypto/client-browser,
// bundled with esbuild: 1 KiB messages per second and 16 MiB throughput.
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { serve, withPage } from '../test/browser/harness.mjs';
import { writeReport, versions, machine, downloadSize } from './report.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// esbuild and client-browser live in bench/peers/node_modules (see its package.json).
const { build } = createRequire(new URL('peers/package.json', import.meta.url))('esbuild');
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('peers/client-browser-entry.js', import.meta.url))],
  bundle: true, format: 'esm', minify: true, write: false, platform: 'browser',
  define: { global: 'globalThis' },
});
const peerJs = bundle.outputFiles[0].contents;
// kms-envelope bundled the same way, as an application would ship it: the
// page runs the whole API from this bundle, served from src/ so that its
// `new URL('../dist/…wasm', import.meta.url)` finds the module, and the size
// figure bundles just what the raw keyrings use, as the peer's entry does.
const ourBundle = async (contents) => (await build({
  stdin: { contents, resolveDir: root, sourcefile: 'entry.js' },
  bundle: true, format: 'esm', minify: true, write: false, platform: 'browser',
})).outputFiles[0].contents;
const ourJs = await ourBundle("export * from './src/browser.js';");
const ourRawJs = await ourBundle("export { encrypt, decrypt, RawAesKeyring, RawRsaKeyring } from './src/browser.js';");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BIG_MIB = Number(process.env.BENCH_BROWSER_MIB ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const page = '<!doctype html><meta charset="utf-8"><script type="module">window.ke = await import("/src/bundle.js"); window.peer = await import("/bench/peer.js"); window.ready = true;</script>';
const before = machine();
const server = await serve(root, { '/bench/index.html': page, '/bench/peer.js': peerJs, '/src/bundle.js': ourJs });
try {
  const { rows, streams } = await withPage(async (p) => {
    await p.goto(`${server.url}/bench/index.html`);
    await p.waitForFunction(() => window.ready === true, null, { timeout: 60000 });
    return p.evaluate(async ({ SECONDS, BIG_MIB, ROUNDS }) => {
      const { ke, peer } = window;
      const key = new Uint8Array(32).fill(7);
      const ours = new ke.RawAesKeyring({ keyNamespace: 'bench', keyName: 'k', wrappingKey: key });
      const suite = peer.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING;
      const masterKey = await peer.RawAesKeyringWebCrypto.importCryptoKey(key.slice(), suite);
      const theirs = new peer.RawAesKeyringWebCrypto({ keyNamespace: 'bench', keyName: 'k', wrappingSuite: suite, masterKey });
      const client = peer.buildClient(peer.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const impls = {
        'kms-envelope': { enc: (pt, s) => ke.encrypt(pt, { keyring: ours, algorithmSuite: s, frameLength: 65536 }), dec: async (ct) => (await ke.decrypt(ct, { keyring: ours })).plaintext },
        'client-browser': { enc: async (pt, s) => (await client.encrypt(theirs, pt, { suiteId: s, frameLength: 65536 })).result, dec: async (ct) => (await client.decrypt(theirs, ct)).plaintext },
      };
      const rate = async (fn) => { let n = 0; const end = performance.now() + SECONDS * 1000; while (performance.now() < end) { await fn(); n++; } return Math.round(n / SECONDS); };
      // Large messages: the best of ROUNDS timed calls.
      const tput = async (fn) => {
        let best = Infinity;
        for (let i = 0; i < ROUNDS; i++) { const t = performance.now(); await fn(); best = Math.min(best, performance.now() - t); }
        return +(BIG_MIB / (best / 1000)).toFixed(1);
      };
      const small = new Uint8Array(1024).fill(1);
      const big = new Uint8Array(BIG_MIB << 20).fill(2);
      const rows = [];
      for (const s of [0x0478, 0x0578]) {
        for (const [name, impl] of Object.entries(impls)) {
          const cs = await impl.enc(small, s);
          const cb = await impl.enc(big, s);
          rows.push({ suite: `0x0${s.toString(16)}`, impl: name,
            'enc 1KiB msg/s': await rate(() => impl.enc(small, s)), 'dec 1KiB msg/s': await rate(() => impl.dec(cs)),
            [`enc ${BIG_MIB}MiB MiB/s`]: await tput(() => impl.enc(big, s)), [`dec ${BIG_MIB}MiB MiB/s`]: await tput(() => impl.dec(cb)) });
        }
      }
      // Streams (ours only: client-browser has none), 1 MiB chunks, with
      // the frames on WebCrypto (encryptStream) and all in wasm.
      const streamRate = async (make, input) => tput(async () => {
        let i = 0;
        const src = new ReadableStream({ pull(c) { if (i < input.length) { c.enqueue(input.subarray(i, i + (1 << 20))); i += 1 << 20; } else c.close(); } });
        await src.pipeThrough(make()).pipeTo(new WritableStream({ write() {} }));
      });
      const streams = [];
      for (const s of [0x0478, 0x0578]) {
        for (const host of [true, false]) {
          ke.hostCrypto(host);
          const ct = await ke.encrypt(big, { keyring: ours, algorithmSuite: s, frameLength: 65536 });
          streams.push({ suite: `0x0${s.toString(16)}`, frames: host ? 'WebCrypto' : 'wasm (hostCrypto(false))',
            [`encryptStream ${BIG_MIB}MiB MiB/s`]: await streamRate(() => ke.encryptStream({ keyring: ours, algorithmSuite: s, frameLength: 65536 }), big),
            [`decryptStream ${BIG_MIB}MiB MiB/s`]: await streamRate(() => ke.decryptStream({ keyring: ours }), ct) });
        }
      }
      ke.hostCrypto(true);
      return { rows, streams };
    }, { SECONDS, BIG_MIB, ROUNDS });
  });
  console.log(`== bench-js browser (headless Chromium, ${SECONDS} s per rate, frame 64 KiB; client-browser bundled by esbuild, ${peerJs.length} B)`);
  console.table(rows);
  console.table(streams);
  // Targets (issue #6): at least client-browser on large messages, 3x on 1 KiB.
  const size = downloadSize();
  const bundledGz = gzipSync(ourRawJs, { level: 9 }).length;
  const peerGz = gzipSync(peerJs, { level: 9 }).length;
  const v = versions('bench/peers/node_modules/@aws-crypto/client-browser/package.json');
  writeReport('js-browser.md', {
    title: 'JavaScript (browser): kms-envelope vs @aws-crypto/client-browser',
    preface: `\`make bench-js\` (\`pkg/bench/browser.mjs\`), ${before}. kms-envelope ${v.ours} (wasm core; one-shot messages of 1 KiB and more, and signed ones of any size: AES-GCM and ECDSA on WebCrypto, above 1 MiB signed in wasm over WebCrypto's digest; smaller ones all in wasm) against @aws-crypto/client-browser ${v.peer} (WebCrypto) bundled by esbuild, both in one page of headless Chromium. Raw AES-256 keyring, frame length 64 KiB, one-shot calls; ${SECONDS} s per rate; large messages (${BIG_MIB} MiB): best of ${ROUNDS} timed calls after a warm-up call.\n\nDownload size for the raw keyrings (gzip -9): wasm ${size.wasm} B + JS bundled and minified by esbuild ${bundledGz} B = **${((size.wasm + bundledGz) / 1000).toFixed(0)} KB** (target ≤ 80 KB; the page above runs that bundle); loading the package's modules unbundled instead, JS ${size.js} B, ${(size.total / 1000).toFixed(0)} KB. client-browser as bundled here (raw AES keyring, with its Buffer polyfill): ${(peerGz / 1000).toFixed(0)} KB.`,
    rows, ours: 'kms-envelope', peer: 'client-browser',
    notes: ['Streams (kms-envelope only; client-browser has none), Web Streams in 1 MiB chunks, frame length 64 KiB, best of ' +
      `${ROUNDS}. Both streams seal or open their frames on WebCrypto where they can (frames of 1 KiB and more):`, '',
      '| suite | frames | encryptStream MiB/s | decryptStream MiB/s |', '|---|---|---|---|',
      ...streams.map((r) => `| ${r.suite} | ${r.frames} | ${r[`encryptStream ${BIG_MIB}MiB MiB/s`]} | ${r[`decryptStream ${BIG_MIB}MiB MiB/s`]} |`)].join('\n'),
    targets: (c) => (c.includes('1KiB') ? 3 : 1),
    unit: (c) => (c.includes('MiB/s') ? 'MiB/s' : 'msg/s'),
  });
} finally {
  await server.close();
}
