// The public API, shared by the Node and browser entry points. It checks
// arguments, converts them for the wasm layer (bindings/wasm) and turns
// every failure into a KmsEnvelopeError with a stable `code`.
import * as wasm from '../dist/kms_envelope_wasm.js';
import { StreamOpen, StreamSeal, openStreamHost, streamHost } from './host-stream.js';
import {
  bulkFor, bulkHost, hostSigningKey, openExternal, sealExternal, suiteSigns, takesSuiteKey,
} from './external.js';
import { wasmState } from './ready.js';
import { watched } from './watch.js';

/** Stable error codes, one per core error kind (`ErrorKind::as_str`). */
export const ErrorCode = Object.freeze({
  MALFORMED_MESSAGE: 'malformed_message',
  AUTHENTICATION_FAILED: 'authentication_failed',
  NO_KEY_UNWRAPPED: 'no_key_unwrapped',
  POLICY_VIOLATION: 'policy_violation',
  KMS_ERROR: 'kms_error',
  BAD_ARGUMENT: 'bad_argument',
  IO_ERROR: 'io_error',
});
const CODES = new Set(Object.values(ErrorCode));

/**
 * Every error this package throws or rejects with. `kmsCode`: the key
 * service's error code behind a `kms_error` (or a `no_key_unwrapped`), e.g.
 * `NotFoundException`; `reasons`: one line per key tried, on
 * `no_key_unwrapped`; `cause`: what the KMS client or custom keyring threw.
 */
export class KmsEnvelopeError extends Error {
  constructor(message, code, options) {
    super(message, options);
    this.name = 'KmsEnvelopeError';
    this.code = code;
  }
}

/** The error a stream's `result` rejects with when the stream is aborted or cancelled. */
function cancelled(reason) {
  return new KmsEnvelopeError('bad argument: the stream was cancelled before the message ended', ErrorCode.BAD_ARGUMENT, { cause: reason });
}

function badArgument(message, cause) {
  return new KmsEnvelopeError(`bad argument: ${message}`, ErrorCode.BAD_ARGUMENT, cause === undefined ? undefined : { cause });
}

/** Refuses every call into wasm until src/slim.js's initialize() resolves. */
function ready() {
  if (wasmState.missing) throw badArgument(wasmState.missing);
}

/**
 * Converts anything thrown by the wasm layer into a KmsEnvelopeError. The
 * wasm layer sets `kmsCode`, `reasons` and `cause` (bindings/wasm/src/trace.rs).
 */
function toError(e) {
  if (e instanceof KmsEnvelopeError) return e;
  const code = e && typeof e.code === 'string' && CODES.has(e.code) ? e.code : null;
  if (code) {
    const err = new KmsEnvelopeError(e.message, code, 'cause' in e ? { cause: e.cause } : undefined);
    if (typeof e.kmsCode === 'string') err.kmsCode = e.kmsCode;
    if (Array.isArray(e.reasons)) err.reasons = e.reasons;
    return err;
  }
  // A wasm trap or an unexpected JS exception: never a plain string.
  const message = e instanceof Error ? e.message : String(e);
  const trap = typeof WebAssembly === 'object' && e instanceof WebAssembly.RuntimeError
    ? ' (a WebAssembly trap: a one-shot call of a very large message in wasm runs out of its memory; streams do not)'
    : '';
  return new KmsEnvelopeError(`internal error: ${message}${trap}`, ErrorCode.BAD_ARGUMENT, { cause: e });
}

// ------------------------------------------------------------ arguments

const SOURCE = Symbol('kms-envelope.source');

/** `value instanceof Class`, false where asking throws (a Proxy's getPrototypeOf trap). */
function isA(value, Class) {
  try {
    return value instanceof Class;
  } catch {
    return false;
  }
}

// The typed arrays' own getters, immune to a subclass's overrides.
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype);
const viewField = (name) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, name).get;
const VIEW_BUFFER = viewField('buffer');
const VIEW_OFFSET = viewField('byteOffset');
const VIEW_LENGTH = viewField('byteLength');
const VIEW_KIND = Object.getOwnPropertyDescriptor(TYPED_ARRAY, Symbol.toStringTag).get;
const bufferField = (Class, name) => (Class ? Object.getOwnPropertyDescriptor(Class.prototype, name)?.get : undefined);
const BUFFER_LENGTH = bufferField(ArrayBuffer, 'byteLength');
const BUFFER_RESIZABLE = bufferField(ArrayBuffer, 'resizable');
const MAP_SIZE = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;

/**
 * Whether `get.call(value)` works: the brand checks of the built-ins'
 * getters, which hold for objects of any realm (an iframe's, a `vm`
 * context's), where `instanceof` does not.
 */
function branded(get, value) {
  if (!get) return false;
  try {
    get.call(value);
    return true;
  } catch {
    return false;
  }
}

const isArrayBuffer = (value) => branded(BUFFER_LENGTH, value);
/** A Uint8Array (or subclass, such as Buffer) of any realm. */
const isUint8Array = (value) => VIEW_KIND.call(value) === 'Uint8Array';
const isMap = (value) => branded(MAP_SIZE, value);

/**
 * Whether bytes over `buffer` (a view's: an ArrayBuffer or a
 * SharedArrayBuffer) may change or vanish under a call without a transfer:
 * a SharedArrayBuffer (another thread; WebCrypto also refuses views of one)
 * or a resizable ArrayBuffer (it may shrink while a keyring waits; WebCrypto
 * refuses those views too). Nothing throws for a plain ArrayBuffer: this
 * runs on every call.
 */
function mutable(buffer) {
  try {
    return (BUFFER_RESIZABLE ?? BUFFER_LENGTH).call(buffer) === true;
  } catch {
    return true; // not an ArrayBuffer: a SharedArrayBuffer
  }
}

/**
 * `value` as a plain Uint8Array over the same bytes, so nothing the caller
 * defined (a subclass's `length`, `subarray` or species) runs inside a call
 * and no throw can reach the wasm module midway. Bytes a caller cannot
 * hold still (a SharedArrayBuffer, a resizable ArrayBuffer) are copied.
 */
