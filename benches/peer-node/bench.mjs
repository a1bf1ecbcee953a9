// Benchmark peer: the official JavaScript AWS Encryption SDK for Node
// (@aws-crypto/client-node on npm) with a raw AES-256 keyring, on the
// workloads of benches/kms-bench. Prints one JSON object on standard output;
// progress goes to standard error.
//
//   node bench.mjs [--seconds S] [--quick]
//
// Every figure is the best of 3 rounds of a fixed wall time (at least one
// operation each) after a warm-up. MB/s are 10^6 plaintext bytes per second.

import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier
} from '@aws-crypto/client-node'

const MIB = 1 << 20
const FRAME = 4096
const POOL = 64
const CONTEXT = { bench: 'kms-envelope' }
const SUITES = {
  '0478': AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  '0578': AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
}

let seconds = 1.5
let rounds = 3
let big = 64 * MIB
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--seconds') seconds = Number(argv[++i])
  else if (argv[i] === '--quick') { seconds = 0.2; rounds = 1; big = 4 * MIB } else {
    console.error(`usage: node bench.mjs [--seconds S] [--quick] (got ${argv[i]})`)
    process.exit(2)
  }
}

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
const key = Buffer.alloc(32, 7)
// RawAesKeyringNode zeroes the buffer it is given: pass a copy.
const keyring = new RawAesKeyringNode({
  keyName: 'key',
  keyNamespace: 'bench',
  unencryptedMasterKey: Uint8Array.from(key),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING
})

function data (length) {
  const block = Buffer.alloc(4096)
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff
  const out = Buffer.alloc(length)
  for (let off = 0; off < length; off += block.length) block.copy(out, off)
  return out
}

async function enc (plaintext, suite) {
  const { result } = await encrypt(keyring, plaintext, {
    encryptionContext: CONTEXT,
    suiteId: SUITES[suite],
    frameLength: FRAME
  })
  return result
}

async function dec (ciphertext) {
  const { plaintext } = await decrypt(keyring, ciphertext)
  return plaintext
}

// Operations per second: best of `rounds` rounds after a warm-up.
async function measure (op) {
  let i = 0
  let start = performance.now()
  while (i === 0 || performance.now() - start < seconds * 250) await op(i++)
  let r = rounds
  if ((performance.now() - start) / i > 5000) r = 1
  let best = 0
  for (let k = 0; k < r; k++) {
    let n = 0
    start = performance.now()
    while (n === 0 || performance.now() - start < seconds * 1000) { await op(i++); n++ }
    best = Math.max(best, n / ((performance.now() - start) / 1000))
  }
  return best
}

const results = []
const bigPt = data(big)
const smallPt = data(1024)
for (const suite of ['0478', '0578']) {
  const ct = await enc(bigPt, suite)
  if (!Buffer.from(await dec(ct)).equals(bigPt)) throw new Error('round trip')
  const mb = big / 1e6
  const e = await measure(() => enc(bigPt, suite)) * mb
  const d = await measure(() => dec(ct)) * mb
  console.error(`@aws-crypto/client-node ${suite}: 64 MiB encrypt ${e.toFixed(1)} MB/s, decrypt ${d.toFixed(1)} MB/s`)
  results.push({ workload: 'encrypt-64MiB', suite, threads: 1, value: e, unit: 'MB/s', bytes: big })
  results.push({ workload: 'decrypt-64MiB', suite, threads: 1, value: d, unit: 'MB/s', bytes: big })

  // 1 KiB messages, a fresh data key each; decrypt cycles through distinct messages.
  const pool = []
  for (let k = 0; k < POOL; k++) pool.push(await enc(smallPt, suite))
  if (!Buffer.from(await dec(pool[0])).equals(smallPt)) throw new Error('round trip')
  const e1 = await measure(() => enc(smallPt, suite))
  const d1 = await measure((i) => dec(pool[i % POOL]))
  console.error(`@aws-crypto/client-node ${suite}: 1 KiB encrypt ${e1.toFixed(0)} msg/s, decrypt ${d1.toFixed(0)} msg/s`)
  results.push({ workload: 'encrypt-1KiB', suite, threads: 1, value: e1, unit: 'msg/s' })
  results.push({ workload: 'decrypt-1KiB', suite, threads: 1, value: d1, unit: 'msg/s' })
}

const require = createRequire(import.meta.url)
const version = require('@aws-crypto/client-node/package.json').version
process.stdout.write(JSON.stringify({
  sdk: '@aws-crypto/client-node',
  language: 'JavaScript (Node)',
  version,
  backend: `node:crypto (OpenSSL ${process.versions.openssl}), Node ${process.version}`,
  seconds,
  results
}, null, 2) + '\n')
