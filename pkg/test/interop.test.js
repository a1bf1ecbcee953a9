// Interop both ways with the official JS ESDK, @aws-crypto/client-node:
// raw AES and raw RSA keyrings, signed and unsigned suites, one-shot and
// streaming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import esdk from '@aws-crypto/client-node';
import { encrypt, decrypt, encryptStream, decryptStream, RawAesKeyring, RawRsaKeyring } from 'kms-envelope';
import { aesKey, rsaPair, bytesOf } from './helpers.js';

const {
  buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode,
} = esdk;
const node = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const nodeForbid = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);

const key = aesKey();
const WRAP = { 16: 'AES128_GCM_IV12_TAG16_NO_PADDING', 24: 'AES192_GCM_IV12_TAG16_NO_PADDING', 32: 'AES256_GCM_IV12_TAG16_NO_PADDING' };
const pair = () => {
  const { publicKey, privateKey } = rsaPair();
  return {
    ours: new RawRsaKeyring({ keyNamespace: 'interop', keyName: 'rsa', padding: 'oaep-sha256', publicKey, privateKey }),
    theirs: new RawRsaKeyringNode({ keyNamespace: 'interop', keyName: 'rsa', rsaKey: { publicKey, privateKey }, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }),
  };
};
const KEYRINGS = {
  'raw AES': () => ({
    ours: new RawAesKeyring({ keyNamespace: 'interop', keyName: 'aes', wrappingKey: key }),
    // client-node zeroes the key it is given: pass a copy.
    theirs: new RawAesKeyringNode({ keyNamespace: 'interop', keyName: 'aes', unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier[WRAP[key.length]] }),
  }),
  'raw RSA': pair,
};
const SUITES = [0x0478, 0x0578, 0x0178, 0x0378, 0x0014];
const ctx = { department: 'interop', 'user id': '42' };
const client = (suite) => (suite >= 0x0478 ? node : nodeForbid);
const policy = (suite) => (suite >= 0x0478 ? 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' : 'FORBID_ENCRYPT_ALLOW_DECRYPT');

async function drain(readable) {
  const parts = [];
  await pipeline(readable, new Writable({ write(c, _e, cb) { parts.push(c); cb(); } }));
  return new Uint8Array(Buffer.concat(parts));
}

for (const [kname, make] of Object.entries(KEYRINGS)) {
  for (const suite of SUITES) {
    const label = `${kname}, 0x${suite.toString(16).padStart(4, '0')}`;
    test(`kms-envelope -> client-node, ${label}`, async () => {
      const { ours, theirs } = make();
      for (const len of [0, 1, 5000]) {
        const pt = bytesOf(len, len + suite);
        const ct = await encrypt(pt, { keyring: ours, algorithmSuite: suite, encryptionContext: ctx, frameLength: 1024, commitmentPolicy: policy(suite) });
        const { plaintext, messageHeader } = await client(suite).decrypt(theirs, ct);
        assert.deepEqual(new Uint8Array(plaintext), pt);
        assert.equal(messageHeader.encryptionContext.department, 'interop');
        assert.equal(messageHeader.suiteId, suite);
      }
    });
    test(`client-node -> kms-envelope, ${label}`, async () => {
      const { ours, theirs } = make();
      for (const len of [0, 1, 5000]) {
        const pt = bytesOf(len, len + suite + 1);
        const { result } = await client(suite).encrypt(theirs, pt, { suiteId: suite, encryptionContext: ctx, frameLength: 1024 });
        const out = await decrypt(new Uint8Array(result), { keyring: ours, encryptionContext: ctx, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
        assert.deepEqual(out.plaintext, pt);
        assert.equal(out.algorithmSuite, suite);
      }
    });
  }
  for (const suite of [0x0478, 0x0578]) {
    const label = `${kname}, 0x${suite.toString(16).padStart(4, '0')}`;
    test(`streaming: kms-envelope encryptStream -> client-node decryptStream, ${label}`, async () => {
      const { ours, theirs } = make();
      const pt = bytesOf(300000, suite);
      const ct = encryptStream({ keyring: ours, algorithmSuite: suite, encryptionContext: ctx, frameLength: 4096 });
      const writer = ct.writable.getWriter();
      const feed = (async () => { for (let i = 0; i < pt.length; i += 7000) await writer.write(pt.subarray(i, i + 7000)); await writer.close(); })();
      const out = await drain(Readable.fromWeb(ct.readable).pipe(node.decryptStream(theirs)));
      await feed;
      assert.deepEqual(out, pt);
    });
    test(`streaming: client-node encryptStream -> kms-envelope decryptStream, ${label}`, async () => {
      const { ours, theirs } = make();
      const pt = bytesOf(300000, suite + 5);
      const enc = Readable.from([Buffer.from(pt)]).pipe(node.encryptStream(theirs, { suiteId: suite, encryptionContext: ctx, frameLength: 4096 }));
      const ds = decryptStream({ keyring: ours, encryptionContext: ctx });
      const out = await drain(Readable.fromWeb(Readable.toWeb(enc).pipeThrough(ds)));
      assert.deepEqual(out, pt);
      assert.equal((await ds.result).header.algorithmSuite, suite);
    });
  }
}

// client-node's raw AES keyring sorts the context's keys with localeCompare
// unless built with utf8Sorting: true (message-format.md 18.10); jsLegacyOrder
// reads what it wrapped that way, and writing stays in the specification's order.
const legacyFixtures = JSON.parse(readFileSync(new URL('../../tests/data/js-legacy-order/messages.json', import.meta.url), 'utf8'));

test('jsLegacyOrder reads client-node messages wrapped in localeCompare order', async () => {
  const f = legacyFixtures;
  const wrappingKey = Buffer.from(f.key, 'hex');
  const plain = new RawAesKeyring({ keyNamespace: f.keyNamespace, keyName: f.keyName, wrappingKey });
  const legacy = new RawAesKeyring({ keyNamespace: f.keyNamespace, keyName: f.keyName, wrappingKey, jsLegacyOrder: true });
  assert.ok(f.messages.filter((m) => m.orderDiffers).length >= 5);
  for (const m of f.messages) {
    const ct = Buffer.from(m.ciphertext, 'base64');
    const out = await decrypt(ct, { keyring: legacy, encryptionContext: m.context, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
    assert.equal(Buffer.from(out.plaintext).toString(), m.plaintext, m.name);
    const spec = decrypt(ct, { keyring: plain, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
    if (m.orderDiffers) await assert.rejects(spec, { code: 'no_key_unwrapped' }, m.name);
    else assert.equal(Buffer.from((await spec).plaintext).toString(), m.plaintext);
  }
});

test('jsLegacyOrder: fresh client-node messages, one-shot and streamed; writing unchanged', async () => {
  const legacyOurs = new RawAesKeyring({ keyNamespace: 'interop', keyName: 'aes', wrappingKey: key, jsLegacyOrder: true });
  const { ours, theirs } = KEYRINGS['raw AES']();
  const utf8Theirs = new RawAesKeyringNode({ keyNamespace: 'interop', keyName: 'aes', unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier[WRAP[key.length]], utf8Sorting: true });
  const context = { Tenant: 'acme', 'Ärger': 'x', region: 'eu', _id: '7' };
  for (const suite of [0x0478, 0x0578]) {
    const pt = bytesOf(5000, suite);
    const { result } = await node.encrypt(theirs, pt, { suiteId: suite, encryptionContext: context, frameLength: 1024 });
    await assert.rejects(decrypt(new Uint8Array(result), { keyring: ours }), { code: 'no_key_unwrapped' });
    assert.deepEqual((await decrypt(new Uint8Array(result), { keyring: legacyOurs, encryptionContext: context })).plaintext, pt);
    const ds = decryptStream({ keyring: legacyOurs, encryptionContext: context });
    const streamed = await new Response(new Blob([result]).stream().pipeThrough(ds)).arrayBuffer();
    assert.deepEqual(new Uint8Array(streamed), pt);
    // What the legacy-reading keyring writes is in the specification's
    // order: client-node with utf8Sorting: true reads it.
    const ct = await encrypt(pt, { keyring: legacyOurs, algorithmSuite: suite, encryptionContext: context });
    assert.deepEqual(new Uint8Array((await node.decrypt(utf8Theirs, ct)).plaintext), pt);
  }
  await assert.rejects(async () => new RawAesKeyring({ keyNamespace: 'a', keyName: 'b', wrappingKey: key, jsLegacyOrder: 'yes' }), { code: 'bad_argument', message: /jsLegacyOrder must be true or false/ });
});

// The writer's locale: the root collation is tried whatever the reader's
// locale, and the reader's own locale after it.
test('jsLegacyOrder: readers and writers under other locales (Danish)', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `
    import esdk from '@aws-crypto/client-node';
    import { decrypt, RawAesKeyring } from 'kms-envelope';
    import { readFileSync } from 'node:fs';
    const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdk;
    const key = new Uint8Array(32).fill(5);
    const ours = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: key, jsLegacyOrder: true });
    const out = { locale: new Intl.Collator().resolvedOptions().locale, fixtures: [] };
    // The committed fixtures were written under the root collation.
    const f = JSON.parse(readFileSync(${JSON.stringify(fileURLToPathCompat('../../tests/data/js-legacy-order/messages.json'))}, 'utf8'));
    const legacy = new RawAesKeyring({ keyNamespace: f.keyNamespace, keyName: f.keyName, wrappingKey: Buffer.from(f.key, 'hex'), jsLegacyOrder: true });
    for (const m of f.messages) {
      const d = await decrypt(Buffer.from(m.ciphertext, 'base64'), { keyring: legacy, commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' });
      out.fixtures.push(Buffer.from(d.plaintext).toString() === m.plaintext);
    }
    // A message client-node writes here, where 'aa' sorts after 'b' (as å).
    const theirs = new RawAesKeyringNode({ keyNamespace: 'ns', keyName: 'k', unencryptedMasterKey: key.slice(), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
    const { result } = await buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).encrypt(theirs, Buffer.from('dansk'), { encryptionContext: { aa: '1', b: '2' }, suiteId: 0x0478 });
    out.written = Buffer.from(result).toString('base64');
    out.readHere = Buffer.from((await decrypt(result, { keyring: ours })).plaintext).toString();
    console.log(JSON.stringify(out));
  `;
  const run = (lang) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPathCompat('..'), env: { ...process.env, LC_ALL: lang, LANG: lang }, encoding: 'utf8',
  }));
  const danish = run('da_DK.UTF-8');
  assert.equal(danish.locale, 'da-DK');
  assert.deepEqual(danish.fixtures, legacyFixtures.messages.map(() => true), 'root-collated fixtures read under a Danish locale');
  assert.equal(danish.readHere, 'dansk', 'a Danish-collated message read under the same locale');
  // Read under root collation only (this process may run under any
  // locale; the C locale is root): the Danish order is not tried.
  const rootOnly = run('C.UTF-8');
  assert.equal(rootOnly.readHere, 'dansk', 'its own message, written under C');
  const ours = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: new Uint8Array(32).fill(5), jsLegacyOrder: true });
  assert.equal(ours.jsLegacyOrder, true);
  if (new Intl.Collator().resolvedOptions().locale.startsWith('en') || new Intl.Collator().resolvedOptions().locale === 'und') {
    await assert.rejects(decrypt(Buffer.from(danish.written, 'base64'), { keyring: ours }), { code: 'no_key_unwrapped' });
  }
});

function fileURLToPathCompat(rel) {
  return decodeURIComponent(new URL(rel, import.meta.url).pathname);
}
