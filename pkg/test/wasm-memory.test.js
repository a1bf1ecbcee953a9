// Wasm memory never shrinks: whatever a call copies into it stays mapped
// for the life of the process. A one-shot decrypt on the external path must
// leave the message in the caller's buffer and copy in only the header and
// each frame's head. This file runs in its own process (node --test), so
// no earlier test has grown the memory already.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encrypt, decrypt, decryptStream, inspect, AwsKmsKeyring, RawAesKeyring } from 'kms-envelope';
import { bulkHost, setBulk } from '../src/external.js';
import { initSync } from '../dist/kms_envelope_wasm.js';
import { aesKey, streamingHost } from './helpers.js';

/** The wasm instance's memory size (initSync returns the running instance). */
const wasmMemory = () => initSync().memory.buffer.byteLength;

test('a stream header refused at its limit never reaches wasm memory', async () => {
  // 65,535 keys of three 64 KiB fields (all 0xff): a 12.9 GiB header,
  // refused once 64 MiB of it arrived. The core's buffer, grown piece by
  // piece, left wasm memory 128 MiB larger.
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'hostile', wrappingKey: aesKey() });
  const start = new Uint8Array(39);
  start.set([2, 0x05, 0x78]);
  start.set([0, 0, 0xff, 0xff], 35);
  const filler = new Uint8Array(1 << 20).fill(0xff);
  const before = wasmMemory();
  const stream = decryptStream({ keyring });
  // A pending read: the stream takes input only while someone reads.
  const read = stream.readable.getReader().read();
  const writer = stream.writable.getWriter();
  await writer.write(start);
  let sent = 0;
  await assert.rejects((async () => {
    for (;;) {
      await writer.write(filler);
      sent += filler.length;
    }
  })(), (e) => e.code === 'policy_violation' && /header/.test(e.message));
  await assert.rejects(read, (e) => e.code === 'policy_violation');
  assert.ok(sent >= 63 << 20, `refused after ${sent} bytes`);
  const grown = wasmMemory() - before;
  assert.ok(grown < 4 << 20, `wasm memory grew by ${grown} bytes`);
});

test('inspect copies only the header into wasm memory', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'inspect', wrappingKey: aesKey() });
  const ct = await encrypt(new Uint8Array(48 << 20), { keyring, algorithmSuite: 0x0478 });
  const before = wasmMemory();
  assert.equal((await inspect(ct)).algorithmSuite, 0x0478);
  // It copied the whole message in: 48 MiB more, for good.
  const grown = wasmMemory() - before;
  assert.ok(grown < 1 << 20, `wasm memory grew by ${grown} bytes`);
  // Cut short in the header, it still says so.
  await assert.rejects(inspect(ct.subarray(0, 100)), (e) => e.code === 'malformed_message');
});

test('a 40 MiB one-shot decrypt does not grow wasm memory by the message', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'mem', wrappingKey: aesKey() });
  const pt = new Uint8Array(40 << 20).fill(3);
  for (const suite of [0x0478, 0x0578]) {
    const ct = await encrypt(pt, { keyring, algorithmSuite: suite });
    const before = wasmMemory();
    const { plaintext } = await decrypt(ct, { keyring });
    assert.equal(plaintext.length, pt.length);
    assert.ok(plaintext.every((b) => b === 3));
    // The copying path grew it by about twice the message (84 MiB here).
    const grown = wasmMemory() - before;
    assert.ok(grown < 4 << 20, `suite ${suite}: wasm memory grew by ${grown} bytes for ${ct.length}`);
  }
});

test('a host-path decryptStream given one large chunk copies only pieces of it into wasm', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'mem', wrappingKey: aesKey() });
  const ct = await encrypt(new Uint8Array(40 << 20).fill(5), { keyring, algorithmSuite: 0x0478, frameLength: 65536 });
  const node = bulkHost();
  setBulk(streamingHost(node));
  try {
    const before = wasmMemory();
    let got = 0;
    await new Blob([ct]).stream().pipeThrough(decryptStream({ keyring }))
      .pipeTo(new WritableStream({ write(b) { got += b.length; } }));
    assert.equal(got, 40 << 20);
    const grown = wasmMemory() - before;
    assert.ok(grown < 8 << 20, `wasm memory grew by ${grown} bytes`);
  } finally {
    setBulk(node);
  }
});

test('oversized fields from a KMS client or a custom keyring are refused before they reach wasm memory', async () => {
  // No field of a KMS response or an encrypted data key can exceed 64 KiB;
  // a 2.2 GB one used to be copied in first, and its allocation trapped,
  // killing the process.
  const arn = 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const big = new Uint8Array(64 << 20);
  const before = wasmMemory();
  const kmsAnswering = (out) => new AwsKmsKeyring({ keyId: arn, client: { send: async () => out } });
  for (const out of [
    { KeyId: arn, Plaintext: new Uint8Array(32), CiphertextBlob: big },
    { KeyId: arn, Plaintext: big, CiphertextBlob: new Uint8Array(1) },
    { KeyId: 'a'.repeat(1 << 20), Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(1) },
  ]) {
    await assert.rejects(encrypt(new Uint8Array(1), { keyring: kmsAnswering(out) }),
      (e) => e.code === 'kms_error' && e.kmsCode === 'InvalidResponse' && /at most 65535/.test(e.message));
  }
  const custom = (edk) => ({
    async onEncrypt() {
      return { plaintextDataKey: new Uint8Array(32), encryptedDataKeys: [edk] };
    },
    async onDecrypt() { return null; },
  });
  for (const edk of [
    { providerId: 'p', providerInfo: new Uint8Array(1), ciphertext: big },
    { providerId: 'p', providerInfo: big, ciphertext: new Uint8Array(1) },
    { providerId: 'p'.repeat(1 << 20), providerInfo: new Uint8Array(1), ciphertext: new Uint8Array(1) },
  ]) {
    await assert.rejects(encrypt(new Uint8Array(1), { keyring: custom(edk) }),
      (e) => e.code === 'bad_argument' && /at most 65535/.test(e.message));
  }
  assert.ok(wasmMemory() - before < 4 << 20, `wasm memory grew by ${wasmMemory() - before} bytes`);
});
