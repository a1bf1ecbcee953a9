// Writes messages.json: messages that @aws-crypto/client-node's raw AES
// keyring wrote with its default `utf8Sorting: false`, so that the wrapped
// data key authenticates the encryption context in `localeCompare` order.
// The Rust, Python, C and JavaScript tests read them back through the
// keyrings' legacy-order option (and fail to without it).
//
//   cd pkg && node ../tests/data/js-legacy-order/generate.mjs
//
// Needs the package's devDependencies (pkg/node_modules). The output is
// committed: it is fixed input, made once by the peer SDK.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(new URL('../../../pkg/package.json', import.meta.url));
const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, AlgorithmSuiteIdentifier } = require('@aws-crypto/client-node');

const key = new Uint8Array(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
const keyring = () => new RawAesKeyringNode({
  keyNamespace: 'legacy-js', keyName: 'aes-256', unencryptedMasterKey: key.slice(),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
// `differs`: whether localeCompare orders the keys (with the suite's
// aws-crypto-public-key for signed suites) differently from UTF-8 bytes.
const cases = [
  { name: 'capital beside the public key', suite: 0x0578, context: { Tenant: 'acme' }, differs: true },
  { name: 'mixed case, unsigned', suite: 0x0478, context: { a: '1', B: '2' }, differs: true },
  { name: 'non-ASCII, unsigned', suite: 0x0478, context: { 'é': '1', f: '2' }, differs: true },
  { name: 'many kinds of key', suite: 0x0578, context: { Zebra: 'z', apple: 'a', _id: 'u', '9lives': 'n', 'Ärger': 'x', 'ß': 's', 'a-b': '1', a_b: '2', aB: '3', ab: '4', A: '5' }, differs: true },
  { name: 'message format 1, signed', suite: 0x0378, context: { Department: 'sales', region: 'eu' }, differs: true },
  { name: 'same order either way', suite: 0x0578, context: { tenant: 'acme', zone: 'b' }, differs: false },
];
const messages = [];
for (const c of cases) {
  const policy = c.suite === 0x0378 ? CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT : CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT;
  const { encrypt, decrypt } = buildClient(policy);
  const plaintext = `legacy order: ${c.name}`;
  const { result } = await encrypt(keyring(), Buffer.from(plaintext), { encryptionContext: c.context, suiteId: c.suite, frameLength: 64 });
  const back = await decrypt(keyring(), result);
  if (back.plaintext.toString() !== plaintext) throw new Error(`client-node does not read back ${c.name}`);
  const sorted = (cmp) => Object.keys(back.messageHeader.encryptionContext).sort(cmp).join('\n');
  const differs = sorted((a, b) => a.localeCompare(b)) !== sorted((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (differs !== c.differs) throw new Error(`${c.name}: the orders ${differs ? 'differ' : 'agree'}`);
  messages.push({ name: c.name, suite: c.suite, context: c.context, orderDiffers: c.differs, plaintext, ciphertext: Buffer.from(result).toString('base64') });
}
// Keys of many kinds in localeCompare order, for a check of the collation
// alone: letters of both cases, digits, punctuation, accented and other
// scripts, from a fixed pseudo-random sequence.
const alphabet = [...'aAbBzZ09_-.:/ @~éÉèçÄäöÖßøÅåñΩωжЖ中日한👍'];
let seed = 0x2545f491;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
const keys = new Set();
while (keys.size < 400) keys.add(Array.from({ length: 1 + (next() % 6) }, () => alphabet[next() % alphabet.length]).join(''));
const sortedKeys = [...keys].sort((a, b) => a.localeCompare(b));
for (let i = 1; i < sortedKeys.length; i++) {
  if (sortedKeys[i - 1].localeCompare(sortedKeys[i]) === 0) throw new Error(`keys collate equal: ${sortedKeys[i - 1]} ${sortedKeys[i]}`);
}
const out = {
  about: 'Made by generate.mjs with @aws-crypto/client-node ' + require('@aws-crypto/client-node/package.json').version +
    ' (RawAesKeyringNode, utf8Sorting left at its default, false); do not edit.',
  keyNamespace: 'legacy-js', keyName: 'aes-256', key: Buffer.from(key).toString('hex'), messages,
  collation: { runtime: `Node ${process.version}, ICU ${process.versions.icu}`, locale: new Intl.Collator().resolvedOptions().locale, sortedKeys },
};
writeFileSync(`${here}/messages.json`, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${messages.length} messages to ${here}messages.json`);
