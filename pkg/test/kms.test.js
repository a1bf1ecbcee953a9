// AWS KMS keyrings and the caching materials manager against a real
// moto_server on 127.0.0.1, through the real @aws-sdk/client-kms with an
// endpoint override and dummy credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as sdk from '@aws-sdk/client-kms';
import {
  encrypt, decrypt, inspect, encryptStream, decryptStream,
  AwsKmsKeyring, AwsKmsDiscoveryKeyring, MultiKeyring, RawAesKeyring,
  CachingMaterialsManager, RequiredEncryptionContextMaterialsManager, KmsEnvelopeError,
} from 'kms-envelope';
import { aesKey, bytesOf, rejectsWith } from './helpers.js';
import { startMoto, REGION, ACCOUNT } from './moto.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (b) => new TextDecoder().decode(b);
const utf8 = (s) => new TextEncoder().encode(s);

let moto;
let client;
let keyA;
let keyB;

before(async () => {
  moto = await startMoto();
  client = new sdk.KMSClient({
    region: REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const key = async () => (await client.send(new sdk.CreateKeyCommand({ Description: 'kms-envelope JS test' }))).KeyMetadata.Arn;
  keyA = await key();
  keyB = await key();
});

after(async () => {
  client?.destroy();
  await moto?.stop();
});

/** Asserts `promise` rejects with a KmsEnvelopeError; returns it. */
async function failure(promise, code) {
  let err;
  await assert.rejects(promise, (e) => { err = e; return true; });
  assert.ok(err instanceof KmsEnvelopeError, `not a KmsEnvelopeError: ${err}`);
  assert.equal(err.code, code, err.message);
  return err;
}

test('two KMS keys: encrypt with both, decrypt with either alone', async () => {
  const both = new MultiKeyring({ generator: new AwsKmsKeyring({ keyId: keyA, client }), children: [new AwsKmsKeyring({ keyId: keyB, client })] });
  const context = { app: 'kms-test' };
  const ct = await encrypt(utf8('two keys'), { keyring: both, encryptionContext: context });
  const edks = (await inspect(ct)).encryptedDataKeys;
  assert.deepEqual(edks.map((e) => e.providerId), ['aws-kms', 'aws-kms']);
  assert.deepEqual(edks.map((e) => text(e.providerInfo)), [keyA, keyB]);
  for (const keyId of [keyA, keyB]) {
    // The SDK takes the call's signal as its abortSignal.
    const out = await decrypt(ct, { keyring: new AwsKmsKeyring({ keyId, client }), encryptionContext: context, signal: new AbortController().signal });
    assert.equal(text(out.plaintext), 'two keys');
    assert.equal(out.encryptionContext.app, 'kms-test');
  }
  // A key that wrapped nothing: each key tried and why.
  const other = (await client.send(new sdk.CreateKeyCommand({}))).KeyMetadata.Arn;
  const err = await failure(decrypt(ct, { keyring: new AwsKmsKeyring({ keyId: other, client }) }), 'no_key_unwrapped');
  assert.ok(err.reasons.some((r) => r.includes(other) && r.includes('no encrypted data key for this key')), err.reasons.join('\n'));

  // Streams and a raw AES child in the same message.
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'aes', wrappingKey: aesKey() });
  const mixed = new MultiKeyring({ generator: new AwsKmsKeyring({ keyId: keyB, client }), children: [aes] });
  const chunks = [];
  await new Blob([bytesOf(300000)]).stream()
    .pipeThrough(encryptStream({ keyring: mixed, frameLength: 65536 }))
    .pipeTo(new WritableStream({ write(c) { chunks.push(c); } }));
  const streamed = new Uint8Array(await new Blob(chunks).arrayBuffer());
  for (const keyring of [aes, new AwsKmsKeyring({ keyId: keyB, client })]) {
    const out = [];
    await new Blob([streamed]).stream().pipeThrough(decryptStream({ keyring })).pipeTo(new WritableStream({ write(c) { out.push(c); } }));
    assert.deepEqual(new Uint8Array(await new Blob(out).arrayBuffer()), bytesOf(300000));
  }
});

