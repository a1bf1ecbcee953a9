// Type declarations of the npm package `kms-envelope` (Node and browsers).

/** Stable error codes, one per error kind of the core. */
export declare const ErrorCode: {
  readonly MALFORMED_MESSAGE: 'malformed_message';
  readonly AUTHENTICATION_FAILED: 'authentication_failed';
  readonly NO_KEY_UNWRAPPED: 'no_key_unwrapped';
  readonly POLICY_VIOLATION: 'policy_violation';
  readonly KMS_ERROR: 'kms_error';
  readonly BAD_ARGUMENT: 'bad_argument';
  readonly IO_ERROR: 'io_error';
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Every error this package throws or rejects with. Branch on `code`, not on
 * the message.
 */
export declare class KmsEnvelopeError extends Error {
  /**
   * A custom keyring or KMS client may throw one: `'no_key_unwrapped'`
   * (with `reasons`, if set), `'bad_argument'`, `'policy_violation'`,
   * `'malformed_message'` and `'io_error'` reach the caller as that code;
   * any other code, like any other thrown value, becomes a `'kms_error'`
   * whose `kmsCode` is that code.
   */
  constructor(message: string, code: ErrorCode, options?: { cause?: unknown });
  readonly name: 'KmsEnvelopeError';
  readonly code: ErrorCode;
  /**
   * The key service's error code behind a `kms_error` (e.g.
   * `'NotFoundException'`, `'AccessDeniedException'`; a custom keyring's
   * thrown `code` or `name`), and behind a `no_key_unwrapped` when a key
   * service refused (e.g. `'InvalidCiphertextException'`): then the first
   * such refusal's.
   */
  readonly kmsCode?: string;
  /** On `no_key_unwrapped`: one line per key tried and why it failed. */
  readonly reasons?: string[];
  /**
   * On `kms_error` and `no_key_unwrapped`: the first value a KMS client or
   * custom keyring threw during the call (an AWS SDK `ServiceException`, ...).
   */
  readonly cause?: unknown;
}

/** Bytes: a Uint8Array (Node Buffers are Uint8Arrays) or an ArrayBuffer. */
export type Bytes = Uint8Array | ArrayBuffer;

/**
 * A `node:crypto` `KeyObject` (Node only), described by shape so that
 * browser builds need no Node types: a secret key for
 * {@link RawAesKeyring}, an RSA public or private key for
 * {@link RawRsaKeyring}. The key is exported once, copied, and the copy
 * wiped after use.
 */
export interface NodeKeyObject {
  readonly type: 'secret' | 'public' | 'private';
  readonly asymmetricKeyType?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export(options?: any): unknown;
}

/** String pairs, authenticated with the message and stored in its header. */
export type EncryptionContext = Record<string, string> | Map<string, string>;

type SuiteHex = '0014' | '0046' | '0078' | '0114' | '0146' | '0178' | '0214' | '0346' | '0378' | '0478' | '0578';

/** An ESDK algorithm suite id such as `0x0578`, its hex string `'0578'` / `'0x0578'`, or its name. */
export type AlgorithmSuiteId =
  | 0x0014 | 0x0046 | 0x0078 | 0x0114 | 0x0146 | 0x0178 | 0x0214 | 0x0346 | 0x0378 | 0x0478 | 0x0578
  | number | SuiteHex | `0x${SuiteHex}` | AlgorithmSuiteName;

/**
 * Suite names as the specification spells them (what `algorithmSuiteName`
 * reports) and as `@aws-crypto/client-node`'s `AlgorithmSuiteIdentifier`
 * does. At run time any SDK's spelling is taken, in any case (Python's
 * `AES_256_GCM_HKDF_SHA512_COMMIT_KEY` too).
 */
export type AlgorithmSuiteName =
  | 'ALG_AES_128_GCM_IV12_TAG16_NO_KDF' | 'ALG_AES_192_GCM_IV12_TAG16_NO_KDF' | 'ALG_AES_256_GCM_IV12_TAG16_NO_KDF'
  | 'ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256' | 'ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256' | 'ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256'
  | 'ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256' | 'ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384'
  | 'ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384'
  | 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY' | 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384'
  | 'ALG_AES128_GCM_IV12_TAG16' | 'ALG_AES192_GCM_IV12_TAG16' | 'ALG_AES256_GCM_IV12_TAG16'
  | 'ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256' | 'ALG_AES192_GCM_IV12_TAG16_HKDF_SHA256' | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256'
  | 'ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256' | 'ALG_AES192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384'
  | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384'
  | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY' | 'ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384';

export type CommitmentPolicy =
  | 'FORBID_ENCRYPT_ALLOW_DECRYPT'
  | 'REQUIRE_ENCRYPT_ALLOW_DECRYPT'
  | 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT';

/** One wrapped copy of the data key. */
export interface EncryptedDataKey {
  providerId: string;
  providerInfo: Uint8Array;
  ciphertext: Uint8Array;
}

/** An EDK a custom keyring returns: `providerInfo` defaults to empty. */
export interface EncryptedDataKeyInit {
  providerId: string;
  providerInfo?: Uint8Array;
  ciphertext: Uint8Array;
}

/** What a custom keyring sees on encrypt. */
export interface EncryptionMaterials {
  algorithmSuite: number;
  /** The full context, including `aws-crypto-public-key` on signing suites. */
  encryptionContext: Record<string, string>;
  /**
   * Keys of `encryptionContext` whose pairs the message will not store
   * (a {@link RequiredEncryptionContextMaterialsManager} requires them):
   * they are authenticated, and the decrypting caller must supply them.
   */
  requiredEncryptionContextKeys: string[];
  /** Set when another keyring (a multi-keyring's generator) already made the data key. */
  plaintextDataKey?: Uint8Array;
  encryptedDataKeys: EncryptedDataKey[];
}

/** What a custom keyring sees on decrypt. */
export interface DecryptionMaterials {
  algorithmSuite: number;
  /** The message's stored context plus the pairs the caller reproduced. */
  encryptionContext: Record<string, string>;
  /** Keys of `encryptionContext` the caller supplied that the message does not store. */
  requiredEncryptionContextKeys: string[];
}

/**
 * A keyring written in JS. Methods may be async. A rejection becomes a
 * `kms_error` (its `code` or `name` and message in the error's message, the
 * original as `cause`). The call that asked waits for the Promise to
 * settle, however long: give the network calls inside a timeout (for
 * example `fetch(url, { signal: AbortSignal.timeout(10_000) })`) so that a
 * dead service becomes a rejection rather than a call that never ends.
 */
export interface KeyringImplementation {
  /**
   * Returns the data key (required when `materials.plaintextDataKey` is
   * unset; of the suite's length, 16/24/32 bytes) and the EDKs to add.
   * EDKs the materials already hold, and repeats, are not added again, so
   * returning `materials` after pushing onto its `encryptedDataKeys` (as
   * `@aws-crypto/client-node`'s keyrings do) works as well.
   */
  onEncrypt(materials: EncryptionMaterials, options?: KeyringCallOptions):
    | Promise<{ plaintextDataKey?: Uint8Array; encryptedDataKeys?: EncryptedDataKeyInit[] }>
    | { plaintextDataKey?: Uint8Array; encryptedDataKeys?: EncryptedDataKeyInit[] };
  /** Returns the unwrapped data key, or null/undefined if no EDK is ours. */
  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: EncryptedDataKey[], options?: KeyringCallOptions):
    | Promise<{ plaintextDataKey: Uint8Array } | null | undefined>
    | { plaintextDataKey: Uint8Array } | null | undefined;
}

