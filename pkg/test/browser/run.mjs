// The package in headless Chromium: loaded as an ES module from a page on
// 127.0.0.1; one-shot, custom keyring on WebCrypto, Web Streams, the caching
// manager, error codes, and messages crossing between Node and the browser
// both ways.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encrypt, decrypt, RawAesKeyring } from 'kms-envelope';
import { serve, withPage } from './harness.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url)); // pkg/
const key = new Uint8Array(randomBytes(32));
const keyring = new RawAesKeyring({ keyNamespace: 'browser', keyName: 'k', wrappingKey: key });
const fromNodePt = new Uint8Array(randomBytes(100000));
const fromNode = await encrypt(fromNodePt, { keyring, encryptionContext: { made: 'node' } });
// client-node's localeCompare-ordered raw AES messages (jsLegacyOrder).
const legacy = JSON.parse(readFileSync(new URL('../../../tests/data/js-legacy-order/messages.json', import.meta.url), 'utf8'));

const page = `<!doctype html><meta charset="utf-8"><title>kms-envelope</title>
<script type="module">
  import * as ke from '/src/browser.js';
  import { hostSignedCount } from '/src/external.js';
  window.ke = ke;
  window.hostSignedCount = hostSignedCount;
  window.ready = true;
</script>`;

const server = await serve(root, { '/test/browser/index.html': page });
const started = Date.now();
try {
  const result = await withPage(async (page, errors) => {
    await page.goto(`${server.url}/test/browser/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
    const r = await page.evaluate(async ({ key, fromNode, fromNodePt, legacy }) => {
      const ke = window.ke;
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const out = {};
      const keyring = new ke.RawAesKeyring({ keyNamespace: 'browser', keyName: 'k', wrappingKey: new Uint8Array(key) });
      const pt = new TextEncoder().encode('hello from the browser');
      // One-shot, every committing suite.
      for (const algorithmSuite of [0x0478, 0x0578]) {
        const ct = await ke.encrypt(pt, { keyring, algorithmSuite, encryptionContext: { where: 'chromium' } });
        const d = await ke.decrypt(ct, { keyring, encryptionContext: { where: 'chromium' } });
        out[`oneShot${algorithmSuite}`] = new TextDecoder().decode(d.plaintext);
      }
      // Large messages: frames on WebCrypto's AES-GCM and the signature hash
      // on its digest (the external path), read by the wasm path and back.
      out.hostCrypto = ke.hostCrypto();
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
      out.large = {};
      // 0x0146 and 0x0346: AES-192, which Chromium's WebCrypto lacks (the core does those).
      for (const algorithmSuite of [0x0478, 0x0578, 0x0378, 0x0146, 0x0346]) {
        const opts = { keyring, algorithmSuite, frameLength: 4096, commitmentPolicy: algorithmSuite < 0x0400 ? 'FORBID_ENCRYPT_ALLOW_DECRYPT' : undefined };
        const webCt = await ke.encrypt(big, opts);
        ke.hostCrypto(false);
        const wasmPt = (await ke.decrypt(webCt, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext;
        const wasmCt = await ke.encrypt(big, opts);
        ke.hostCrypto(true);
        const webPt = (await ke.decrypt(wasmCt, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext;
        const tampered = webCt.slice();
        tampered[tampered.length - 300] ^= 4;
        out.large[algorithmSuite] = {
          wasmReadsWeb: hex(wasmPt) === hex(big),
          webReadsWasm: hex(webPt) === hex(big),
          tampered: await ke.decrypt(tampered, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }).then(() => 'none', (e) => e.code),
        };
        if (algorithmSuite === 0x0578) out.largeForNode = [...webCt];
      }
      out.bigPt = [...big];
      // Hostile inputs on the WebCrypto path: truncations and flipped bits of
      // a multi-frame message all fail with a code, none resolves.
      {
        const ct = await ke.encrypt(big.subarray(0, 5000), { keyring, algorithmSuite: 0x0578, frameLength: 1024 });
        const codes = new Set();
        let resolved = 0;
        const attempt = (bad) => ke.decrypt(bad, { keyring }).then(() => { resolved++; }, (e) => codes.add(e.code));
        for (let cut = 0; cut < ct.length; cut += 7) await attempt(ct.subarray(0, cut));
        for (let i = 0; i < ct.length; i += 13) {
          const bad = ct.slice();
          bad[i] ^= 1 << (i % 8);
          await attempt(bad);
        }
        out.hostile = { resolved, codes: [...codes].sort() };
      }
      // Small signed messages: ECDSA on WebCrypto (a key pair per message
      // signs it whole), except with AES-192 (0x0346), which WebCrypto lacks
      // and the core does whole.
      const small = new TextEncoder().encode('signed on WebCrypto');
      out.smallSigned = {};
      for (const algorithmSuite of [0x0578, 0x0214, 0x0346]) {
        const opts = { keyring, algorithmSuite, commitmentPolicy: algorithmSuite < 0x0400 ? 'FORBID_ENCRYPT_ALLOW_DECRYPT' : undefined };
        const signedBefore = window.hostSignedCount();
        const keys = new Set();
        let ct;
        // Sequential and concurrent: key pairs are made ahead, each used once.
        for (let i = 0; i < 24; i++) {
          const cts = i % 2 ? [await ke.encrypt(small, opts)] : await Promise.all([ke.encrypt(small, opts), ke.encrypt(small, opts)]);
          for (ct of cts) {
            keys.add((await ke.inspect(ct)).encryptionContext['aws-crypto-public-key']);
          }
        }
        ke.hostCrypto(false);
        const byWasm = new TextDecoder().decode((await ke.decrypt(ct, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext);
        const wasmCt = await ke.encrypt(small, opts);
        ke.hostCrypto(true);
        const byWeb = new TextDecoder().decode((await ke.decrypt(wasmCt, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext);
        const badSig = ct.slice();
        badSig[badSig.length - 3] ^= 1;
        out.smallSigned[algorithmSuite] = {
          onWebCrypto: window.hostSignedCount() - signedBefore, keysUnique: keys.size === 36, byWasm, byWeb,
          badSignature: await ke.decrypt(badSig, { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }).then(() => 'none', (e) => e.code),
          forNode: [...ct],
        };
      }
      // The message Node made.
      const dn = await ke.decrypt(new Uint8Array(fromNode), { keyring });
      out.fromNode = hex(dn.plaintext) === hex(new Uint8Array(fromNodePt)) && dn.encryptionContext.made === 'node';
      // A custom keyring on WebCrypto AES-KW... as AES-GCM (async).
      const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      const custom = {
        async onEncrypt(m) {
          const dk = m.plaintextDataKey ?? crypto.getRandomValues(new Uint8Array(32));
          const iv = crypto.getRandomValues(new Uint8Array(12));
          const c = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wrapKey, dk));
          return { plaintextDataKey: dk, encryptedDataKeys: [{ providerId: 'webcrypto', providerInfo: iv, ciphertext: c }] };
        },
        async onDecrypt(m, edks) {
          const e = edks.find((x) => x.providerId === 'webcrypto');
          if (!e) return null;
          return { plaintextDataKey: new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: e.providerInfo }, wrapKey, e.ciphertext)) };
        },
      };
      const cc = await ke.encrypt(pt, { keyring: custom });
      out.custom = new TextDecoder().decode((await ke.decrypt(cc, { keyring: custom })).plaintext);
      // Web Streams: 3 MiB through encryptStream and decryptStream.
      const total = 3 * 1024 * 1024;
      let sent = 0;
      const src = new ReadableStream({
        pull(c) {
          if (sent >= total) return c.close();
          const chunk = new Uint8Array(65536).fill(sent / 65536 & 0xff);
          sent += chunk.length;
          c.enqueue(chunk);
        },
      });
      let got = 0; let ok = true;
      await src
        .pipeThrough(ke.encryptStream({ keyring, algorithmSuite: 0x0478, frameLength: 65536 }))
        .pipeThrough(ke.decryptStream({ keyring }))
        .pipeTo(new WritableStream({ write(c) { for (let i = 0; i < c.length; i += 4096) if (c[i] !== ((got + i) / 65536 & 0xff)) ok = false; got += c.length; } }));
      out.stream = ok && got === total;
      // Streams sealed on WebCrypto, signed and not, in odd chunks; AES-192
      // (not in Chromium's WebCrypto) stays in wasm.
      const { hostSealedStreams, hostOpenedStreams } = await import('/src/host-stream.js');
      const unstream = async (ct, opts) => {
        let i = 0;
        const src = new ReadableStream({ pull(c) { if (i < ct.length) { c.enqueue(ct.subarray(i, i + 7777)); i += 7777; } else c.close(); } });
        const parts = [];
        await src.pipeThrough(ke.decryptStream(opts)).pipeTo(new WritableStream({ write(b) { parts.push(b); } }));
        const pt = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((at, p) => { pt.set(p, at); return at + p.length; }, 0);
        return pt;
      };
      out.webStreams = {};
      const streamPt = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      for (const algorithmSuite of [0x0478, 0x0578, 0x0378, 0x0146]) {
        const before = hostSealedStreams();
        const opts = { keyring, algorithmSuite, frameLength: 4096, commitmentPolicy: algorithmSuite < 0x0400 ? 'FORBID_ENCRYPT_ALLOW_DECRYPT' : undefined };
        const chunks = [];
        for (let at = 0, n = 1; at < streamPt.length; at += n, n = (n * 3 + 1001) % 20_000) chunks.push(streamPt.subarray(at, at + n));
        const src = new ReadableStream({ pull(c) { if (chunks.length) c.enqueue(chunks.shift()); else c.close(); } });
        const parts = [];
        await src.pipeThrough(ke.encryptStream(opts)).pipeTo(new WritableStream({ write(b) { parts.push(b); } }));
        const ct = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        parts.reduce((at, p) => { ct.set(p, at); return at + p.length; }, 0);
        const back = await ke.decrypt(ct, { keyring, commitmentPolicy: opts.commitmentPolicy });
        const opensBefore = hostOpenedStreams();
        const streamedBack = await unstream(ct, { keyring, commitmentPolicy: opts.commitmentPolicy });
        const bad = ct.slice(); bad[bad.length - 100] ^= 1;
        out.webStreams[algorithmSuite] = {
          onWebCrypto: hostSealedStreams() - before,
          readsBack: back.plaintext.length === streamPt.length && back.plaintext.every((b, i) => b === streamPt[i]),
          streamReadsBack: streamedBack.length === streamPt.length && streamedBack.every((b, i) => b === streamPt[i]),
          tampered: await unstream(bad, { keyring, commitmentPolicy: opts.commitmentPolicy }).then(() => 'none', (e) => (e instanceof ke.KmsEnvelopeError ? e.code : 'not-an-error')),
          openedOnWebCrypto: hostOpenedStreams() - opensBefore,
        };
        if (algorithmSuite === 0x0578) out.webStreamForNode = [...ct];
      }
      // Hostile inputs on WebCrypto's streams: truncations and flipped bits,
      // fed in chunks of many sizes, all fail with a code; what an unsigned
      // stream released before failing is the plaintext's start, and a
      // signed one released nothing.
      out.hostileStreams = {};
      for (const algorithmSuite of [0x0478, 0x0578]) {
        const hpt = streamPt.subarray(0, 5000);
        const ct = await ke.encrypt(hpt, { keyring, algorithmSuite, frameLength: 1024 });
        const r = { resolved: 0, wrongBytes: 0, released: 0, releasedSigned: 0, codes: new Set() };
        const attempt = async (bad, chunk) => {
          let at = 0; let n = 0;
          const src = new ReadableStream({ pull(c) { if (at < bad.length) { c.enqueue(bad.slice(at, at + chunk)); at += chunk; } else c.close(); } });
          const sink = new WritableStream({ write(b) { if (b.some((x, j) => x !== hpt[n + j])) r.wrongBytes++; n += b.length; } });
          await src.pipeThrough(ke.decryptStream({ keyring })).pipeTo(sink)
            .then(() => { r.resolved++; }, (e) => r.codes.add(e instanceof ke.KmsEnvelopeError ? e.code : 'not-an-error'));
          if (n > 0) r.released++;
          if (algorithmSuite === 0x0578 && n > 0) r.releasedSigned++;
        };
        for (let cut = 0; cut < ct.length; cut += 3) await attempt(ct.subarray(0, cut), 1 + (cut * 7) % 3000);
        for (let i = 0; i < ct.length; i += 5) {
          const bad = ct.slice();
          bad[i] ^= 1 << (i % 8);
          await attempt(bad, 1 + (i * 11) % 2000);
        }
        out.hostileStreams[algorithmSuite] = { ...r, codes: [...r.codes].sort() };
      }
      // Cancelled or aborted streams settle their Promises (Chromium never
      // calls a transformer's cancel: src/watch.js notices instead).
      {
        const ct = await ke.encrypt(streamPt, { keyring, algorithmSuite: 0x0478, frameLength: 4096 });
        const settled = (p) => Promise.race([
          p.then(() => 'resolved', (e) => (e instanceof ke.KmsEnvelopeError ? e.code : 'not-an-error')),
          new Promise((r) => setTimeout(() => r('pending'), 3000)),
        ]);
        const d1 = ke.decryptStream({ keyring });
        d1.writable.getWriter().write(ct.subarray(0, 100_000)).catch(() => {});
        const r1 = d1.readable.getReader();
        const first = await r1.read();
        await r1.cancel(new Error('enough'));
        const d2 = ke.decryptStream({ keyring });
        const w2 = d2.writable.getWriter();
        await w2.write(ct.subarray(0, 100));
        await w2.abort(new Error('the user left'));
        const never = { onEncrypt: () => new Promise(() => {}), onDecrypt: () => new Promise(() => {}) };
        const e1 = ke.encryptStream({ keyring: never });
        await e1.readable.cancel(new Error('gone'));
        out.stopped = {
          firstRead: first.value.length > 0,
          cancelled: await settled(d1.result),
          aborted: await settled(d2.result),
          abortedHeader: await settled(d2.header),
          encryptHeader: await settled(e1.header),
        };
      }
      // Streamed ciphertext for Node to decrypt.
      const parts = [];
      const enc = ke.encryptStream({ keyring, encryptionContext: { made: 'chromium' } });
      const w = enc.writable.getWriter();
      w.write(new TextEncoder().encode('streamed ')); w.write(new TextEncoder().encode('in chromium')); w.close();
      for await (const p of enc.readable) parts.push(...p);
      out.forNode = parts;
      // Error codes.
      const code = async (p) => p.then(() => 'none', (e) => (e instanceof Error && e instanceof ke.KmsEnvelopeError ? e.code : 'not-an-error'));
      const bad = (await ke.encrypt(pt, { keyring })).slice(); bad[bad.length - 5] ^= 1;
      out.codes = {
        tampered: await code(ke.decrypt(bad, { keyring })),
        truncated: await code(ke.decrypt(bad.subarray(0, 50), { keyring })),
        wrongType: await code(ke.encrypt('text', { keyring })),
      };
      // The caching manager on the page's clock (performance.now): reuse, then expiry.
      const cmm = new ke.CachingMaterialsManager({ keyring, maxAge: 300, maxMessages: 10 });
      const edk = async () => hex((await ke.inspect(await ke.encrypt(pt, { materialsManager: cmm, algorithmSuite: 0x0478 }))).encryptedDataKeys[0].ciphertext);
      const first = await edk();
      const second = await edk();
      await new Promise((r) => setTimeout(r, 400));
      out.caching = { reused: first === second, expired: (await edk()) !== first };
      out.backend = ke.cryptoBackend();
      // Resizable buffers (WebCrypto refuses views of them): copied first,
      // on the WebCrypto path of unsigned and signed messages and streams.
      {
        const n = 5000;
        const buf = new ArrayBuffer(n, { maxByteLength: 2 * n });
        const src = new Uint8Array(buf);
        for (let i = 0; i < n; i++) src[i] = i & 0xff;
        out.resizable = {};
        for (const algorithmSuite of [0x0478, 0x0578]) {
          const ct = await ke.encrypt(src, { keyring, algorithmSuite });
          const ctBuf = new ArrayBuffer(ct.length, { maxByteLength: 2 * ct.length });
          new Uint8Array(ctBuf).set(ct);
          const back = await ke.decrypt(new Uint8Array(ctBuf), { keyring });
          const s = ke.encryptStream({ keyring, algorithmSuite });
          const w = s.writable.getWriter();
          w.write(src); w.close();
          const parts = [];
          for await (const p of s.readable) parts.push(...p);
          const streamed = await ke.decrypt(new Uint8Array(parts), { keyring });
          out.resizable[algorithmSuite] = back.plaintext.every((b, i) => b === (i & 0xff)) && back.plaintext.length === n
            && streamed.plaintext.length === n && (await ke.decrypt(buf, { keyring }).then(() => 'decrypted', (e) => e.code)) === 'malformed_message';
        }
      }
      // Chromium's own collation reads what client-node wrapped in
      // localeCompare order.
      const legacyKey = new Uint8Array(legacy.key.match(/../g).map((h) => parseInt(h, 16)));
      const legacyKeyring = new ke.RawAesKeyring({ keyNamespace: legacy.keyNamespace, keyName: legacy.keyName, wrappingKey: legacyKey, jsLegacyOrder: true });
      out.legacy = [];
      for (const m of legacy.messages) {
        const ct = Uint8Array.from(atob(m.ciphertext), (c) => c.charCodeAt(0));
        const d = await ke.decrypt(ct, { keyring: legacyKeyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
        out.legacy.push(new TextDecoder().decode(d.plaintext) === m.plaintext);
      }
      return out;
    }, { key: [...key], fromNode: [...fromNode], fromNodePt: [...fromNodePt], legacy });
    assert.deepEqual(errors, []);
    return r;
  });
  assert.equal(result.oneShot1144, 'hello from the browser');
  assert.equal(result.oneShot1400, 'hello from the browser');
  assert.equal(result.fromNode, true, 'chromium decrypts the message Node made');
  assert.deepEqual(result.legacy, legacy.messages.map(() => true), "chromium reads client-node's localeCompare-ordered messages");
  assert.equal(result.hostCrypto, true, 'WebCrypto is on by default');
  assert.equal(result.hostile.resolved, 0, 'a truncated or tampered message decrypted');
  for (const code of result.hostile.codes) {
    assert.ok(['malformed_message', 'authentication_failed', 'no_key_unwrapped', 'policy_violation'].includes(code), `unexpected code ${code}`);
  }
  for (const suite of ['1144', '1400', '888', '326', '838']) {
    assert.deepEqual(result.large[suite], { wasmReadsWeb: true, webReadsWasm: true, tampered: 'authentication_failed' }, `suite ${suite}`);
  }
  for (const suite of ['1400', '532', '838']) {
    const r = result.smallSigned[suite];
    assert.deepEqual({ ...r, forNode: undefined }, {
      onWebCrypto: suite === '838' ? 0 : 36, keysUnique: true, byWasm: 'signed on WebCrypto', byWeb: 'signed on WebCrypto', badSignature: 'authentication_failed', forNode: undefined,
    }, `small signed suite ${suite}`);
    const back = await decrypt(new Uint8Array(r.forNode), { keyring, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
    assert.equal(new TextDecoder().decode(back.plaintext), 'signed on WebCrypto', 'Node reads a WebCrypto-signed message');
  }
  const largeBack = await decrypt(new Uint8Array(result.largeForNode), { keyring });
  assert.deepEqual(largeBack.plaintext, new Uint8Array(result.bigPt), 'Node reads the large message WebCrypto sealed');
  assert.equal(result.custom, 'hello from the browser');
  assert.equal(result.stream, true, '3 MiB through TransformStreams');
  const web = { readsBack: true, streamReadsBack: true, tampered: 'authentication_failed' };
  assert.deepEqual(result.webStreams, {
    1144: { ...web, onWebCrypto: 1, openedOnWebCrypto: 2 }, 1400: { ...web, onWebCrypto: 1, openedOnWebCrypto: 2 },
    888: { ...web, onWebCrypto: 1, openedOnWebCrypto: 2 }, 326: { ...web, onWebCrypto: 0, openedOnWebCrypto: 0 },
  }, 'encryptStream and decryptStream on WebCrypto (AES-192 in wasm)');
  for (const [suite, r] of Object.entries(result.hostileStreams)) {
    assert.deepEqual({ resolved: r.resolved, wrongBytes: r.wrongBytes, releasedSigned: r.releasedSigned },
      { resolved: 0, wrongBytes: 0, releasedSigned: 0 }, `hostile streams, suite ${suite}`);
    // Unsigned: the frames before a cut or a flip were released, checked.
    if (suite === '1144') assert.ok(r.released > 1000, `released ${r.released}`);
    for (const code of r.codes) {
      assert.ok(['malformed_message', 'authentication_failed', 'no_key_unwrapped', 'policy_violation'].includes(code), `unexpected code ${code}`);
    }
  }
  assert.deepEqual(result.stopped, {
    firstRead: true, cancelled: 'bad_argument', aborted: 'bad_argument', abortedHeader: 'bad_argument', encryptHeader: 'bad_argument',
  }, 'a cancelled or aborted stream settles its Promises');
  const streamBack = await decrypt(new Uint8Array(result.webStreamForNode), { keyring });
  assert.equal(streamBack.plaintext.length, 300_000, 'Node reads a stream WebCrypto sealed');
  assert.ok(streamBack.plaintext.every((b, i) => b === ((i * 7) & 0xff)));
  assert.deepEqual(result.caching, { reused: true, expired: true });
  assert.deepEqual(result.resizable, { 1144: true, 1400: true }, 'resizable buffers on the WebCrypto path');
  assert.deepEqual(result.codes, { tampered: 'authentication_failed', truncated: 'malformed_message', wrongType: 'bad_argument' });
  const back = await decrypt(new Uint8Array(result.forNode), { keyring, encryptionContext: { made: 'chromium' } });
  assert.equal(new TextDecoder().decode(back.plaintext), 'streamed in chromium');
  console.log(`browser test: passed in ${((Date.now() - started) / 1000).toFixed(1)} s (chromium, backend ${result.backend})`);
} finally {
  await server.close();
}
