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
 * the message. A `kms_error` from a custom keyring carries the keyring's
 * original rejection as `cause`.
 */
export declare class KmsEnvelopeError extends Error {
  readonly name: 'KmsEnvelopeError';
  readonly code: ErrorCode;
}

/** Bytes: a Uint8Array (Node Buffers are Uint8Arrays) or an ArrayBuffer. */
export type Bytes = Uint8Array | ArrayBuffer;

/** String pairs, authenticated with the message and stored in its header. */
export type EncryptionContext = Record<string, string> | Map<string, string>;

/** An ESDK algorithm suite id such as `0x0578`, or its hex string `'0578'` / `'0x0578'`. */
export type AlgorithmSuiteId =
  | 0x0014 | 0x0046 | 0x0078 | 0x0114 | 0x0146 | 0x0178 | 0x0214 | 0x0346 | 0x0378 | 0x0478 | 0x0578
  | number | string;

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

/** What a custom keyring sees on encrypt. */
export interface EncryptionMaterials {
  algorithmSuite: number;
  /** The full context, including `aws-crypto-public-key` on signing suites. */
  encryptionContext: Record<string, string>;
  /** Set when another keyring (a multi-keyring's generator) already made the data key. */
  plaintextDataKey?: Uint8Array;
  encryptedDataKeys: EncryptedDataKey[];
}

/** What a custom keyring sees on decrypt. */
export interface DecryptionMaterials {
  algorithmSuite: number;
  encryptionContext: Record<string, string>;
}

/**
 * A keyring written in JS. Methods may be async. A rejection becomes a
 * `kms_error` (its `code` or `name` and message in the error's message, the
 * original as `cause`).
 */
export interface KeyringImplementation {
  /**
   * Returns the data key (required when `materials.plaintextDataKey` is
   * unset; of the suite's length, 16/24/32 bytes) and the EDKs to add.
   */
  onEncrypt(materials: EncryptionMaterials):
    | Promise<{ plaintextDataKey?: Uint8Array; encryptedDataKeys?: EncryptedDataKey[] }>
    | { plaintextDataKey?: Uint8Array; encryptedDataKeys?: EncryptedDataKey[] };
  /** Returns the unwrapped data key, or null/undefined if no EDK is ours. */
  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: EncryptedDataKey[]):
    | Promise<{ plaintextDataKey: Uint8Array } | null | undefined>
    | { plaintextDataKey: Uint8Array } | null | undefined;
}

/** Base class of the keyrings. */
export declare abstract class Keyring {
  protected constructor();
}

/** AES-GCM key wrapping under a 128, 192 or 256-bit key (the key is copied). */
export declare class RawAesKeyring extends Keyring {
  constructor(options: { keyNamespace: string; keyName: string; wrappingKey: Bytes });
  readonly keyNamespace: string;
  readonly keyName: string;
}

export type RsaPadding = 'pkcs1' | 'oaep-sha1' | 'oaep-sha256' | 'oaep-sha384' | 'oaep-sha512';

/**
 * RSA key wrapping. Keys are PEM strings or DER bytes (SPKI / PKCS#1 public,
 * PKCS#8 / PKCS#1 private). A public key alone can only encrypt, a private
 * key alone can only decrypt. Default padding: `oaep-sha256`.
 */
export declare class RawRsaKeyring extends Keyring {
  constructor(options: {
    keyNamespace: string;
    keyName: string;
    padding?: RsaPadding;
    publicKey?: string | Uint8Array;
    privateKey?: string | Uint8Array;
  });
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly padding: RsaPadding;
}

/** Wraps the data key under every keyring; decrypts with the first that can. */
export declare class MultiKeyring extends Keyring {
  constructor(options: { generator?: KeyringLike; children?: KeyringLike[] });
}

/** A keyring from a JS implementation (plain objects are accepted directly, too). */
export declare class CustomKeyring extends Keyring {
  constructor(implementation: KeyringImplementation);
}

export type KeyringLike = Keyring | KeyringImplementation;

/** Base class of the materials managers. */
export declare abstract class MaterialsManager {
  protected constructor();
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
  constructor(options: {
    keyring?: KeyringLike;
    materialsManager?: MaterialsManager;
    requiredEncryptionContextKeys: string[];
  });
  readonly requiredEncryptionContextKeys: string[];
}

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
  /** Default 0x0578 (0x0178 under FORBID_ENCRYPT_ALLOW_DECRYPT). */
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

/** Encrypts `plaintext` into one message. */
export declare function encrypt(plaintext: Bytes, options: EncryptOptions): Promise<Uint8Array>;

/** Decrypts one message; all or nothing. */
export declare function decrypt(ciphertext: Bytes, options: DecryptOptions): Promise<DecryptResult>;

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
  /** Limit on one frame's size (default 64 MiB). */
  maxFrameSize?: number;
};

/** Encrypts the bytes written to it into one message; bounded memory. */
export declare function encryptStream(options: EncryptStreamOptions): TransformStream<Uint8Array, Uint8Array>;

/** Decrypts one message written to it; bounded memory for unsigned suites. */
export declare function decryptStream(options: DecryptStreamOptions): TransformStream<Uint8Array, Uint8Array> & {
  /** Resolves once the whole message is authenticated; rejects as the stream fails. */
  readonly result: Promise<{ encryptionContext: Record<string, string>; header: MessageHeader }>;
};

/** Which crypto backend the wasm core uses (diagnostics). */
export declare function cryptoBackend(): string;

/**
 * Node: whether AES-GCM runs on node:crypto (default `true`) or in wasm;
 * messages are byte-identical either way. Browsers: always `false`.
 * Pass a boolean to change it; returns the setting in force.
 */
export declare function hostCrypto(enabled?: boolean): boolean;
