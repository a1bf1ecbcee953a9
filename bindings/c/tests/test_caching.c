/* The caching CMM over a C keyring that counts its calls (no KMS needed):
 * limits of messages and bytes, suites without key derivation, the LRU
 * capacity, partitions of a shared cache, clear, decryption, streams, and
 * bad options. The tests against AWS KMS (moto) are in test_kms.c. */
#include <stdint.h>
#include <string.h>

#include "kmse_test.h"

typedef struct {
    int encrypts, decrypts;
} counts;

static int counting_on_encrypt(void *user_data, kmse_encryption_materials *m) {
    counts *n = user_data;
    const uint8_t *key = NULL;
    size_t len = 0;
    n->encrypts++;
    if (kmse_encryption_materials_generate_data_key(m) != KMSE_STATUS_OK ||
        kmse_encryption_materials_data_key(m, &key, &len) != KMSE_STATUS_OK)
        return KMSE_STATUS_BAD_ARGUMENT;
    /* Stores the key in the clear: a test keyring only. */
    return kmse_encryption_materials_add_encrypted_data_key(m, "counting", NULL, 0, key, len);
}

static int counting_on_decrypt(void *user_data, kmse_decryption_materials *m,
                               const kmse_encrypted_data_keys *edks) {
    counts *n = user_data;
    kmse_encrypted_data_key edk;
    n->decrypts++;
    if (kmse_encrypted_data_keys_get(edks, 0, &edk) != KMSE_STATUS_OK ||
        strcmp(edk.provider_id, "counting") != 0) {
        kmse_decryption_materials_set_error(m, NULL, "no counting EDK");
        return KMSE_STATUS_NO_KEY_UNWRAPPED;
    }
    return kmse_decryption_materials_set_data_key(m, edk.ciphertext, edk.ciphertext_len);
}

static kmse_keyring *counting_keyring(counts *n) {
    kmse_keyring *k = NULL;
    memset(n, 0, sizeof *n);
    CHECK_OK(kmse_keyring_new_custom(counting_on_encrypt, counting_on_decrypt, n, NULL, &k));
    return k;
}

/* A caching CMM; 0 leaves a limit at its default, NULL the partition and cache. */
static kmse_cmm *caching(const kmse_keyring *k, uint64_t max_messages, uint64_t max_bytes,
                         const char *partition, const kmse_materials_cache *cache) {
    kmse_caching_options *o = NULL;
    kmse_cmm *cmm = NULL;
    CHECK_OK(kmse_caching_options_new(3600 * 1000, &o));
    if (max_messages) CHECK_OK(kmse_caching_options_set_max_messages(o, max_messages));
    if (max_bytes) CHECK_OK(kmse_caching_options_set_max_bytes(o, max_bytes));
    if (partition) CHECK_OK(kmse_caching_options_set_partition_id(o, partition));
    if (cache) CHECK_OK(kmse_caching_options_set_cache(o, cache));
    CHECK_OK(kmse_cmm_new_caching(k, o, &cmm));
    kmse_caching_options_free(o);
    return cmm;
}

/* Encrypts `n` messages of `len` bytes with `cmm`. */
static void encrypt_n(const kmse_client *c, const kmse_cmm *cmm, const kmse_encryption_context *ec,
                      int n, size_t len) {
    unsigned char text[1024];
    int i;
    for (i = 0; i < n; i++) {
        kmse_buffer *ct = NULL;
        kt_fill(text, len, (unsigned)i);
        CHECK_OK(kmse_encrypt_with_cmm(c, cmm, ec, text, len, &ct));
        kmse_buffer_free(ct);
    }
}

static kmse_encryption_context *context(const char *value) {
    kmse_encryption_context *ec = NULL;
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "tenant", value));
    return ec;
}

static void limits(void) {
    counts n;
    kmse_keyring *k = counting_keyring(&n);
    kmse_cmm *by_messages = caching(k, 4, 0, NULL, NULL);
    kmse_cmm *by_bytes = caching(k, 0, 250, NULL, NULL);
    kmse_client *c = kt_client(0);

    kt_begin("caching CMM: max messages and max bytes per data key");
    encrypt_n(c, by_messages, NULL, 10, 16); /* 4 + 4 + 2 */
    CHECK(n.encrypts == 3);
    n.encrypts = 0;
    encrypt_n(c, by_bytes, NULL, 6, 100); /* 200 bytes per key, 300 would pass 250 */
    CHECK(n.encrypts == 3);
    n.encrypts = 0;
    encrypt_n(c, by_bytes, NULL, 3, 251); /* larger than the limit: never cached */
    CHECK(n.encrypts == 3);
    kmse_cmm_free(by_messages);
    kmse_cmm_free(by_bytes);
    kmse_keyring_free(k);
    kmse_client_free(c);
    kt_end();
}

