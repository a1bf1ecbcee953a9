/* A custom keyring implemented in C: a toy "KMS" that XORs the data key
 * with a pad. It shows the callback contract and checks that callback
 * failures reach the caller with the right status and message, that
 * user_data is freed exactly once, and that the materials setters check
 * their arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

#define PROVIDER "c-xor-kms"

enum fail_mode {
    WORKS,
    ENCRYPT_KMS_ERROR,      /* on_encrypt: KMS_ERROR with a code and a message */
    ENCRYPT_BARE_FAILURE,   /* on_encrypt: KMS_ERROR without a message */
    ENCRYPT_NO_EDK,         /* on_encrypt: OK but adds nothing */
    ENCRYPT_ODD_STATUS,     /* on_encrypt: returns 42 */
    DECRYPT_KMS_ERROR,      /* on_decrypt: KMS_ERROR */
    DECRYPT_NO_KEY_SILENTLY /* on_decrypt: OK without a key */
};

typedef struct {
    unsigned char pad[32];
    char key_id[16];
    enum fail_mode mode;
    int encrypt_calls, decrypt_calls;
    char last_purpose[64];
    /* The pairs the message does not store, as each callback last saw them:
     * their number and the first key. */
    size_t required_on_encrypt, required_on_decrypt;
    char required_key[64];
    /* If set, on_decrypt first calls back into this decryptor (the one it
     * serves) and records the statuses. */
    kmse_decryptor *reenter;
    kmse_status reenter_update, reenter_header;
} xor_kms;

/* Records the required pairs a callback sees (count, first key). */
static void note_required(xor_kms *kms, const kmse_encryption_context *required, size_t *count) {
    kmse_encryption_context_entry entry;
    if (kmse_encryption_context_len(required, count) != KMSE_STATUS_OK) return;
    if (*count > 0 && kmse_encryption_context_entry_at(required, 0, &entry) == KMSE_STATUS_OK)
        snprintf(kms->required_key, sizeof kms->required_key, "%s", entry.key);
}

static int freed_count;

static void xor_kms_free(void *user_data) {
    freed_count++;
    free(user_data);
}

static int xor_on_encrypt(void *user_data, kmse_encryption_materials *materials) {
    xor_kms *kms = user_data;
    const uint8_t *key = NULL;
    size_t key_len = 0, i;
    unsigned char wrapped[32];
    const kmse_encryption_context *ec = NULL;
    const char *purpose = NULL;
    uint16_t suite = 0;
    size_t suite_key_len = 0;

    kms->encrypt_calls++;
    switch (kms->mode) {
    case ENCRYPT_KMS_ERROR:
        kmse_encryption_materials_set_error(materials, "AccessDeniedException",
                                            "the toy KMS denies GenerateDataKey");
        return KMSE_STATUS_KMS_ERROR;
    case ENCRYPT_BARE_FAILURE: return KMSE_STATUS_KMS_ERROR;
    case ENCRYPT_ODD_STATUS: return 42;
    default: break;
    }
    if (kmse_encryption_materials_algorithm_suite(materials, &suite) != KMSE_STATUS_OK ||
        kmse_algorithm_suite_data_key_length(suite, &suite_key_len) != KMSE_STATUS_OK)
        return KMSE_STATUS_BAD_ARGUMENT;
    if (kmse_encryption_materials_encryption_context(materials, &ec) == KMSE_STATUS_OK &&
        kmse_encryption_context_get(ec, "purpose", &purpose, NULL) == KMSE_STATUS_OK &&
        purpose != NULL)
        snprintf(kms->last_purpose, sizeof kms->last_purpose, "%s", purpose);
    if (kmse_encryption_materials_required_context(materials, &ec) == KMSE_STATUS_OK)
        note_required(kms, ec, &kms->required_on_encrypt);
    if (kms->mode == ENCRYPT_NO_EDK) return kmse_encryption_materials_generate_data_key(materials);

    if (kmse_encryption_materials_data_key(materials, &key, &key_len) != KMSE_STATUS_OK)
        return KMSE_STATUS_BAD_ARGUMENT;
    if (key == NULL) {
        /* No data key yet: "the KMS" generates one (here: the library's RNG). */
        kmse_status st = kmse_encryption_materials_generate_data_key(materials);
        if (st != KMSE_STATUS_OK) return st;
        kmse_encryption_materials_data_key(materials, &key, &key_len);
    }
    if (key_len != suite_key_len || key_len > sizeof wrapped) return KMSE_STATUS_BAD_ARGUMENT;
    for (i = 0; i < key_len; i++) wrapped[i] = key[i] ^ kms->pad[i];
    return kmse_encryption_materials_add_encrypted_data_key(
        materials, PROVIDER, (const uint8_t *)kms->key_id, strlen(kms->key_id), wrapped, key_len);
}

