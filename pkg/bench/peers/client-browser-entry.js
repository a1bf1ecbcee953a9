// Bundled by esbuild for the browser benchmark. client-browser's ASN.1
// dependency expects a global Buffer.
import { Buffer } from 'buffer';
globalThis.Buffer ??= Buffer;
export { buildClient, CommitmentPolicy, RawAesKeyringWebCrypto, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-browser';