/**
 * The last argument of a custom keyring's methods, present only when the
 * call that asked was given a `signal`: hand it to your network calls, so
 * that an abort ends them (and the call stops waiting).
 */
export interface KeyringCallOptions {
  signal?: AbortSignal;
}

/**
 * Base class of the keyrings. Not for subclassing (the constructor refuses
 * a subclass of your own): a keyring of your own is an object with
 * `onEncrypt` and `onDecrypt` (see {@link KeyringImplementation}).
 */
export declare abstract class Keyring {
  /** Not callable from your code: the package passes its own handle. */
  protected constructor(handle: never);
}

/** AES-GCM key wrapping under a 128, 192 or 256-bit key (the key is copied). */
export declare class RawAesKeyring extends Keyring {
  constructor(options: {
    keyNamespace: string;
    keyName: string;
    wrappingKey: Bytes | NodeKeyObject;
    /**
     * Also read data keys that `@aws-crypto/client-node` / `client-browser`
     * raw AES keyrings wrapped without `utf8Sorting: true`: they sort the
     * encryption context's keys with `localeCompare`, not by UTF-8 bytes as
     * the specification does, so many contexts made their messages
     * unreadable here (a key starting with a capital letter, or with an
     * underscore, beside the `aws-crypto-public-key` of signed suites; a
     * non-ASCII key). On decrypt, when the specification's order fails, the
     * keyring tries `localeCompare`'s order under the root collation (what
     * servers under `en`, `C` or no locale wrote), then under this host's
     * own locale. Messages are always written in the specification's order.
     * Default `false`.
     */
    jsLegacyOrder?: boolean;
  });
  readonly keyNamespace: string;
  readonly keyName: string;
  /** Whether data keys wrapped in `localeCompare` key order are read too. */
  readonly jsLegacyOrder: boolean;
}