function bytes(value, what) {
  // A Uint8Array first: the common case, checked without a throw.
  if (!isUint8Array(value)) {
    if (!isArrayBuffer(value)) throw badArgument(`${what} must be a Uint8Array, got ${describe(value)}`);
    let view;
    try {
      view = new Uint8Array(value);
    } catch (e) {
      throw badArgument(`${what} is an ArrayBuffer that cannot be read (${e?.message ?? e}); was it transferred?`, e);
    }
    return mutable(value) ? view.slice() : view;
  }
  let buffer;
  let view;
  try {
    buffer = VIEW_BUFFER.call(value);
    view = new Uint8Array(buffer, VIEW_OFFSET.call(value), VIEW_LENGTH.call(value));
  } catch (e) {
    // A transferred (detached) buffer.
    throw badArgument(`${what} is not a usable Uint8Array (${e?.message ?? e}); was its ArrayBuffer transferred?`, e);
  }
  return mutable(buffer) ? view.slice() : view;
}

/** Whether `value` is a node:crypto KeyObject (Node only). */
function isKeyObject(value) {
  try {
    return value !== null && typeof value === 'object' && Object.prototype.toString.call(value) === '[object KeyObject]';
  } catch {
    return false;
  }
}

/**
 * A node:crypto KeyObject's key as bytes, a copy the caller wipes: a
 * secret key's bytes, an RSA key's DER (SPKI public, PKCS#8 private).
 * `kind` is the KeyObject type the option takes.
 */
function keyObjectBytes(value, what, kind) {
  return readingCaller(what, () => {
    if (value.type !== kind || (kind !== 'secret' && value.asymmetricKeyType !== 'rsa')) {
      const actual = value.type === 'secret' ? 'a secret' : `a ${value.type} ${value.asymmetricKeyType}`;
      const wanted = kind === 'secret' ? 'a secret key' : `an RSA ${kind} key`;
      throw badArgument(`${what} must be ${wanted}; the KeyObject is ${actual} key`);
    }
    const exported = kind === 'secret' ? value.export() : value.export({ format: 'der', type: kind === 'public' ? 'spki' : 'pkcs8' });
    return new Uint8Array(exported.buffer, exported.byteOffset, exported.byteLength);
  });
}

function optionalBytes(value, what) {
  return value === undefined || value === null ? undefined : bytes(value, what);
}

function describe(value) {
  try {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'object') return value.constructor ? value.constructor.name : 'an object';
    return typeof value;
  } catch {
    // A Proxy, or a constructor getter, that throws: the message still goes out.
    return 'an object';
  }
}

function string(value, what) {
  if (typeof value !== 'string') throw badArgument(`${what} must be a string, got ${describe(value)}`);
  return wellFormed(value, what);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * `s`, if it is valid Unicode: a lone surrogate has no UTF-8 form, and
 * replacing it would make distinct strings equal.
 */
/**
 * `value` as an array of well-formed strings, read once, here: a Proxy or
 * getter that throws is a bad_argument, and a getter cannot give a second
 * answer later. `null` when `value` is no array.
 */
function stringArray(value, what) {
  const items = readingCaller(what, () => (Array.isArray(value) ? Array.from(value) : null));
  if (items === null || !items.every((t) => typeof t === 'string')) {
    throw badArgument(`${what} must be an array of strings`);
  }
  return items.map((t) => wellFormed(t, `${what} item`));
}

function wellFormed(s, what) {
  if (s.isWellFormed ? !s.isWellFormed() : LONE_SURROGATE.test(s)) {
    throw badArgument(`${what} is not valid Unicode (it holds a lone surrogate)`);
  }
  return s;
}

function integer(value, what, min, max) {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badArgument(`${what} must be an integer from ${min} to ${max}, got ${typeof value === 'number' ? String(value) : describe(value)}`);
  }
  return value;
}

/** Encryption context as alternating keys and values. */
function contextPairs(value, what) {
  if (value === undefined || value === null) return [];
  return readingCaller(what, () => readContextPairs(value, what));
}

function readContextPairs(value, what) {
  // Plain objects only: a Date or a URLSearchParams has no own entries and
  // would pass as an empty context.
  // (Any realm's: the prototype is null or an Object.prototype.)
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  const plain = proto === null || (proto !== undefined && Object.getPrototypeOf(proto) === null);
  const entries = isMap(value) ? [...Map.prototype.entries.call(value)] : plain ? Object.entries(value) : null;
  if (!entries) throw badArgument(`${what} must be a plain object of strings or a Map, got ${describe(value)}`);
  // Object.entries skips symbol keys: a pair under one would vanish from
  // the context unnoticed.
  if (plain && Object.getOwnPropertySymbols(value).some((s) => Object.prototype.propertyIsEnumerable.call(value, s))) {
    throw badArgument(`${what}: every key and value must be a string (a key is a symbol)`);
  }
  const out = [];
  for (const [k, v] of entries) {
    if (typeof k !== 'string' || typeof v !== 'string') {
      throw badArgument(`${what}: every key and value must be a string`);
    }
    out.push(wellFormed(k, `${what} key`), wellFormed(v, `${what} value`));
  }
  return out;
}

function suiteId(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return integer(value, 'algorithmSuite', 0, 0xffff);
  try {
    // '0478', '0x0478', or a name in any SDK's spelling (src/suite.rs)
    return wasm.suiteIdOf(value);
  } catch (e) {
    throw toError(e);
  }
}

function policy(value) {
  return value === undefined || value === null ? undefined : string(value, 'commitmentPolicy');
}

/**
 * Runs `read`, which reads values the caller gave: a getter or a Proxy trap
 * that throws becomes a bad_argument naming `what` (with the thrown value
 * as its cause), so every failure of a call has a code.
 */