test('discovery decrypts; a filter that excludes the account fails clearly', async () => {
  const ct = await encrypt(utf8('discover me'), { keyring: new AwsKmsKeyring({ keyId: keyA, client }) });
  for (const opts of [{}, { discoveryFilter: { partition: 'aws', accountIds: [ACCOUNT] } }, { region: REGION }]) {
    const keyring = new AwsKmsDiscoveryKeyring({ client, ...opts });
    assert.equal(text((await decrypt(ct, { keyring })).plaintext), 'discover me');
  }
  const excluded = new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws', accountIds: ['111122223333'] } });
  assert.deepEqual(excluded.discoveryFilter, { partition: 'aws', accountIds: ['111122223333'] });
  const err = await failure(decrypt(ct, { keyring: excluded }), 'no_key_unwrapped');
  assert.match(err.message, /discovery filter/);
  assert.equal(err.kmsCode, undefined, 'KMS was not asked');
  assert.equal(err.reasons.length, 1);
  // Another region, not a multi-Region key: not tried.
  const west = new AwsKmsDiscoveryKeyring({ client, region: 'us-west-2' });
  assert.match((await failure(decrypt(ct, { keyring: west }), 'no_key_unwrapped')).message, /region us-west-2/);
  await rejectsWith(encrypt(utf8('x'), { keyring: new AwsKmsDiscoveryKeyring({ client }) }), 'bad_argument', KmsEnvelopeError);
});

test('wrong encryption context: no_key_unwrapped with kmsCode InvalidCiphertextException', async () => {
  // The tenant is authenticated but not stored: decrypt must reproduce it,
  // and KMS refuses the data key under another tenant.
  const manager = (keyring) => new RequiredEncryptionContextMaterialsManager({ keyring, requiredEncryptionContextKeys: ['tenant'] });
  const keyring = new AwsKmsKeyring({ keyId: keyA, client });
  const ct = await encrypt(utf8('tenant a'), { materialsManager: manager(keyring), encryptionContext: { tenant: 'a' } });
  assert.equal(text((await decrypt(ct, { materialsManager: manager(keyring), encryptionContext: { tenant: 'a' } })).plaintext), 'tenant a');
  for (const source of [{ materialsManager: manager(keyring) }, { keyring }]) {
    const err = await failure(decrypt(ct, { ...source, encryptionContext: { tenant: 'b' } }), 'no_key_unwrapped');
    assert.equal(err.kmsCode, 'InvalidCiphertextException');
    assert.ok(err.cause instanceof sdk.InvalidCiphertextException, `cause: ${err.cause}`);
    assert.equal(err.reasons.length, 1);
    assert.ok(err.reasons[0].startsWith(`${keyA}: InvalidCiphertextException`), err.reasons[0]);
  }
});

test('multi-Region keys: mrkAware and multi-Region discovery use the local replica', async () => {
  // moto neither replicates keys nor decrypts under multi-Region keys: a
  // send-shaped client plays both replicas of one `mrk-` key by sending
  // their requests to keyA, and records the key the keyring asked for.
  const mrk = `arn:aws:kms:${REGION}:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`;
  const replica = mrk.replace(`:${REGION}:`, ':us-west-2:');
  const asked = [];
  const replicas = {
    async send(command) {
      asked.push(command.input.KeyId);
      assert.ok([mrk, replica].includes(command.input.KeyId), command.input.KeyId);
      const out = await client.send(new sdk[command.constructor.name]({ ...command.input, KeyId: keyA }));
      return { ...out, KeyId: command.input.KeyId };
    },
  };
  const ct = await encrypt(utf8('replicated'), { keyring: new AwsKmsKeyring({ keyId: mrk, client: replicas }) });
  assert.equal(text((await inspect(ct)).encryptedDataKeys[0].providerInfo), mrk);
  const strict = new AwsKmsKeyring({ keyId: replica, client: replicas });
  assert.match((await failure(decrypt(ct, { keyring: strict }), 'no_key_unwrapped')).message, /no encrypted data key for this key/);
  assert.deepEqual(asked, [mrk], 'not MRK-aware: the replica is not tried');
  const aware = new AwsKmsKeyring({ keyId: replica, client: replicas, mrkAware: true });
  assert.equal(aware.mrkAware, true);
  assert.equal(text((await decrypt(ct, { keyring: aware })).plaintext), 'replicated');
  assert.deepEqual(asked, [mrk, replica]);
  const discovery = new AwsKmsDiscoveryKeyring({ client: replicas, region: 'us-west-2' });
  assert.equal(text((await decrypt(ct, { keyring: discovery })).plaintext), 'replicated');
  assert.deepEqual(asked, [mrk, replica, replica]);
});