static int xor_on_decrypt(void *user_data, kmse_decryption_materials *materials,
                          const kmse_encrypted_data_keys *edks) {
    xor_kms *kms = user_data;
    size_t n = 0, i, j;
    char why[128];

    kms->decrypt_calls++;
    if (kms->reenter) {
        size_t written = 0, pending = 0;
        kmse_header *header = NULL;
        kms->reenter_update = kmse_decryptor_update(kms->reenter, (const uint8_t *)"x", 1, NULL, 0,
                                                    &written, &pending);
        kms->reenter_header = kmse_decryptor_header(kms->reenter, &header);
        kmse_header_free(header);
        kmse_decryptor_free(kms->reenter); /* in use: ignored, not freed */
    }
    if (kms->mode == DECRYPT_KMS_ERROR) {
        kmse_decryption_materials_set_error(materials, "KMSInternalException",
                                            "the toy KMS is down");
        return KMSE_STATUS_KMS_ERROR;
    }
    if (kms->mode == DECRYPT_NO_KEY_SILENTLY) return KMSE_STATUS_OK;
    {
        const kmse_encryption_context *required = NULL;
        if (kmse_decryption_materials_required_context(materials, &required) == KMSE_STATUS_OK)
            note_required(kms, required, &kms->required_on_decrypt);
    }
    if (kmse_encrypted_data_keys_len(edks, &n) != KMSE_STATUS_OK) return KMSE_STATUS_BAD_ARGUMENT;
    for (i = 0; i < n; i++) {
        kmse_encrypted_data_key edk;
        unsigned char key[32];
        if (kmse_encrypted_data_keys_get(edks, i, &edk) != KMSE_STATUS_OK) continue;
        if (strcmp(edk.provider_id, PROVIDER) != 0 || edk.provider_info_len != strlen(kms->key_id) ||
            memcmp(edk.provider_info, kms->key_id, edk.provider_info_len) != 0 ||
            edk.ciphertext_len > sizeof key)
            continue;
        for (j = 0; j < edk.ciphertext_len; j++) key[j] = edk.ciphertext[j] ^ kms->pad[j];
        return kmse_decryption_materials_set_data_key(materials, key, edk.ciphertext_len);
    }
    snprintf(why, sizeof why, "no %s key '%s' among %u encrypted data keys", PROVIDER,
             kms->key_id, (unsigned)n);
    kmse_decryption_materials_set_error(materials, NULL, why);
    return KMSE_STATUS_NO_KEY_UNWRAPPED;
}

static kmse_keyring *xor_keyring(const char *key_id, unsigned seed, xor_kms **state) {
    xor_kms *kms = calloc(1, sizeof *kms);
    kmse_keyring *keyring = NULL;
    kt_fill(kms->pad, sizeof kms->pad, seed);
    snprintf(kms->key_id, sizeof kms->key_id, "%s", key_id);
    CHECK_OK(kmse_keyring_new_custom(xor_on_encrypt, xor_on_decrypt, kms, xor_kms_free, &keyring));
    if (state) *state = kms;
    return keyring;
}

static void custom_roundtrip(void) {
    xor_kms *kms = NULL;
    kmse_keyring *keyring;
    kmse_client *client = kt_client(0);
    kmse_encryption_context *ec = NULL;
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("custom keyring in C: round trip, the callbacks see suite and context");
    freed_count = 0;
    keyring = xor_keyring("key-1", 7, &kms);
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "purpose", "custom"));
    CHECK_OK(kmse_encrypt(client, keyring, ec, (const uint8_t *)"via C", 5, &ct));
    CHECK(kms->encrypt_calls == 1);
    CHECK(strcmp(kms->last_purpose, "custom") == 0);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt(client, keyring, ec, data, len, &pt, NULL, NULL));
    CHECK(kms->decrypt_calls == 1);
    CHECK(kt_buffer_equals(pt, "via C", 5));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    kmse_encryption_context_free(ec);
    CHECK(freed_count == 0);
    kmse_keyring_free(keyring);
    CHECK(freed_count == 1);
    kmse_client_free(client);
    kt_end();
}