static void suites_without_kdf(void) {
    counts n;
    kmse_keyring *k = counting_keyring(&n);
    kmse_cmm *cmm = caching(k, 0, 0, NULL, NULL);
    kmse_client_options *o = NULL;
    kmse_client *legacy = NULL, *c = kt_client(0);

    kt_begin("caching CMM: suites without key derivation are never cached");
    CHECK_OK(kmse_client_options_new(&o));
    CHECK_OK(kmse_client_options_set_commitment_policy(
        o, KMSE_COMMITMENT_POLICY_FORBID_ENCRYPT_ALLOW_DECRYPT));
    CHECK_OK(kmse_client_options_set_algorithm_suite(o, KMSE_ALG_AES_256_GCM_IV12_TAG16_NO_KDF));
    CHECK_OK(kmse_client_new(o, &legacy));
    encrypt_n(legacy, cmm, NULL, 3, 32);
    CHECK(n.encrypts == 3);
    n.encrypts = 0;
    encrypt_n(c, cmm, NULL, 3, 32); /* the default suite is cached */
    CHECK(n.encrypts == 1);
    kmse_client_options_free(o);
    kmse_client_free(legacy);
    kmse_client_free(c);
    kmse_cmm_free(cmm);
    kmse_keyring_free(k);
    kt_end();
}

static void capacity_partitions_clear(void) {
    counts n;
    kmse_keyring *k = counting_keyring(&n);
    kmse_materials_cache *small = NULL, *shared = NULL;
    kmse_cmm *lru = NULL, *p1 = NULL, *p1_again = NULL, *p2 = NULL;
    kmse_encryption_context *a = context("a"), *b = context("b"), *d = context("d");
    kmse_client *c = kt_client(0);
    size_t len = 99;

    kt_begin("caching CMM: LRU capacity, partitions of a shared cache, clear");
    CHECK_OK(kmse_materials_cache_new(2, &small));
    lru = caching(k, 0, 0, NULL, small);
    encrypt_n(c, lru, a, 1, 8);
    encrypt_n(c, lru, b, 1, 8);
    encrypt_n(c, lru, a, 1, 8); /* a hit: a is now the most recently used */
    CHECK(n.encrypts == 2);
    encrypt_n(c, lru, d, 1, 8); /* evicts b */
    CHECK_OK(kmse_materials_cache_len(small, &len));
    CHECK(len == 2);
    encrypt_n(c, lru, a, 1, 8);
    CHECK(n.encrypts == 3);
    encrypt_n(c, lru, b, 1, 8);
    CHECK(n.encrypts == 4);
    CHECK_OK(kmse_materials_cache_clear(small));
    CHECK_OK(kmse_materials_cache_len(small, &len));
    CHECK(len == 0);
    encrypt_n(c, lru, b, 1, 8);
    CHECK(n.encrypts == 5);

    n.encrypts = 0;
    CHECK_OK(kmse_materials_cache_new(100, &shared));
    p1 = caching(k, 0, 0, "tenant-1", shared);
    p1_again = caching(k, 0, 0, "tenant-1", shared);
    p2 = caching(k, 0, 0, "tenant-2", shared);
    kmse_materials_cache_free(shared); /* the CMMs keep it */
    encrypt_n(c, p1, a, 1, 8);
    encrypt_n(c, p1_again, a, 1, 8); /* same partition: shares the entry */
    CHECK(n.encrypts == 1);
    encrypt_n(c, p2, a, 1, 8); /* another partition: its own entry */
    CHECK(n.encrypts == 2);

    kmse_materials_cache_free(small);
    kmse_cmm_free(lru);
    kmse_cmm_free(p1);
    kmse_cmm_free(p1_again);
    kmse_cmm_free(p2);
    kmse_encryption_context_free(a);
    kmse_encryption_context_free(b);
    kmse_encryption_context_free(d);
    kmse_keyring_free(k);
    kmse_client_free(c);
    kt_end();
}