test('a key that does not exist: kms_error with kmsCode NotFoundException', async () => {
  const missing = `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-1111-2222-3333-444444444444`;
  const err = await failure(encrypt(utf8('x'), { keyring: new AwsKmsKeyring({ keyId: missing, client }) }), 'kms_error');
  assert.equal(err.kmsCode, 'NotFoundException');
  assert.match(err.message, /NotFoundException/);
  assert.ok(err.cause instanceof sdk.NotFoundException);
  // As a multi-keyring child (Encrypt, not GenerateDataKey) too.
  const multi = new MultiKeyring({ generator: new AwsKmsKeyring({ keyId: keyA, client }), children: [new AwsKmsKeyring({ keyId: missing, client })] });
  assert.equal((await failure(encrypt(utf8('x'), { keyring: multi }), 'kms_error')).kmsCode, 'NotFoundException');
});

test('caching: 1,000 messages with maxMessages 100 make exactly 10 GenerateDataKey calls', async () => {
  const cmm = new CachingMaterialsManager({ keyring: new AwsKmsKeyring({ keyId: keyA, client }), maxAge: 600000, maxMessages: 100 });
  await moto.startRecording();
  const messages = [];
  // Sequential: concurrent misses would each ask KMS.
  for (let i = 0; i < 1000; i++) {
    messages.push(await encrypt(utf8(`message ${i}`), { materialsManager: cmm, algorithmSuite: 0x0478, encryptionContext: { batch: '1' } }));
  }
  assert.equal(await moto.count('GenerateDataKey'), 10);
  assert.equal(await moto.count('Encrypt'), 0);
  const blobs = new Set();
  for (const m of messages) blobs.add(Buffer.from((await inspect(m)).encryptedDataKeys[0].ciphertext).toString('hex'));
  assert.equal(blobs.size, 10);
  // Decrypting through the same manager: one Decrypt per data key.
  for (let i = 0; i < 1000; i += 1) {
    assert.equal(text((await decrypt(messages[i], { materialsManager: cmm })).plaintext), `message ${i}`);
  }
  assert.equal(await moto.count('Decrypt'), 10);
  assert.ok(cmm.cache.size >= 11, `cache size ${cmm.cache.size}`);
});

test('caching: a data key older than maxAge is not reused', async () => {
  const cmm = new CachingMaterialsManager({ keyring: new AwsKmsKeyring({ keyId: keyB, client }), maxAge: 300 });
  await moto.startRecording();
  const edk = async () => Buffer.from((await inspect(await encrypt(utf8('aging'), { materialsManager: cmm, algorithmSuite: 0x0478 }))).encryptedDataKeys[0].ciphertext).toString('hex');
  const first = await edk();
  assert.equal(await edk(), first);
  assert.equal(await moto.count('GenerateDataKey'), 1);
  await sleep(450);
  const third = await edk();
  assert.notEqual(third, first);
  assert.equal(await moto.count('GenerateDataKey'), 2);
  assert.equal(await edk(), third);
});

test('a send-shaped client that is not the AWS SDK, and explicit command classes', async () => {
  const seen = [];
  // Plain commands: `input` and the SDK's class names.
  const wrapper = {
    async send(command) {
      seen.push({ name: command.constructor.name, input: command.input });
      return client.send(new sdk[command.constructor.name](command.input));
    },
  };
  const keyring = new MultiKeyring({
    generator: new AwsKmsKeyring({ keyId: keyA, client: wrapper, grantTokens: ['token-1'] }),
    children: [new AwsKmsKeyring({ keyId: keyB, client: wrapper })],
  });
  const ct = await encrypt(utf8('wrapped'), { keyring, encryptionContext: { k: 'v' } });
  assert.deepEqual(seen.map((s) => s.name), ['GenerateDataKeyCommand', 'EncryptCommand']);
  assert.equal(seen[0].input.KeyId, keyA);
  assert.equal(seen[0].input.NumberOfBytes, 32);
  assert.deepEqual(seen[0].input.GrantTokens, ['token-1']);
  assert.equal(seen[0].input.EncryptionContext.k, 'v');
  assert.ok(seen[0].input.EncryptionContext['aws-crypto-public-key'], 'the full context goes to KMS');
  assert.equal(seen[1].input.GrantTokens, undefined);
  assert.ok(seen[1].input.Plaintext.every((b) => b === 0), 'the data key copy is zeroed after the call');
  const out = await decrypt(ct, { keyring: new AwsKmsKeyring({ keyId: keyB, client: wrapper }) });
  assert.equal(text(out.plaintext), 'wrapped');
  assert.equal(seen.at(-1).name, 'DecryptCommand');
  assert.ok(seen.at(-1).input.CiphertextBlob instanceof Uint8Array);
  // The SDK client with its command classes given explicitly.
  const explicit = new AwsKmsKeyring({ keyId: keyA, client, commands: sdk });
  assert.equal(text((await decrypt(await encrypt(utf8('explicit'), { keyring: explicit }), { keyring: explicit })).plaintext), 'explicit');
});