export type RsaPadding = 'pkcs1' | 'oaep-sha1' | 'oaep-sha256' | 'oaep-sha384' | 'oaep-sha512';

/** An RSA key: PEM (a string, or its bytes as read from a file), DER bytes, or in Node a KeyObject. */
export type RsaKey = string | Bytes | NodeKeyObject;

/** A public key, a private key or both. */
export type RsaKeys =
  | { publicKey: RsaKey; privateKey?: RsaKey }
  | { publicKey?: RsaKey; privateKey: RsaKey };

/**
 * RSA key wrapping. Keys are PEM or DER (SPKI / PKCS#1 public, PKCS#8 /
 * PKCS#1 private), or `node:crypto` KeyObjects. A public key alone can only
 * encrypt, a private key alone can only decrypt. Default padding:
 * `oaep-sha256`; `@aws-crypto/client-node`'s `RawRsaKeyringNode` defaults
 * to OAEP with SHA-1, so read and write its messages with
 * `padding: 'oaep-sha1'`.
 */
export declare class RawRsaKeyring extends Keyring {
  constructor(options: {
    keyNamespace: string;
    keyName: string;
    padding?: RsaPadding;
  } & RsaKeys);
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly padding: RsaPadding;
}

/**
 * Wraps the data key under every keyring; decrypts with the first that can.
 * Multi-keyrings nest at most 64 keyrings deep (deeper: `bad_argument`).
 */
export declare class MultiKeyring extends Keyring {
  /** A generator, children, or both. */
  constructor(
    options:
      | { generator: KeyringLike; children?: readonly KeyringLike[] }
      | { generator?: undefined; children: readonly KeyringLike[] },
  );
  /** The generator, as a keyring (plain objects become `CustomKeyring`s). */
  readonly generator?: Keyring;
  readonly children: Keyring[];
}

/** A keyring from a JS implementation (plain objects are accepted directly, too). */
export declare class CustomKeyring extends Keyring {
  constructor(implementation: KeyringImplementation);
}

export type KeyringLike = Keyring | KeyringImplementation;

/** What a KMS client's `send` gets: `input` with the AWS KMS API's field names. */
export interface KmsCommand<Input = Record<string, unknown>> {
  readonly input: Input;
}

/**
 * A KMS client: an AWS SDK for JavaScript v3 `KMSClient` (from
 * `@aws-sdk/client-kms`), or any object with the same `send` shape.
 *
 * Another object's `send` gets plain commands whose `constructor.name` is
 * `'GenerateDataKeyCommand'`, `'EncryptCommand'` or `'DecryptCommand'` (unless
 * `commands` are given) and resolves to the AWS API's output fields:
 * `GenerateDataKey` -> `{ KeyId, Plaintext, CiphertextBlob }`, `Encrypt` ->
 * `{ KeyId, CiphertextBlob }`, `Decrypt` -> `{ KeyId, Plaintext }`; `KeyId` is
 * the key ARN, blobs are Uint8Arrays. Inputs: `KeyId`, `EncryptionContext?`,
 * `GrantTokens?`, and `NumberOfBytes` / `Plaintext` / `CiphertextBlob`. A
 * rejection's `code` or `name` becomes the error's `kmsCode`.
 */