static void custom_in_multi_keyring(void) {
    xor_kms *kms = NULL;
    kmse_keyring *custom, *aes = kt_aes_keyring("c-tests", "aes", 32), *multi = NULL, *multi2 = NULL;
    const kmse_keyring *children[1];
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("custom keyring as a multi-keyring child and generator; user_data freed once");
    freed_count = 0;
    custom = xor_keyring("key-2", 9, &kms);
    children[0] = custom;
    /* Child: it gets the AES generator's data key and only wraps it. */
    CHECK_OK(kmse_keyring_new_multi(aes, children, 1, &multi));
    /* Generator: it makes the data key, the AES child wraps it too. */
    children[0] = aes;
    CHECK_OK(kmse_keyring_new_multi(custom, children, 1, &multi2));
    kmse_keyring_free(custom); /* the multi-keyrings hold references */
    CHECK(freed_count == 0);
    CHECK_OK(kmse_encrypt(client, multi, NULL, (const uint8_t *)"both", 4, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt(client, multi2, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "both", 4));
    kmse_buffer_free(pt);
    CHECK_OK(kmse_decrypt(client, aes, NULL, data, len, &pt, NULL, NULL));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    CHECK_OK(kmse_encrypt(client, multi2, NULL, (const uint8_t *)"gen", 3, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt(client, aes, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "gen", 3));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    CHECK(kms->encrypt_calls == 2 && kms->decrypt_calls == 1);
    kmse_keyring_free(multi);
    CHECK(freed_count == 0);
    kmse_keyring_free(multi2);
    CHECK(freed_count == 1);
    kmse_keyring_free(aes);
    kmse_client_free(client);
    kt_end();
}

/* Runs one failing mode; checks the status and that the message contains `text`. */
static void expect_failure(enum fail_mode mode, int on_decrypt, kmse_status want, const char *text) {
    xor_kms *kms = NULL;
    kmse_keyring *keyring = xor_keyring("key-3", 11, &kms);
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    char name[96];

    snprintf(name, sizeof name, "custom keyring callback failure, mode %d -> %s", (int)mode,
             kmse_status_name(want));
    kt_begin(name);
    if (on_decrypt) {
        CHECK_OK(kmse_encrypt(client, keyring, NULL, (const uint8_t *)"x", 1, &ct));
        CHECK_OK(kmse_buffer_data(ct, &data, &len));
        kms->mode = mode;
        CHECK_ERR(kmse_decrypt(client, keyring, NULL, data, len, &pt, NULL, NULL), want);
    } else {
        kms->mode = mode;
        CHECK_ERR(kmse_encrypt(client, keyring, NULL, (const uint8_t *)"x", 1, &ct), want);
        CHECK(ct == NULL);
    }
    CHECK(strstr(kmse_last_error_message(), text) != NULL);
    CHECK(pt == NULL);
    kmse_buffer_free(ct);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kt_end();
}

static void callback_failures(void) {
    expect_failure(ENCRYPT_KMS_ERROR, 0, KMSE_STATUS_KMS_ERROR,
                   "AccessDeniedException: the toy KMS denies GenerateDataKey");
    expect_failure(ENCRYPT_BARE_FAILURE, 0, KMSE_STATUS_KMS_ERROR,
                   "on_encrypt callback failed with status 9");
    expect_failure(ENCRYPT_ODD_STATUS, 0, KMSE_STATUS_KMS_ERROR, "status 42");
    expect_failure(ENCRYPT_NO_EDK, 0, KMSE_STATUS_BAD_ARGUMENT, "added no encrypted data key");
    expect_failure(DECRYPT_KMS_ERROR, 1, KMSE_STATUS_KMS_ERROR,
                   "KMSInternalException: the toy KMS is down");
    expect_failure(DECRYPT_NO_KEY_SILENTLY, 1, KMSE_STATUS_NO_KEY_UNWRAPPED, "no data key");
}

static void wrong_key_reports_no_key(void) {
    kmse_keyring *writer = xor_keyring("key-4", 13, NULL);
    kmse_keyring *reader = xor_keyring("key-5", 13, NULL);
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("custom keyring: NO_KEY_UNWRAPPED with the callback's reason");
    CHECK_OK(kmse_encrypt(client, writer, NULL, (const uint8_t *)"k", 1, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_ERR(kmse_decrypt(client, reader, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK(strstr(kmse_last_error_message(), "no c-xor-kms key 'key-5' among 1") != NULL);
    kmse_buffer_free(ct);
    kmse_keyring_free(writer);
    kmse_keyring_free(reader);
    kmse_client_free(client);
    kt_end();
}

/* A keyring whose callbacks call every materials function with bad
 * arguments, then do their job. */
static int args_on_encrypt(void *user_data, kmse_encryption_materials *m) {
    const kmse_encryption_context *ec = NULL;
    const uint8_t *key = NULL;
    size_t key_len = 0;
    uint16_t suite = 0;
    unsigned char short_key[5] = {0};
    (void)user_data;
    CHECK_NULL(kmse_encryption_materials_algorithm_suite(m, NULL), "suite_id_out");
    CHECK_NULL(kmse_encryption_materials_encryption_context(m, NULL), "context_out");
    CHECK_NULL(kmse_encryption_materials_required_context(m, NULL), "context_out");
    CHECK_NULL(kmse_encryption_materials_required_context(NULL, &ec), "materials");
    CHECK_NULL(kmse_encryption_materials_data_key(m, NULL, &key_len), "key_out");
    CHECK_NULL(kmse_encryption_materials_data_key(m, &key, NULL), "key_len_out");
    CHECK_NULL(kmse_encryption_materials_set_data_key(m, NULL, 32), "key");
    CHECK_ERR(kmse_encryption_materials_set_data_key(m, short_key, sizeof short_key),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_encryption_materials_add_encrypted_data_key(m, "p", NULL, 0, short_key, 1),
              KMSE_STATUS_BAD_ARGUMENT); /* no data key yet */
    CHECK_NULL(kmse_encryption_materials_set_error(m, NULL, NULL), "message");
    CHECK_OK(kmse_encryption_materials_algorithm_suite(m, &suite));
    CHECK_OK(kmse_encryption_materials_encryption_context(m, &ec));
    CHECK_OK(kmse_encryption_materials_generate_data_key(m));
    CHECK_ERR(kmse_encryption_materials_generate_data_key(m), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_encryption_materials_add_encrypted_data_key(m, NULL, NULL, 0, short_key, 1),
               "provider_id");
    CHECK_NULL(kmse_encryption_materials_add_encrypted_data_key(m, "p", NULL, 3, short_key, 1),
               "provider_info");
    CHECK_NULL(kmse_encryption_materials_add_encrypted_data_key(m, "p", NULL, 0, NULL, 1),
               "ciphertext");
    CHECK_OK(kmse_encryption_materials_data_key(m, &key, &key_len));
    CHECK(key != NULL && key_len == 32);
    /* Stores the key in the clear: a test keyring only. */
    CHECK_OK(kmse_encryption_materials_add_encrypted_data_key(m, "clear", NULL, 0, key, key_len));
    /* A failed call last: kmse_encrypt's success must not show its message. */
    CHECK_ERR(kmse_encryption_materials_generate_data_key(m), KMSE_STATUS_BAD_ARGUMENT);
    return KMSE_STATUS_OK;
}

static int args_on_decrypt(void *user_data, kmse_decryption_materials *m,
                           const kmse_encrypted_data_keys *edks) {
    kmse_encrypted_data_key edk;
    const kmse_encryption_context *ec = NULL;
    uint16_t suite = 0;
    size_t n = 0;
    (void)user_data;
    CHECK_NULL(kmse_decryption_materials_algorithm_suite(m, NULL), "suite_id_out");
    CHECK_NULL(kmse_decryption_materials_encryption_context(m, NULL), "context_out");
    CHECK_NULL(kmse_decryption_materials_required_context(m, NULL), "context_out");
    CHECK_NULL(kmse_decryption_materials_set_data_key(m, NULL, 32), "key");
    CHECK_NULL(kmse_decryption_materials_set_error(m, "code", NULL), "message");
    CHECK_NULL(kmse_encrypted_data_keys_len(edks, NULL), "len_out");
    CHECK_NULL(kmse_encrypted_data_keys_get(edks, 0, NULL), "edk_out");
    CHECK_ERR(kmse_encrypted_data_keys_get(edks, 1, &edk), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_decryption_materials_algorithm_suite(m, &suite));
    CHECK(suite == 0x0578);
    CHECK_OK(kmse_decryption_materials_encryption_context(m, &ec));
    CHECK_OK(kmse_encrypted_data_keys_len(edks, &n));
    CHECK(n == 1);
    CHECK_OK(kmse_encrypted_data_keys_get(edks, 0, &edk));
    CHECK(strcmp(edk.provider_id, "clear") == 0 && edk.provider_info_len == 0);
    CHECK_ERR(kmse_decryption_materials_set_data_key(m, edk.ciphertext, 31), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_decryption_materials_set_data_key(m, edk.ciphertext, edk.ciphertext_len));
    /* A failed call last: kmse_decrypt's success must not show its message. */
    CHECK_ERR(kmse_encrypted_data_keys_get(edks, 99, &edk), KMSE_STATUS_BAD_ARGUMENT);
    return KMSE_STATUS_OK;
}

static void materials_arguments(void) {
    kmse_keyring *keyring = NULL;
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("materials setters and EDK list inside callbacks: NULL and bad lengths");
    CHECK_OK(kmse_keyring_new_custom(args_on_encrypt, args_on_decrypt, NULL, NULL, &keyring));
    /* CHECK_OK also checks that the callbacks' failed calls leave no message. */
    CHECK_OK(kmse_encrypt(client, keyring, NULL, (const uint8_t *)"args", 4, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt(client, keyring, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "args", 4));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kt_end();
}

static void required_pairs_reach_callbacks(void) {
    xor_kms *kms = NULL;
    kmse_keyring *keyring = xor_keyring("required", 7, &kms);
    kmse_cmm *plain = NULL, *required = NULL;
    const char *keys[] = {"tenant"};
    kmse_encryption_context *ec = NULL;
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("custom keyring: callbacks see the pairs the message does not store");
    CHECK_OK(kmse_cmm_new_default(keyring, &plain));
    CHECK_OK(kmse_cmm_new_required_encryption_context(plain, keys, 1, &required));
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "tenant", "acme"));
    CHECK_OK(kmse_encryption_context_set(ec, "purpose", "required"));
    CHECK_OK(kmse_encrypt_with_cmm(client, required, ec, (const uint8_t *)"data", 4, &ct));
    CHECK(kms->required_on_encrypt == 1 && strcmp(kms->required_key, "tenant") == 0);
    kms->required_key[0] = '\0';
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt_with_cmm(client, required, ec, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "data", 4));
    CHECK(kms->required_on_decrypt == 1 && strcmp(kms->required_key, "tenant") == 0);
    kmse_buffer_free(pt);
    /* Without a required-context CMM there are none. */
    kmse_buffer_free(ct);
    CHECK_OK(kmse_encrypt(client, keyring, ec, (const uint8_t *)"data", 4, &ct));
    CHECK(kms->required_on_encrypt == 0);
    kmse_buffer_free(ct);
    kmse_encryption_context_free(ec);
    kmse_cmm_free(required);
    kmse_cmm_free(plain);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kt_end();
}

/* A callback that reaches back into the decryptor it serves is refused
 * (the decryptor is busy), and freeing it there is ignored; the outer call
 * goes on unharmed (valgrind sees no use after free). */
static void callback_cannot_reenter_its_decryptor(void) {
    xor_kms *kms = NULL;
    kmse_keyring *keyring = xor_keyring("key-r", 11, &kms);
    kmse_client *client = kt_client(0);
    kmse_decryptor *dec = NULL;
    kmse_buffer *ct = NULL;
    const uint8_t *data = NULL;
    size_t len = 0, written = 0, pending = 0, total = 0;
    unsigned char message[3000], out[3100];

    kt_begin("custom keyring in C: a callback re-entering its own decryptor is refused");
    kt_fill(message, sizeof message, 5);
    CHECK_OK(kmse_encrypt(client, keyring, NULL, message, sizeof message, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decryptor_new(client, keyring, NULL, &dec));
    kms->reenter = dec;
    CHECK_OK(kmse_decryptor_update(dec, data, len, out, sizeof out, &written, &pending));
    total = written;
    CHECK(kms->decrypt_calls == 1);
    CHECK(kms->reenter_update == KMSE_STATUS_BAD_ARGUMENT);
    CHECK(kms->reenter_header == KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_decryptor_finish(dec, out + total, sizeof out - total, &written, &pending));
    total += written;
    CHECK(pending == 0);
    CHECK(total == sizeof message && memcmp(out, message, sizeof message) == 0);
    kmse_decryptor_free(dec);
    kmse_buffer_free(ct);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kt_end();
}

void test_custom_keyring(void) {
    callback_cannot_reenter_its_decryptor();
    custom_roundtrip();
    custom_in_multi_keyring();
    callback_failures();
    wrong_key_reports_no_key();
    materials_arguments();
    required_pairs_reach_callbacks();
}