function readingCaller(what, read) {
  try {
    return read();
  } catch (e) {
    if (e instanceof KmsEnvelopeError) throw e;
    throw badArgument(`${what} could not be read: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

/**
 * The options in `value`, each read once, here: a getter runs once and
 * cannot give the SDK another answer later in the call.
 */
function options(value, what, known) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw badArgument(`${what} must be an object`);
  return readingCaller(what, () => {
    // A misspelt option would otherwise be dropped without a word: on
    // decrypt, a context check that never ran.
    for (const name of Object.keys(value)) {
      if (!known.includes(name)) throw badArgument(`${what}: unknown option '${name}' (known: ${known.join(', ')})`);
    }
    const snapshot = {};
    for (const name of known) snapshot[name] = value[name];
    return snapshot;
  });
}

const SOURCE_OPTIONS = ['keyring', 'materialsManager'];
const ENCRYPT_OPTIONS = [...SOURCE_OPTIONS, 'encryptionContext', 'algorithmSuite', 'frameLength', 'commitmentPolicy', 'maxEncryptedDataKeys'];
const DECRYPT_OPTIONS = [...SOURCE_OPTIONS, 'encryptionContext', 'commitmentPolicy', 'maxEncryptedDataKeys'];

/** The wasm Source of `opts.keyring` / `opts.materialsManager`. */
function source(opts) {
  const { keyring, materialsManager } = opts;
  if (keyring !== undefined && materialsManager !== undefined) {
    throw badArgument('give a keyring or a materialsManager, not both');
  }
  if (materialsManager !== undefined) {
    if (!isA(materialsManager, MaterialsManager)) throw badArgument('materialsManager must be a MaterialsManager');
    return materialsManager[SOURCE];
  }
  if (keyring === undefined) throw badArgument('set keyring or materialsManager');
  return keyringSource(keyring);
}

function keyringSource(keyring) {
  if (isA(keyring, Keyring)) return keyring[SOURCE];
  // A class with static onEncrypt / onDecrypt is a keyring too, as the
  // types (and MultiKeyring, CustomKeyring) have it.
  if ((typeof keyring === 'object' || typeof keyring === 'function') && isCustomKeyring(keyring)) {
    return new CustomKeyring(keyring)[SOURCE];
  }
  throw badArgument(`keyring must be a Keyring or an object with onEncrypt and onDecrypt functions, got ${describe(keyring)}`);
}

// ------------------------------------------------------------ keyrings

/** Base class of the keyrings. */
export class Keyring {
  constructor(source) {
    if (new.target === Keyring) throw badArgument('use a concrete keyring class');
    if (!(source instanceof wasm.Source)) {
      throw badArgument('Keyring is not for subclassing: a keyring of your own is an object with onEncrypt and onDecrypt functions');
    }
    this[SOURCE] = source;
  }
}

/** The wasm Source `fn` makes, its failure as a KmsEnvelopeError. */
function wasmSource(fn) {
  ready();
  try { return fn(); } catch (e) { throw toError(e); }
}

/** AES-GCM key wrapping with a 128, 192 or 256-bit key. */
export class RawAesKeyring extends Keyring {
  constructor(opts) {
    const { keyNamespace, keyName, wrappingKey, jsLegacyOrder } = options(opts, 'RawAesKeyring options', ['keyNamespace', 'keyName', 'wrappingKey', 'jsLegacyOrder']);
    string(keyNamespace, 'keyNamespace');
    string(keyName, 'keyName');
    const legacy = optionalBoolean(jsLegacyOrder, 'jsLegacyOrder') ?? false;
    // A copy to wipe after use: `new Uint8Array`, since a Buffer's slice()
    // is a view, and wiping it would wipe the caller's key.
    const key = isKeyObject(wrappingKey) ? keyObjectBytes(wrappingKey, 'wrappingKey', 'secret') : new Uint8Array(bytes(wrappingKey, 'wrappingKey'));
    let source;
    try { source = wasmSource(() => wasm.rawAesKeyring(keyNamespace, keyName, key, legacy)); } finally { key.fill(0); }
    super(source);
    this.keyNamespace = keyNamespace;
    this.keyName = keyName;
    this.jsLegacyOrder = legacy;
  }
}

const PADDINGS = ['pkcs1', 'oaep-sha1', 'oaep-sha256', 'oaep-sha384', 'oaep-sha512'];

/**
 * RSA key wrapping (OAEP or PKCS#1 v1.5). Keys are PEM (a string, or its
 * bytes), DER bytes, or in Node a KeyObject.
 */
export class RawRsaKeyring extends Keyring {
  constructor(opts) {
    const { keyNamespace, keyName, padding = 'oaep-sha256', publicKey, privateKey } = options(opts, 'RawRsaKeyring options', ['keyNamespace', 'keyName', 'padding', 'publicKey', 'privateKey']);
    string(keyNamespace, 'keyNamespace');
    string(keyName, 'keyName');
    if (!PADDINGS.includes(padding)) throw badArgument(`padding must be one of ${PADDINGS.join(', ')}`);
    // KeyObjects are exported into copies, wiped after use.
    const exported = [];
    const key = (k, what, kind) => {
      if (k === undefined || k === null) return undefined;
      if (typeof k === 'string') return k;
      if (!isKeyObject(k)) return bytes(k, what);
      const der = keyObjectBytes(k, what, kind);
      exported.push(der);
      return der;
    };
    let source;
    try {
      const pub = key(publicKey, 'publicKey', 'public');
      const priv = key(privateKey, 'privateKey', 'private');
      source = wasmSource(() => wasm.rawRsaKeyring(keyNamespace, keyName, padding, pub, priv));
    } finally {
      for (const der of exported) der.fill(0);
    }
    super(source);
    this.keyNamespace = keyNamespace;
    this.keyName = keyName;
    this.padding = padding;
  }
}

/** Wraps under every keyring; unwraps with the first that succeeds. */
export class MultiKeyring extends Keyring {
  constructor(opts) {
    const { generator, children = [] } = options(opts, 'MultiKeyring options', ['generator', 'children']);
    // Keyrings given as plain objects are converted now, so errors show here.
    const gen = generator === undefined || generator === null ? undefined : asKeyring(generator);
    const kids = readingCaller('children', () => {
      if (!Array.isArray(children)) throw badArgument('children must be an array of keyrings');
      return Array.from(children, asKeyring); // holes too
    });
    ready();
    const b = new wasm.MultiBuilder();
    try {
      super(wasmSource(() => {
        if (gen) b.generator(gen[SOURCE]);
        for (const k of kids) b.child(k[SOURCE]);
        return b.build(); // needs a generator or a child
      }));
    } finally {
      b.free();
    }
    this.generator = gen;
    this.children = kids;
  }
}

function asKeyring(k) {
  if (isA(k, Keyring)) return k;
  if (isCustomKeyring(k)) return new CustomKeyring(k);
  throw badArgument(`expected a keyring, got ${describe(k)}`);
}

/** Whether `k` has the two functions of a custom keyring. */
function isCustomKeyring(k) {
  return readingCaller('a custom keyring', () => Boolean(k) && typeof k.onEncrypt === 'function' && typeof k.onDecrypt === 'function');
}

/**
 * A keyring written in JS: `onEncrypt(materials)` and
 * `onDecrypt(materials, encryptedDataKeys)`, sync or async (see index.d.ts).
 */
export class CustomKeyring extends Keyring {
  constructor(impl) {
    if (!isCustomKeyring(impl)) {
      throw badArgument('a custom keyring needs onEncrypt and onDecrypt functions');
    }
    ready();
    // A rejection becomes the error's `cause` (bindings/wasm/src/trace.rs).
    super(wasm.customKeyring(impl));
  }
}

// ------------------------------------------------------------ AWS KMS

const SDK_MODULE = '@aws-sdk/client-kms';
const COMMANDS = ['GenerateDataKeyCommand', 'EncryptCommand', 'DecryptCommand'];

/**
 * Commands for KMS clients that are not the AWS SDK's: `input` plus the
 * SDK's class names (set explicitly, so minifiers keep them).
 */
const PLAIN_COMMANDS = Object.fromEntries(COMMANDS.map((name) => {
  const Command = class { constructor(input) { this.input = input; } };
  Object.defineProperty(Command, 'name', { value: name });
  return [name, Command];
}));

function commandClasses(commands, what) {
  if (!commands || (typeof commands !== 'object' && typeof commands !== 'function')) {
    throw badArgument(`${what} must hold ${COMMANDS.join(', ')}, got ${describe(commands)}`);
  }
  return readingCaller(what, () => {
    const classes = Object.fromEntries(COMMANDS.map((name) => [name, commands[name]]));
    const missing = COMMANDS.filter((name) => typeof classes[name] !== 'function');
    if (missing.length) throw badArgument(`${what} has no ${missing.join(', ')}`);
    return classes;
  });
}

let sdkCommands;
/** The command classes of `@aws-sdk/client-kms`, imported on first use. */
function loadSdkCommands() {
  // Not a literal: bundlers must not require the optional peer dependency.
  sdkCommands ??= import(/* webpackIgnore: true */ /* @vite-ignore */ SDK_MODULE).then(
    (sdk) => commandClasses(sdk, SDK_MODULE),
    (e) => {
      sdkCommands = undefined;
      throw badArgument(`this client is an AWS SDK client, but ${SDK_MODULE} could not be imported (${e && e.message}): install it, or pass its command classes as 'commands'`);
    },
  );
  return sdkCommands;
}

/** An AWS SDK v3 client (its `send` needs the SDK's own commands). */
function isSdkClient(client) {
  return readingCaller('client', () => Boolean(client.middlewareStack && typeof client.middlewareStack.add === 'function' && client.config));
}

/** `send(operation, input)` for the wasm layer (bindings/wasm/src/kms.rs). */
function kmsSender(client, commands) {
  if (!readingCaller('client', () => client && typeof client.send === 'function')) {
    throw badArgument(`client must be a KMSClient of ${SDK_MODULE} or an object with a send(command) method, got ${describe(client)}`);
  }
  let classes;
  if (commands !== undefined) classes = commandClasses(commands, 'commands');
  else if (!isSdkClient(client)) classes = PLAIN_COMMANDS;
  // The caller's AbortSignal, if the call has one, as the AWS SDK takes it.
  return async (operation, input, signal) => {
    classes ??= await loadSdkCommands();
    const command = new classes[`${operation}Command`](input);
    return signal ? client.send(command, { abortSignal: signal }) : client.send(command);
  };
}

function grantTokenList(value) {
  if (value === undefined || value === null) return [];
  return stringArray(value, 'grantTokens');
}

function optionalString(value, what) {
  return value === undefined || value === null ? undefined : string(value, what);
}

/** `value` as a boolean; undefined when not given. */
function optionalBoolean(value, what) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badArgument(`${what} must be true or false, got ${describe(value)}`);
  return value;
}

/**
 * Wraps data keys with one AWS KMS key (ESDK layout: provider `aws-kms`,
 * provider info = the key ARN). Encrypt: GenerateDataKey, or Encrypt when a
 * multi-keyring's generator already made the data key. Decrypt: only EDKs of
 * this key (or, with `mrkAware`, of any replica of this multi-Region key).
 */
export class AwsKmsKeyring extends Keyring {
  constructor(opts) {
    const { keyId, client, mrkAware = false, grantTokens, commands } = options(opts, 'AwsKmsKeyring options', ['keyId', 'client', 'mrkAware', 'grantTokens', 'commands']);
    string(keyId, 'keyId');
    if (typeof mrkAware !== 'boolean') throw badArgument('mrkAware must be a boolean');
    const send = kmsSender(client, commands);
    const tokens = grantTokenList(grantTokens);
    super(wasmSource(() => wasm.awsKmsKeyring(keyId, send, mrkAware, tokens)));
    this.keyId = keyId;
    this.mrkAware = mrkAware;
  }
}

/**
 * Decrypt only: asks KMS to decrypt each `aws-kms` EDK with the key it
 * names, limited by `discoveryFilter` (partition and accounts) and, when
 * `region` is given, multi-Region aware (replicas in `region` are used).
 */
export class AwsKmsDiscoveryKeyring extends Keyring {
  constructor(opts) {
    const { client, discoveryFilter, region, grantTokens, commands } = options(opts, 'AwsKmsDiscoveryKeyring options', ['client', 'discoveryFilter', 'region', 'grantTokens', 'commands']);
    let partition;
    let accountIds;
    if (discoveryFilter !== undefined && discoveryFilter !== null) {
      ({ partition, accountIds } = options(discoveryFilter, 'discoveryFilter', ['partition', 'accountIds']));
      string(partition, 'discoveryFilter.partition');
      const ids = readingCaller('discoveryFilter.accountIds', () => Array.isArray(accountIds) && accountIds.length > 0);
      if (!ids) throw badArgument('discoveryFilter.accountIds must be a non-empty array of strings');
      accountIds = stringArray(accountIds, 'discoveryFilter.accountIds');
      if (!accountIds.length) throw badArgument('discoveryFilter.accountIds must be a non-empty array of strings');
    }
    optionalString(region, 'region');
    const send = kmsSender(client, commands);
    const tokens = grantTokenList(grantTokens);
    super(wasmSource(() => wasm.awsKmsDiscoveryKeyring(send, partition, accountIds, region ?? undefined, tokens)));
    this.discoveryFilter = partition === undefined ? undefined : Object.freeze({ partition, accountIds: Object.freeze(accountIds) });
    this.region = region ?? undefined;
  }
}

// ------------------------------------------------------------ materials managers

/** Base class of the materials managers. */
export class MaterialsManager {
  constructor(source) {
    if (new.target === MaterialsManager) throw badArgument('use a concrete materials manager class');
    if (!(source instanceof wasm.Source)) {
      throw badArgument('MaterialsManager is not for subclassing: use DefaultMaterialsManager, RequiredEncryptionContextMaterialsManager or CachingMaterialsManager');
    }
    this[SOURCE] = source;
  }
}

/** The default materials manager over a keyring. */
export class DefaultMaterialsManager extends MaterialsManager {
  constructor(keyring) {
    super(wasmSource(() => wasm.defaultManager(keyringSource(keyring))));
  }
}

/**
 * Requires encryption-context keys that are authenticated but not stored in
 * the message: decrypt must reproduce them.
 */
export class RequiredEncryptionContextMaterialsManager extends MaterialsManager {
  constructor(opts) {
    const { keyring, materialsManager, requiredEncryptionContextKeys } = options(opts, 'RequiredEncryptionContextMaterialsManager options', [...SOURCE_OPTIONS, 'requiredEncryptionContextKeys']);
    // A lone surrogate would be replaced, and match another key.
    const keys = stringArray(requiredEncryptionContextKeys, 'requiredEncryptionContextKeys');
    const under = source({ keyring, materialsManager });
    super(wasmSource(() => wasm.requiredContextManager(under, keys)));
    this.requiredEncryptionContextKeys = [...keys];
  }
}

const CACHE = Symbol('kms-envelope.cache');

/**
 * A capacity-bounded, least-recently-used cache of materials. Caching
 * managers may share one; they share entries only when their partition IDs
 * are equal.
 */
export class LocalMaterialsCache {
  constructor(capacity) {
    this.capacity = integer(capacity, 'capacity', 0, 0xffffffff) ?? 1000;
    ready();
    this[CACHE] = new wasm.MaterialsCache(this.capacity);
  }

  /** Entries held (expired ones until they are pruned). */
  get size() {
    return this[CACHE].size;
  }

  /** Drops every entry. */
  clear() {
    this[CACHE].clear();
  }
}

/**
 * Reuses data keys within limits of age, messages and bytes, so fewer calls
 * reach the key service. Over a keyring or a materials manager.
 */
export class CachingMaterialsManager extends MaterialsManager {
  constructor(opts) {
    const { keyring, materialsManager, maxAge, maxMessages, maxBytes, capacity, cache, partitionId } = options(opts, 'CachingMaterialsManager options', [...SOURCE_OPTIONS, 'maxAge', 'maxMessages', 'maxBytes', 'capacity', 'cache', 'partitionId']);
    if (maxAge === undefined || maxAge === null) throw badArgument('maxAge (milliseconds) is required');
    integer(maxAge, 'maxAge', 1, Number.MAX_SAFE_INTEGER);
    integer(maxMessages, 'maxMessages', 1, Number.MAX_SAFE_INTEGER);
    integer(maxBytes, 'maxBytes', 0, Number.MAX_SAFE_INTEGER);
    if (cache !== undefined && capacity !== undefined) throw badArgument('give capacity or cache, not both');
    if (cache !== undefined && !isA(cache, LocalMaterialsCache)) throw badArgument('cache must be a LocalMaterialsCache');
    // Without one, the core makes a random partition ID (a guessable one
    // could be named by another manager on the same cache).
    const partition = partitionId === undefined ? undefined : string(partitionId, 'partitionId');
    const under = source({ keyring, materialsManager });
    const c = cache ?? new LocalMaterialsCache(capacity ?? undefined);
    const made = wasmSource(() => wasm.cachingManager(under, c[CACHE], partition, maxAge, maxMessages ?? undefined, maxBytes ?? undefined));
    super(made.source);
    this.cache = c;
    this.partitionId = made.partitionId;
    this.maxAge = maxAge;
  }
}

// ------------------------------------------------------------ one shot

/** `value`, if it is an AbortSignal (or shaped like one), else a bad argument. */
function abortSignal(value) {
  if (value === undefined || value === null) return undefined;
  let shaped = false;
  try {
    shaped = typeof value === 'object' && typeof value.aborted === 'boolean'
      && typeof value.addEventListener === 'function' && typeof value.removeEventListener === 'function';
  } catch { /* a throwing getter or Proxy trap: not a signal */ }
  if (!shaped) throw badArgument(`signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

/** Why `signal` aborted: its `reason`, else an AbortError, as fetch() rejects. */
function reasonOf(signal) {
  let reason;
  try {
    reason = signal.reason;
  } catch { /* a throwing getter: the default reason */ }
  return reason !== undefined ? reason : new DOMException('This operation was aborted', 'AbortError');
}

/** A rejection that is the caller's abort: passed on as it is, not as a KmsEnvelopeError. */
class Aborted {
  constructor(reason) {
    this.reason = reason;
  }
}

/**
 * One 'abort' listener per signal, however many calls share it (Node warns
 * past 10 listeners on one signal): calls add and remove callbacks.
 */
const abortWatchers = new WeakMap();

/** Calls `callback` when `signal` aborts; returns the function that stops that. */
function onAbort(signal, callback) {
  let watch = abortWatchers.get(signal);
  if (!watch) {
    const callbacks = new Set();
    const fire = () => {
      abortWatchers.delete(signal);
      for (const f of callbacks) f();
    };
    watch = { callbacks, fire };
    signal.addEventListener('abort', fire, { once: true });
    abortWatchers.set(signal, watch);
  }
  watch.callbacks.add(callback);
  return () => {
    watch.callbacks.delete(callback);
    if (watch.callbacks.size === 0 && abortWatchers.get(signal) === watch) {
      abortWatchers.delete(signal);
      try {
        signal.removeEventListener('abort', watch.fire);
      } catch { /* a signal that refuses: nothing more to undo */ }
    }
  };
}

/**
 * Runs `work(signal)` and settles as it does, or rejects with the signal's
 * reason as soon as it aborts (at once if it has, even while the listener
 * was being added); `discard` gets what the work yields after that (to
 * wipe plaintext). The work stops at its next batch of frames.
 */
async function abortable(signal, work, discard) {
  if (!signal) return work(undefined);
  const stop = stopSignal();
  // What the work hands on (to its frames, keyrings and KMS requests) is
  // the call's own signal, aborted with the caller's: the AWS SDK adds a
  // listener per request, and many calls sharing the caller's signal would
  // pass Node's warning limit of 10.
  const own = new AbortController();
  const forget = signal.aborted ? () => {} : onAbort(signal, () => {
    const reason = reasonOf(signal);
    stop.stop(new Aborted(reason));
    own.abort(reason);
  });
  try {
    if (signal.aborted) throw new Aborted(reasonOf(signal));
    return await stop.until(work(own.signal), discard);
  } finally {
    forget();
  }
}

/** `e` as the caller sees it: an abort's reason as it is, anything else a KmsEnvelopeError. */
function callerError(e) {
  return e instanceof Aborted ? e.reason : toError(e);
}

/**
 * Encrypts `plaintext` into one message.
 * @returns {Promise<Uint8Array>}
 */
export async function encrypt(plaintext, opts) {
  try {
    ready();
    const pt = bytes(plaintext, 'plaintext');
    // Streams take no signal: pipeTo's signal, or cancel and abort, stop them.
    const o = options(opts, 'encrypt options', [...ENCRYPT_OPTIONS, 'signal']);
    const args = [
      source(o),
      contextPairs(o.encryptionContext, 'encryptionContext'),
      suiteId(o.algorithmSuite),
      integer(o.frameLength, 'frameLength', 1, 0xffffffff),
      policy(o.commitmentPolicy),
      integer(o.maxEncryptedDataKeys, 'maxEncryptedDataKeys', 1, 0xffff),
    ];
    return await abortable(abortSignal(o.signal), async (signal) => {
      // Messages the host takes (thresholds in src/external.js): frames on its AES-GCM, between JS buffers.
      const h = bulkFor(pt.length, () => suiteSigns(args[2]));
      if (h && takesSuiteKey(h, args[2])) {
        // null when the host cannot take the key after all, or the materials
        // hold a host signing key JS cannot reach.
        const signingKey = await hostSigningKey(h, pt.length, args[2], o);
        const length = pt.length;
        const sealing = await wasm.encryptExternal(length, signingKey, h.keyLengths, ...args, signal);
        if (sealing) {
          // The frames read `pt` after the keyring ran: a buffer transferred
          // meanwhile (or during the frames) is empty now.
          const changed = (e) => badArgument('the plaintext changed while it was being encrypted: was its ArrayBuffer transferred?', e);
          if (pt.length !== length) {
            sealing.free();
            throw changed();
          }
          try {
            return await sealExternal(h, sealing, pt, signal);
          } catch (e) {
            throw pt.length !== length ? changed(e) : e;
          }
        }
      }
      return await wasm.encrypt(pt, ...args, signal);
    });
  } catch (e) {
    throw callerError(e);
  }
}

/** Longest message `decrypt` takes: wasm reads it at 32-bit offsets. */
const MAX_ONE_SHOT = 0xffffffff;

/**
 * Decrypts one message. `encryptionContext`, if given, is the context the
 * caller expects: every pair must be in the message (or be a required pair).
 * @returns {Promise<{plaintext: Uint8Array, encryptionContext: Record<string,string>, algorithmSuite: number, header: object}>}
 */
export async function decrypt(ciphertext, opts) {
  try {
    ready();
    const ct = bytes(ciphertext, 'ciphertext');
    const o = options(opts, 'decrypt options', [...DECRYPT_OPTIONS, 'signal']);
    const args = [
      source(o),
      o.encryptionContext === undefined ? undefined : contextPairs(o.encryptionContext, 'encryptionContext'),
      policy(o.commitmentPolicy),
      integer(o.maxEncryptedDataKeys, 'maxEncryptedDataKeys', 1, 0xffff),
    ];
    if (ct.length > MAX_ONE_SHOT) {
      throw badArgument(`decrypt takes messages up to ${MAX_ONE_SHOT} bytes; use decryptStream`);
    }
    // A result that arrives after an abort is wiped: nobody will see it.
    return await abortable(abortSignal(o.signal), async (signal) => {
      const h = bulkFor(ct.length);
      if (h) {
        // The message stays where it is (only frame heads are copied into
        // wasm); null when this path cannot take it.
        const length = ct.length;
        const r = await wasm.decryptExternal(ct, h.keyLengths, ...args, signal);
        if (r) {
          // The frames read `ct` after the keyring ran: a buffer transferred
          // meanwhile is empty now (a failure in any case; this one says why).
          try {
            return await openExternal(h, r, ct, signal);
          } catch (e) {
            if (ct.length !== length) throw badArgument('the ciphertext changed while it was being decrypted: was its ArrayBuffer transferred?', e);
            throw e;
          }
        }
      }
      return await wasm.decrypt(ct, ...args, signal);
    }, (late) => late.plaintext.fill(0));
  } catch (e) {
    throw callerError(e);
  }
}

/** Parses a message header without decrypting (nothing is authenticated). */
export async function inspect(ciphertext) {
  try {
    ready();
    return wasm.inspect(bytes(ciphertext, 'ciphertext'));
  } catch (e) {
    throw toError(e);
  }
}

// ------------------------------------------------------------ streams

/** `parts` joined into one array. */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A stop signal for a stream: `until(p)` settles as `p` does, or rejects as
 * soon as `stop(reason)` is called. A cancelled stream must not leave a
 * write pending on a keyring that never answers. (Not Promise.race over
 * one `stopped` Promise: each race would stay in its reactions, holding
 * every result, until the stream ends.)
 */
function stopSignal() {
  const waiting = new Set();
  let stopped = null;
  return {
    stop(reason) {
      if (stopped) return;
      stopped = { reason };
      for (const entry of waiting) {
        entry.stopped = true;
        entry.reject(reason);
      }
      waiting.clear();
    },
    /** `discard(value)` gets what `p` yields after a stop (e.g. to wipe it). */
    until(p, discard) {
      // A throwing discard must not become an unhandled rejection.
      const drop = (value) => { try { discard?.(value); } catch { /* nothing more to do */ } };
      if (stopped) {
        p.then(drop, () => {});
        return Promise.reject(stopped.reason);
      }
      return new Promise((resolve, reject) => {
        const entry = { reject, stopped: false };
        waiting.add(entry);
        p.then(
          (value) => {
            waiting.delete(entry);
            if (entry.stopped) drop(value);
            else resolve(value);
          },
          (error) => { waiting.delete(entry); reject(error); },
        );
      });
    },
  };
}

/** Largest piece handed to wasm at once: bounds the memory of one call. */
const PIECE = 1 << 20;

function* pieces(chunk) {
  for (let i = 0; i < chunk.length; i += PIECE) yield chunk.subarray(i, i + PIECE);
}

/**
 * A TransformStream that encrypts the plaintext written to it into one
 * message. Memory stays bounded by the frame length and the chunk size.
 */
export function encryptStream(opts) {
  ready();
  const o = options(opts, 'encryptStream options', [...ENCRYPT_OPTIONS, 'plaintextLength']);
  const src = source(o);
  const args = [
    src,
    contextPairs(o.encryptionContext, 'encryptionContext'),
    suiteId(o.algorithmSuite),
    integer(o.frameLength, 'frameLength', 1, 0xffffffff),
    policy(o.commitmentPolicy),
    integer(o.maxEncryptedDataKeys, 'maxEncryptedDataKeys', 1, 0xffff),
    integer(o.plaintextLength, 'plaintextLength', 0, Number.MAX_SAFE_INTEGER),
  ];
  // A suite the policy forbids fails here, not at the first write.
  try { wasm.checkEncryptOptions(args[2], args[4]); } catch (e) { throw toError(e); }
  // The frames go to the host's AES-GCM (src/host-stream.js) when it seals
  // stream frames and takes the suite's key; else the core seals them.
  const h = streamHost(o.frameLength);
  let enc;
  let seal;
  let ended = false;
  // The header and whole context, once the keyring has run; or the reason
  // there is none.
  let settleHeader;
  const header = new Promise((resolve, reject) => { settleHeader = { resolve, reject }; });
  header.catch(() => {});
  const signal = stopSignal();
  /** Ends the message's wasm handles (once), wiping what they hold. */
  const end = (reason) => {
    ended = true;
    signal.stop(reason instanceof KmsEnvelopeError ? reason : cancelled(reason));
    seal?.abort();
    enc?.free();
    seal = null;
    enc = null;
    settleHeader?.reject(reason instanceof KmsEnvelopeError ? reason : cancelled(reason));
    settleHeader = null;
  };
  const stream = new TransformStream({
    async start(controller) {
      try {
        const starting = wasm.startEncrypt(...args, h?.keyLengths);
        // Stopped while the keyring runs: what it makes later is freed then.
        starting.then((made) => { if (ended) made.free(); }, () => {});
        const r = await signal.until(starting);
        if (!ended) {
          settleHeader.resolve(r.headerResult());
          settleHeader = null;
        }
        if (r instanceof wasm.StreamSealing) {
          // A cancel while the keyring ran finds nothing to end: what is
          // made after it is ended here.
          if (ended) return r.free();
          seal = await StreamSeal.start(h, r, (b) => controller.enqueue(b), (e) => controller.error(toError(e)));
        } else {
          enc = r;
        }
        if (ended) end();
      } catch (e) {
        const err = toError(e);
        end(err);
        throw err;
      }
    },
    async transform(chunk, controller) {
      try {
        const input = bytes(chunk, 'stream chunk');
        if (seal) return await signal.until(seal.write(input));
        for (const p of pieces(input)) {
          const out = enc.update(p);
          if (out.length) controller.enqueue(out);
        }
      } catch (e) {
        const err = toError(e);
        end(err);
        throw err;
      }
    },
    async flush(controller) {
      try {
        if (seal) await seal.end();
        else controller.enqueue(enc.finish());
      } catch (e) {
        throw toError(e);
      } finally {
        end();
      }
    },
    // Aborted or cancelled: the plaintext held for the next frame is wiped.
    cancel: end,
  });
  // (Where the host never calls `cancel`, src/watch.js does.)
  const out = watched(stream, end);
  out.header = header;
  return out;
}

/**
 * A TransformStream that decrypts one message. Plaintext of unsigned suites
 * is released frame by frame; of signed suites only after the signature
 * verifies, unless `signedRelease: 'frames'` (see the README). The returned
 * stream has a `result` Promise: `{ encryptionContext, header }` once the
 * whole message is authenticated.
 */
export function decryptStream(opts) {
  ready();
  const o = options(opts, 'decryptStream options', [...DECRYPT_OPTIONS, 'signedRelease', 'unsignedOnly', 'maxBufferedPlaintext', 'maxFrameSize']);
  const src = source(o);
  const maxEdks = integer(o.maxEncryptedDataKeys, 'maxEncryptedDataKeys', 1, 0xffff);
  const maxFrameSize = integer(o.maxFrameSize, 'maxFrameSize', 0, Number.MAX_SAFE_INTEGER);
  let dec;
  try {
    dec = new wasm.Decryptor(
      src,
      o.encryptionContext === undefined ? undefined : contextPairs(o.encryptionContext, 'encryptionContext'),
      policy(o.commitmentPolicy),
      maxEdks,
      optionalString(o.signedRelease, 'signedRelease'),
      optionalBoolean(o.unsignedOnly, 'unsignedOnly'),
      integer(o.maxBufferedPlaintext, 'maxBufferedPlaintext', 0, Number.MAX_SAFE_INTEGER),
      maxFrameSize,
    );
  } catch (e) {
    throw toError(e);
  }
  let settle;
  const result = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  result.catch(() => {}); // reported through the stream as well
  // Settled once: with the authenticated header, before any plaintext is
  // emitted, or with the stream's failure.
  let settleHeader;
  const header = new Promise((resolve, reject) => { settleHeader = { resolve, reject }; });
  header.catch(() => {});
  /** Resolves `header` once the header is authenticated; whether it did now. */
  const noteHeader = () => {
    const found = settleHeader && (open ? open.headerResult() : dec?.headerResult());
    if (!found) return false;
    settleHeader.resolve(found);
    settleHeader = null;
    return true;
  };
  // The first bytes are kept here until the header is whole. Where the host
  // opens stream frames (src/host-stream.js), its suite and frame length
  // decide whether the frames go to the host or stay in the core. And wasm
  // memory, which never shrinks, takes the header in one piece: a header
  // refused at the limit never crossed (the core's buffer, grown piece by
  // piece, left memory at twice the limit). The scan reads each byte once;
  // the pieces are joined once, when it is whole.
  let head = { pieces: [], scan: new wasm.HeaderScan(maxEdks, maxFrameSize) };
  const takeHead = () => {
    const joined = concat(head.pieces);
    head.scan.free();
    head = null;
    return joined;
  };
  let open = null;
  // Set once the stream failed or was cancelled: plaintext that arrives
  // after that (frames the host finishes late) is wiped, never enqueued.
  let ended = false;
  /** Hands `plaintext` to the reader, or wipes it once the stream has ended. */
  const emit = (controller, plaintext) => {
    if (!ended) {
      try {
        controller.enqueue(plaintext);
        return;
      } catch {
        // cancelled meanwhile
      }
    }
    plaintext.fill(0);
  };
  const signal = stopSignal();
  const fail = (e) => {
    ended = true;
    const err = toError(e);
    signal.stop(err);
    settle.reject(err);
    settleHeader?.reject(err);
    settleHeader = null;
    open?.abort();
    dec?.free();
    dec = null;
    head?.scan.free();
    head = null;
    return err;
  };
  /** Picks the host's path when the header `info` allows it. */
  const choose = (info, controller) => {
    const h = openStreamHost(info.algorithmSuite, info.framed ? info.frameLength : 0);
    if (h) {
      open = new StreamOpen(h, dec.intoExternal(), (b) => emit(controller, b), (e) => controller.error(fail(e)));
      dec.free();
      dec = null;
    }
  };
  /** Feeds one piece (at most PIECE bytes) to the chosen decryptor. */
  const feed = async (p, controller) => {
    if (open) return signal.until(open.write(p, noteHeader));
    // Plaintext that comes back after a stop is wiped, never emitted.
    const out = await signal.until(dec.update(p), (late) => late.fill(0));
    // A pipe hands an enqueued chunk to its sink at once, and a pipe aborted
    // takes some turns of the event loop to cancel this stream: the first
    // plaintext waits a task after the header resolved, so that a caller
    // who stops the pipe from the header's callbacks gets none of it.
    if (noteHeader()) await new Promise((resolve) => setTimeout(resolve, 0));
    if (out.length) emit(controller, out);
  };
  const stream = new TransformStream({
    async transform(chunk, controller) {
      try {
        for (let p of pieces(bytes(chunk, 'stream chunk'))) {
          if (head) {
            // Until the header is whole: at most the header and one piece
            // cross into wasm at a time.
            head.pieces.push(new Uint8Array(p)); // a copy (a Buffer's slice() is a view)
            if (!head.scan.feed(p)) continue;
            p = takeHead();
            const info = wasm.headerInfo(p, maxEdks);
            // (A header the parser finds short goes to the core, which says so.)
            if (info !== undefined) choose(info, controller);
          }
          await feed(p, controller);
        }
      } catch (e) {
        throw fail(e);
      }
    },
    async flush(controller) {
      try {
        // The input ended inside the header: the core reports it.
        if (head) await feed(takeHead(), controller);
        settle.resolve(open ? await open.end() : dec.finish());
        // Ended: a later stop (a cancel after the last read) finds nothing to end.
        ended = true;
        dec?.free();
        dec = null;
      } catch (e) {
        throw fail(e);
      }
    },
    cancel(reason) {
      fail(cancelled(reason));
    },
  // One chunk may wait unread, so input is taken before anyone reads: a
  // caller can await `header`, then read or cancel.
  }, undefined, { highWaterMark: 1 });
  // (Where the host never calls `cancel`, src/watch.js does; after a
  // failure the stream has ended already.)
  const out = watched(stream, (reason) => {
    if (!ended) fail(cancelled(reason));
  });
  out.result = result;
  out.header = header;
  return out;
}

/** Which crypto backend the wasm core uses (diagnostics). */
export function cryptoBackend() {
  ready();
  return wasm.cryptoBackend();
}
