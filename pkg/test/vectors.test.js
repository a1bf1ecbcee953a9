// Every case of ../shared/vectors/esdk/ through the JS API (index.json lists
// 383 cases; each one must decrypt or fail as its manifest says).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decrypt, inspect, RawAesKeyring, RawRsaKeyring, MultiKeyring, RequiredEncryptionContextMaterialsManager, KmsEnvelopeError,
} from 'kms-envelope';

const here = dirname(fileURLToPath(import.meta.url));
const VECTORS = process.env.KMS_ENVELOPE_VECTORS ?? join(here, '../../../shared/vectors/esdk');
const POLICY = 'REQUIRE_ENCRYPT_ALLOW_DECRYPT';
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const json = (p) => JSON.parse(readFileSync(p, 'utf8'));
const file = (dir, uri) => new Uint8Array(readFileSync(join(dir, uri.replace(/^file:\/\//, ''))));

const PADDING = { sha1: 'oaep-sha1', sha256: 'oaep-sha256', sha384: 'oaep-sha384', sha512: 'oaep-sha512' };

/** A keyring for a raw key description (`type: raw`) of a keys manifest. */
function rawKeyring(desc, keys) {
  const k = keys[desc.key];
  assert.ok(k, `unknown key ${desc.key}`);
  const name = k['key-id'] ?? desc.key;
  if (desc['encryption-algorithm'] === 'aes') {
    return new RawAesKeyring({ keyNamespace: desc['provider-id'], keyName: name, wrappingKey: b64(k.material) });
  }
  assert.equal(desc['encryption-algorithm'], 'rsa');
  const padding = desc['padding-algorithm'] === 'pkcs1' ? 'pkcs1' : PADDING[desc['padding-hash']];
  assert.ok(padding, `padding ${desc['padding-algorithm']} ${desc['padding-hash']}`);
  const pem = k.material;
  return new RawRsaKeyring({
    keyNamespace: desc['provider-id'], keyName: name, padding,
    ...(k.type === 'private' ? { privateKey: pem } : { publicKey: pem }),
  });
}

function keyringV5(desc, keys) {
  switch (desc.type) {
    case 'raw': return rawKeyring(desc, keys);
    case 'multi-keyring': return new MultiKeyring({
      generator: desc.generator ? keyringV5(desc.generator, keys) : undefined,
      children: (desc.childKeyrings ?? []).map((d) => keyringV5(d, keys)),
    });
    default: throw new Error(`unsupported key description ${desc.type}`);
  }
}

/** Runs one case: `expect` is a Uint8Array plaintext or 'error'. */
async function run(ciphertext, opts, expect, expectedContext) {
  if (expect === 'error') {
    await assert.rejects(decrypt(ciphertext, { ...opts, commitmentPolicy: POLICY }), (e) => e instanceof KmsEnvelopeError && typeof e.code === 'string');
    return;
  }
  const out = await decrypt(ciphertext, { ...opts, commitmentPolicy: POLICY });
  assert.deepEqual(out.plaintext, expect);
  const header = await inspect(ciphertext);
  for (const [k, v] of Object.entries(header.encryptionContext)) assert.equal(out.encryptionContext[k], v);
  for (const [k, v] of Object.entries(opts.encryptionContext ?? {})) assert.equal(out.encryptionContext[k], v);
  for (const [k, v] of Object.entries(expectedContext ?? {})) assert.equal(out.encryptionContext[k], v);
  return out;
}

const counts = {};
const count = (src) => { counts[src] = (counts[src] ?? 0) + 1; };

test('vectors are present', () => assert.ok(existsSync(join(VECTORS, 'index.json')), `no vectors at ${VECTORS}`));

test('c-from-dafny-4.1.0 (manifest v5)', async () => {
  const dir = join(VECTORS, 'c-from-dafny-4.1.0');
  const m = json(join(dir, 'decrypt-manifest.json'));
  const keys = json(join(dir, m.keys.replace('file://', ''))).keys;
  for (const [id, t] of Object.entries(m.tests)) {
    const s = t['decryption-scenario'];
    const ct = file(dir, s.ciphertext);
    const reproduced = s['reproduced-encryption-context'];
    let opts;
    const d = s.decryptKeyDescription;
    if (d.type === 'required-encryption-context-cmm') {
      opts = { materialsManager: new RequiredEncryptionContextMaterialsManager({ keyring: keyringV5(d.underlying, keys), requiredEncryptionContextKeys: d.requiredEncryptionContextKeys }) };
    } else {
      opts = { keyring: keyringV5(d, keys) };
    }
    if (reproduced) opts.encryptionContext = reproduced;
    const expect = s.type === 'positive-esdk' ? file(dir, s.result) : 'error';
    await run(ct, opts, expect).catch((e) => { throw new Error(`${id}: ${e.message}`, { cause: e }); });
    count('c-from-dafny-4.1.0');
  }
});

for (const name of ['net-4.0.1', 'net-4.0.0-valid', 'net-4.0.0-invalid']) {
  test(`${name} (manifest v4)`, async () => {
    const dir = join(VECTORS, name);
    const m = json(join(dir, 'manifest.json'));
    const keys = json(join(dir, m.keys.replace('file://', ''))).keys;
    for (const [id, t] of Object.entries(m.tests)) {
      const ct = file(dir, t.ciphertext);
      const rings = t['master-keys'].map((d) => rawKeyring(d, keys));
      const keyring = rings.length === 1 ? rings[0] : new MultiKeyring({ children: rings });
      const reproduced = t['encryption-context'] ?? {};
      let opts = { keyring, encryptionContext: reproduced };
      if (t.cmm === 'RequiredEncryptionContext') {
        const header = await inspect(ct).catch(() => ({ encryptionContext: {} }));
        let required = Object.keys(reproduced).filter((k) => !(k in header.encryptionContext));
        if (!required.length) required = Object.keys(reproduced);
        opts = { materialsManager: new RequiredEncryptionContextMaterialsManager({ keyring, requiredEncryptionContextKeys: required }), encryptionContext: reproduced };
      } else {
        assert.ok(!t.cmm || t.cmm === 'Default', `cmm ${t.cmm}`);
      }
      const expect = t.result.output ? file(dir, t.result.output.plaintext) : 'error';
      await run(ct, opts, expect).catch((e) => { throw new Error(`${id}: ${e.message}`, { cause: e }); });
      count(name);
    }
  });
}

/** A keyring that returns a known data key (the KAT and oracle vectors). */
function fixedKeyring(keyFor) {
  return {
    onEncrypt() { throw new Error('decrypt only'); },
    onDecrypt(m, edks) { return edks.length ? { plaintextDataKey: keyFor(m.algorithmSuite) } : null; },
  };
}
const KEY_LEN = { 0x0014: 16, 0x0046: 24, 0x0114: 16, 0x0146: 24, 0x0214: 16, 0x0346: 24 };
const keyLen = (suite) => KEY_LEN[suite] ?? 32;

test('python-commitment-kat', async () => {
  const m = json(join(VECTORS, 'python-commitment-kat/commitment-test-vectors.json'));
  for (const [i, t] of m.tests.entries()) {
    const key = b64(t['decrypted-dek']);
    const expect = t.status ? new TextEncoder().encode(t['plaintext-frames'].join('')) : 'error';
    await run(b64(t.ciphertext), { keyring: fixedKeyring(() => key) }, expect, t.status ? t['encryption-context'] : undefined)
      .catch((e) => { throw new Error(`tests[${i}]: ${e.message}`, { cause: e }); });
    count('python-commitment-kat');
  }
});

test('python-decrypt-oracle', async () => {
  const list = json(join(VECTORS, 'python-decrypt-oracle/decrypt_vectors.json'));
  for (const [i, t] of list.entries()) {
    const keyFor = t['key-type'] === 'null'
      ? (s) => new Uint8Array(keyLen(s))
      : (s) => Uint8Array.from({ length: keyLen(s) }, (_, j) => (j + 1) % 256);
    const out = await run(b64(t.ciphertext), { keyring: fixedKeyring(keyFor) }, b64(t.plaintext))
      .catch((e) => { throw new Error(`[${i}]: ${e.message}`, { cause: e }); });
    assert.equal(out.algorithmSuite, parseInt(t['algorithm-suite'], 16));
    count('python-decrypt-oracle');
  }
});

test('every case of index.json was run', () => {
  const index = json(join(VECTORS, 'index.json'));
  const expected = {};
  for (const c of index) expected[c.source] = (expected[c.source] ?? 0) + 1;
  assert.deepEqual(counts, expected);
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), index.length);
});