test('bad arguments and bad responses', async () => {
  assert.throws(() => new AwsKmsKeyring({ keyId: keyA }), (e) => e.code === 'bad_argument' && /send/.test(e.message));
  assert.throws(() => new AwsKmsKeyring({ keyId: '', client }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsKeyring({ keyId: 'arn:aws:kms:nope', client }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsKeyring({ keyId: keyA, client, mrkAware: 'yes' }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsKeyring({ keyId: keyA, client, grantTokens: 'token' }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsKeyring({ keyId: keyA, client, commands: { EncryptCommand: class {} } }), (e) => e.code === 'bad_argument' && /GenerateDataKeyCommand/.test(e.message));
  assert.throws(() => new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws' } }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsDiscoveryKeyring({ client, discoveryFilter: { partition: 'aws', accountIds: [] } }), (e) => e.code === 'bad_argument');
  assert.throws(() => new AwsKmsDiscoveryKeyring({ client, region: 7 }), (e) => e.code === 'bad_argument');
  // A client that answers nonsense: kms_error InvalidResponse.
  const answer = (out) => ({ keyId: keyA, client: { send: async () => out } });
  for (const out of [{ KeyId: keyA, Plaintext: 'not bytes', CiphertextBlob: new Uint8Array(1) }, { KeyId: 5 }, null, { KeyId: 'not-an-arn', Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(1) }]) {
    const err = await failure(encrypt(utf8('x'), { keyring: new AwsKmsKeyring(answer(out)) }), 'kms_error');
    assert.equal(err.kmsCode, 'InvalidResponse', err.message);
  }
  // A data key of the wrong length.
  const short = answer({ KeyId: keyA, Plaintext: new Uint8Array(16), CiphertextBlob: new Uint8Array(1) });
  assert.equal((await failure(encrypt(utf8('x'), { keyring: new AwsKmsKeyring(short) }), 'kms_error')).kmsCode, 'InvalidResponse');
  // A client that throws synchronously, or rejects with a coded error.
  const boom = Object.assign(new Error('throttled'), { code: 'ThrottlingException' });
  const err = await failure(encrypt(utf8('x'), { keyring: new AwsKmsKeyring({ keyId: keyA, client: { send() { throw boom; } } }) }), 'kms_error');
  assert.equal(err.kmsCode, 'ThrottlingException');
  assert.equal(err.cause, boom);
});

test('a client that hands out one response twice: its wiped data key is refused, not used', async () => {
  // The package zeroes the Plaintext of each answer once it has read it; a
  // caching client that returns the same object again would hand over an
  // all-zero key, under which anyone could read the message.
  let cached;
  const caching = {
    async send(command) {
      if (command.constructor.name !== 'GenerateDataKeyCommand') return client.send(new sdk[command.constructor.name](command.input));
      cached ??= await client.send(new sdk.GenerateDataKeyCommand(command.input));
      return cached;
    },
  };
  const keyring = new AwsKmsKeyring({ keyId: keyA, client: caching });
  const first = await encrypt(utf8('first'), { keyring });
  assert.equal(text((await decrypt(first, { keyring })).plaintext), 'first');
  await rejectsWith(encrypt(utf8('second'), { keyring }), 'kms_error', KmsEnvelopeError);
  await assert.rejects(encrypt(utf8('second'), { keyring }), /all-zero data key/);
});