static void decryption_and_streams(void) {
    counts n;
    kmse_keyring *k = counting_keyring(&n);
    kmse_cmm *cmm = caching(k, 0, 0, NULL, NULL), *required = NULL, *over_required = NULL;
    kmse_caching_options *o = NULL;
    const char *keys[1] = {"tenant"};
    kmse_encryption_context *ec = context("acme");
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    unsigned char out[8192];
    int round;

    kt_begin("caching CMM: decryption materials, streams, over another CMM");
    CHECK_OK(kmse_encrypt_with_cmm(c, cmm, ec, (const uint8_t *)"hello", 5, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    for (round = 0; round < 3; round++) {
        CHECK_OK(kmse_decrypt_with_cmm(c, cmm, ec, data, len, &pt, NULL, NULL));
        CHECK(kt_buffer_equals(pt, "hello", 5));
        kmse_buffer_free(pt);
        pt = NULL;
    }
    CHECK(n.decrypts == 1);
    kmse_buffer_free(ct);
    ct = NULL;

    /* Streams reuse data keys only when the plaintext length is declared. */
    n.encrypts = 0;
    for (round = 0; round < 4; round++) {
        kmse_encryptor *enc = NULL;
        size_t written = 0, pending = 0;
        uint64_t declared = round < 2 ? 5 : KMSE_PLAINTEXT_LENGTH_UNKNOWN;
        CHECK_OK(kmse_encryptor_new_with_cmm(c, cmm, ec, declared, &enc));
        CHECK_OK(kmse_encryptor_update(enc, (const uint8_t *)"hello", 5, out, sizeof out, &written,
                                       &pending));
        CHECK_OK(kmse_encryptor_finish(enc, out, sizeof out, &written, &pending));
        CHECK(pending == 0);
        kmse_encryptor_free(enc);
    }
    /* The declared ones reuse the one-shot message's data key; the others
     * each get a new one. */
    CHECK(n.encrypts == 2);

    /* Over a required-encryption-context CMM. */
    n.encrypts = 0;
    CHECK_OK(kmse_cmm_new_required_encryption_context(cmm, keys, 1, &required));
    CHECK_OK(kmse_caching_options_new(60000, &o));
    CHECK_OK(kmse_cmm_new_caching_with_cmm(required, o, &over_required));
    kmse_caching_options_free(o);
    CHECK_OK(kmse_encrypt_with_cmm(c, over_required, ec, (const uint8_t *)"hi", 2, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt_with_cmm(c, over_required, ec, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "hi", 2));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    kmse_cmm_free(required);
    kmse_cmm_free(over_required);
    kmse_cmm_free(cmm);
    kmse_keyring_free(k);
    kmse_encryption_context_free(ec);
    kmse_client_free(c);
    kt_end();
}

static void bad_options(void) {
    kmse_caching_options *o = (kmse_caching_options *)0x1;
    kmse_materials_cache *cache = NULL;
    kmse_keyring *k = kt_aes_keyring("ns", "n", 32);
    kmse_cmm *cmm = (kmse_cmm *)0x1, *plain = NULL;
    size_t len = 0;

    kt_begin("caching CMM: NULL and bad values");
    kmse_caching_options_free(NULL);
    kmse_materials_cache_free(NULL);
    CHECK_NULL(kmse_materials_cache_new(1, NULL), "cache_out");
    CHECK_NULL(kmse_materials_cache_len(NULL, &len), "cache");
    CHECK_NULL(kmse_materials_cache_clear(NULL), "cache");
    CHECK_NULL(kmse_caching_options_new(1000, NULL), "options_out");
    CHECK_ERR(kmse_caching_options_new(0, &o), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(o == (kmse_caching_options *)0x1);
    CHECK_OK(kmse_caching_options_new(1000, &o));
    CHECK_OK(kmse_materials_cache_new(0, &cache)); /* caches nothing */
    CHECK_NULL(kmse_materials_cache_len(cache, NULL), "len_out");
    CHECK_NULL(kmse_caching_options_set_max_messages(NULL, 1), "options");
    CHECK_NULL(kmse_caching_options_set_max_bytes(NULL, 1), "options");
    CHECK_NULL(kmse_caching_options_set_partition_id(NULL, "p"), "options");
    CHECK_NULL(kmse_caching_options_set_partition_id(o, NULL), "partition_id");
    CHECK_NULL(kmse_caching_options_set_cache(NULL, cache), "options");
    CHECK_NULL(kmse_caching_options_set_cache(o, NULL), "cache");
    CHECK_ERR(kmse_caching_options_set_max_messages(o, 0), KMSE_STATUS_BAD_ARGUMENT);
    /* caching-cmm.md: a 64-bit limit, 2^32 only the default. */
    CHECK_OK(kmse_caching_options_set_max_messages(o, (UINT64_C(1) << 32) + 1));
    CHECK_OK(kmse_caching_options_set_max_messages(o, UINT64_MAX));
    CHECK_OK(kmse_caching_options_set_max_messages(o, UINT64_C(1) << 32));
    CHECK_ERR(kmse_caching_options_set_max_bytes(o, UINT64_MAX), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_caching_options_set_partition_id(o, "\xc3"), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_caching_options_set_max_bytes(o, INT64_MAX));
    CHECK_NULL(kmse_cmm_new_caching(NULL, o, &cmm), "keyring");
    CHECK_NULL(kmse_cmm_new_caching(k, NULL, &cmm), "options");
    CHECK_NULL(kmse_cmm_new_caching(k, o, NULL), "cmm_out");
    CHECK_NULL(kmse_cmm_new_caching_with_cmm(NULL, o, &cmm), "underlying");
    CHECK_OK(kmse_cmm_new_default(k, &plain));
    CHECK_NULL(kmse_cmm_new_caching_with_cmm(plain, NULL, &cmm), "options");
    CHECK_NULL(kmse_cmm_new_caching_with_cmm(plain, o, NULL), "cmm_out");
    CHECK(cmm == (kmse_cmm *)0x1);
    kmse_caching_options_free(o);
    kmse_materials_cache_free(cache);
    kmse_cmm_free(plain);
    kmse_keyring_free(k);
    kt_end();
}

void test_caching(void) {
    limits();
    suites_without_kdf();
    capacity_partitions_clear();
    decryption_and_streams();
    bad_options();
}