export interface KmsClientLike {
  /**
   * Runs one command. The `Plaintext` of a response is zeroed once read:
   * return a fresh response each time (an all-zero data key is refused).
   */
  send(command: KmsCommand<any>, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

/**
 * The command classes to build requests with: `import * as kms from
 * '@aws-sdk/client-kms'` works as is. Default: for an AWS SDK client,
 * `@aws-sdk/client-kms` imported on the first call (an optional peer
 * dependency); for another client, plain commands.
 */
export interface KmsCommands {
  GenerateDataKeyCommand: new (input: any) => KmsCommand<any>;
  EncryptCommand: new (input: any) => KmsCommand<any>;
  DecryptCommand: new (input: any) => KmsCommand<any>;
}

/** Options common to the AWS KMS keyrings. */
export interface AwsKmsClientOptions {
  /** A `KMSClient` of `@aws-sdk/client-kms` (credentials, region, endpoint are its business), or any `send`-shaped client. */
  client: KmsClientLike;
  /** Grant tokens passed on every call. */
  grantTokens?: string[];
  /** Command classes (needed for an AWS SDK client when `@aws-sdk/client-kms` cannot be imported dynamically, e.g. some bundles). */
  commands?: KmsCommands;
}

/**
 * Wraps data keys with one AWS KMS key, in the AWS Encryption SDK `aws-kms`
 * layout (provider info = the key ARN), so messages interoperate with every
 * ESDK's KMS keyring. Encrypt: `GenerateDataKey`, or `Encrypt` when a
 * multi-keyring's generator already made the data key. Decrypt: only EDKs of
 * this key; with `mrkAware`, EDKs of any replica of this multi-Region
 * (`mrk-`) key too. Use a `MultiKeyring` for several keys.
 */
export declare class AwsKmsKeyring extends Keyring {
  constructor(options: AwsKmsClientOptions & {
    /** Key ARN, alias ARN, `alias/...` or key ID to encrypt; decrypting needs the key ARN (messages store it). */
    keyId: string;
    /** Default `false`. */
    mrkAware?: boolean;
  });
  readonly keyId: string;
  readonly mrkAware: boolean;
}

/** Limits a discovery keyring to keys of one partition and some accounts. */
export interface DiscoveryFilter {
  /** e.g. `'aws'`. */
  partition: string;
  /** At least one account ID. */
  accountIds: string[];
}

/**
 * Decrypt only: asks KMS to decrypt each `aws-kms` EDK with the key it
 * names, if `discoveryFilter` (when given) admits it. With `region` (the
 * client's region) it is multi-Region aware: EDKs of multi-Region keys are
 * decrypted with their replica in `region`, other keys only if they are in
 * `region`. Encrypting with it fails (`bad_argument`).
 */
export declare class AwsKmsDiscoveryKeyring extends Keyring {
  constructor(options: AwsKmsClientOptions & { discoveryFilter?: DiscoveryFilter; region?: string });
  readonly discoveryFilter?: Readonly<DiscoveryFilter>;
  readonly region?: string;
}

/** Base class of the materials managers. Not for subclassing (the constructor refuses a subclass of your own). */
export declare abstract class MaterialsManager {
  /** Not callable from your code: the package passes its own handle. */
  protected constructor(handle: never);
}

/** The default materials manager over a keyring. */
export declare class DefaultMaterialsManager extends MaterialsManager {
  constructor(keyring: KeyringLike);
}

/**
 * Requires context keys that are authenticated but not stored in the
 * message: decrypt must be given them in `encryptionContext`.
 */
export declare class RequiredEncryptionContextMaterialsManager extends MaterialsManager {
  constructor(options: MaterialsSource & { requiredEncryptionContextKeys: string[] });
  readonly requiredEncryptionContextKeys: string[];
}

/**
 * A capacity-bounded, least-recently-used cache of materials. Caching
 * managers may share one; they share entries only when their `partitionId`s
 * are equal.
 */
export declare class LocalMaterialsCache {
  /** At most `capacity` entries (default 1000; 0 caches nothing). */
  constructor(capacity?: number);
  readonly capacity: number;
  /** Entries held (expired ones until they are pruned). */
  readonly size: number;
  /** Drops every entry. */
  clear(): void;
}

/**
 * Reuses data keys within limits of age, messages and bytes, so fewer calls
 * reach the key service. Encryption materials are cached only when the
 * plaintext length is known (one-shot `encrypt`, or `plaintextLength` for
 * `encryptStream`); materials of the three non-KDF suites
 * (`0x0014`/`0x0046`/`0x0078`) never are. Decryption materials are reused
 * for the same encrypted data keys and context.
 */
export declare class CachingMaterialsManager extends MaterialsManager {
  constructor(options: MaterialsSource & CacheChoice & {
    /** How long a cached data key is reused, in milliseconds (required, at least 1). */
    maxAge: number;
    /** Most messages one data key encrypts: a whole number from 1 (default 2^32, the specification's). The specification takes any 64-bit count, and so does this package, up to 2^53 - 1; the official SDKs refuse more than 2^32. */
    maxMessages?: number;
    /** Most plaintext bytes one data key encrypts (default: no practical limit). */
    maxBytes?: number;
    /** Default: unique to this manager. */
    partitionId?: string;
  });
  readonly cache: LocalMaterialsCache;
  readonly partitionId: string;
  /** Milliseconds. */
  readonly maxAge: number;
}

/** A cache made for the manager, or one to share: not both. */
export type CacheChoice =
  | {
      /** Entries of the cache made for this manager (default 1000). */
      capacity?: number;
      cache?: undefined;
    }
  | {
      /** A cache to share. */
      cache: LocalMaterialsCache;
      capacity?: undefined;
    };

/** Exactly one of `keyring` and `materialsManager`. */
export type MaterialsSource =
  | { keyring: KeyringLike; materialsManager?: undefined }
  | { materialsManager: MaterialsManager; keyring?: undefined };

export interface CommonOptions {
  /** Default `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`. */
  commitmentPolicy?: CommitmentPolicy;
  /** Refuse messages with more encrypted data keys (1..65535). */
  maxEncryptedDataKeys?: number;
}

export type EncryptOptions = MaterialsSource & CommonOptions & {
  encryptionContext?: EncryptionContext;
  /** Default 0x0578 (0x0378 under FORBID_ENCRYPT_ALLOW_DECRYPT). */
  algorithmSuite?: AlgorithmSuiteId;
  /** Bytes of plaintext per frame, 1 .. 2^32-1; default 4096. */
  frameLength?: number;
};

export type DecryptOptions = MaterialsSource & CommonOptions & {
  /**
   * The context the caller expects: each pair must match the message's;
   * pairs a required-context manager kept out of the message must be here.
   */
  encryptionContext?: EncryptionContext;
};

/** A parsed message header. */
export interface MessageHeader {
  version: 1 | 2;
  algorithmSuite: number;
  algorithmSuiteName: string;
  messageId: Uint8Array;
  encryptionContext: Record<string, string>;
  encryptedDataKeys: EncryptedDataKey[];
  contentType: 'framed' | 'non-framed';
  frameLength: number;
  headerLength: number;
  signed: boolean;
  committing: boolean;
}

export interface DecryptResult {
  plaintext: Uint8Array;
  /** The header's pairs plus the reproduced pairs that were authenticated but not stored. */
  encryptionContext: Record<string, string>;
  algorithmSuite: number;
  header: MessageHeader;
}

/** Options of the one-shot calls, beside those streams take too. */
export interface AbortOptions {
  /**
   * Aborting it rejects the call at once with `signal.reason` (an
   * `AbortError` `DOMException` unless `abort(reason)` gave one), as
   * `fetch` does; work in flight stops at its next batch of frames, and a
   * plaintext that arrives later is wiped. The call's KMS requests get a
   * signal of the call's own that aborts with it, as the AWS SDK's
   * `abortSignal`, and custom keyrings as `{ signal }` after their other
   * arguments, so an abort can end them too.
   */
  signal?: AbortSignal;
}

/** Encrypts `plaintext` into one message. */
export declare function encrypt(plaintext: Bytes, options: EncryptOptions & AbortOptions): Promise<Uint8Array>;

/** Decrypts one message; all or nothing. */
export declare function decrypt(ciphertext: Bytes, options: DecryptOptions & AbortOptions): Promise<DecryptResult>;

/** Parses the header of a message. Nothing is decrypted or authenticated. */
export declare function inspect(ciphertext: Bytes): Promise<MessageHeader>;

export type EncryptStreamOptions = EncryptOptions & {
  /** The exact plaintext length, if known (lets a materials manager check limits). */
  plaintextLength?: number;
};

export type DecryptStreamOptions = DecryptOptions & {
  /**
   * Signed suites: `'after-signature'` (default) holds plaintext until the
   * signature verifies; `'frames'` releases each frame once its tag verifies
   * (discard everything if the stream then fails).
   */
  signedRelease?: 'after-signature' | 'frames';
  /** Refuse signed messages. */
  unsignedOnly?: boolean;
  /** Limit on plaintext held for a signed message (default 64 MiB). */
  maxBufferedPlaintext?: number;
  /**
   * Limit on one frame's size (default 64 MiB), and on the header's (this or
   * 1 MiB, whichever is larger). A header declared longer is refused before
   * its bytes are buffered.
   */
  maxFrameSize?: number;
};

/**
 * Encrypts the bytes written to it into one message; bounded memory.
 * (Where the host's TransformStream never tells its transformer of a
 * cancel, as in Chromium, this and `decryptStream` return a `{ readable,
 * writable }` pair of the same shape, so that a cancel or an abort is
 * noticed.) Options that fail whatever the keyring does (a wrong type, an unknown
 * suite, a suite the commitment policy forbids) throw here; the keyring's
 * own failures error the stream.
 */
export declare function encryptStream(options: EncryptStreamOptions): TransformStream<Uint8Array, Uint8Array> & {
  /**
   * Resolves once the keyring has run, with the header the stream writes
   * and the whole encryption context the message is bound to (pairs a
   * `RequiredEncryptionContextMaterialsManager` keeps out of the header
   * included). Rejects if the keyring fails or the stream is cancelled
   * first.
   */
  readonly header: Promise<{ encryptionContext: Record<string, string>; algorithmSuite: number; header: MessageHeader }>;
};

/** Decrypts one message written to it; bounded memory for unsigned suites. */
export declare function decryptStream(options: DecryptStreamOptions): TransformStream<Uint8Array, Uint8Array> & {
  /**
   * Resolves once the whole message is authenticated; rejects as the
   * stream fails, or with a `bad_argument` error when it is aborted or
   * cancelled before the message ended (plaintext held for the signature
   * is then wiped).
   */
  readonly result: Promise<{ encryptionContext: Record<string, string>; header: MessageHeader }>;
  /**
   * Resolves once the header is authenticated, before any plaintext is
   * emitted. Await it before reading to check the suite or the encryption
   * context; cancelling the readable then discards what was decrypted.
   * Rejects as the stream fails before that.
   */
  readonly header: Promise<{ encryptionContext: Record<string, string>; algorithmSuite: number; header: MessageHeader }>;
};

/** Which crypto backend the wasm core uses (diagnostics). */
export declare function cryptoBackend(): string;

/**
 * Whether the host's native crypto is used (default `true` where it exists) or
 * everything runs in wasm; each reads the other's messages (unsigned ones are
 * byte-identical; ECDSA signatures are randomized either way).
 * Node: AES-GCM, SHA-2 and ECDSA run on node:crypto, and one-shot messages of
 * 1 MiB and more are sealed (signed suites: from 16 MiB) and opened frame by
 * frame between your buffers without passing through wasm memory.
 * Browsers: one-shot messages of 1 KiB and more, and signed ones of any size, run
 * their AES-GCM and ECDSA on WebCrypto (secure contexts only), and so do the
 * frames of 1 KiB and more of `encryptStream` and `decryptStream`; smaller
 * unsigned messages, and the signature hash of signed streams, stay in wasm.
 * Do not modify a buffer while a call that reads it is pending.
 * Pass a boolean to change it; returns the setting in force.
 */
export declare function hostCrypto(enabled?: boolean): boolean;
