/* Every NULL argument and every bad length returns a status with a message
 * naming the argument; NULL is accepted where documented; out-parameters
 * are untouched on failure; every _free accepts NULL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

static int on_encrypt_stub(void *u, kmse_encryption_materials *m) {
    (void)u;
    (void)m;
    return KMSE_STATUS_KMS_ERROR;
}

static int on_decrypt_stub(void *u, kmse_decryption_materials *m, const kmse_encrypted_data_keys *e) {
    (void)u;
    (void)m;
    (void)e;
    return KMSE_STATUS_KMS_ERROR;
}

static void free_functions_accept_null(void) {
    kt_begin("every _free function accepts NULL");
    kmse_buffer_free(NULL);
    kmse_client_options_free(NULL);
    kmse_client_free(NULL);
    kmse_encryption_context_free(NULL);
    kmse_keyring_free(NULL);
    kmse_cmm_free(NULL);
    kmse_encryptor_free(NULL);
    kmse_decryptor_free(NULL);
    kmse_header_free(NULL);
    CHECK(kmse_last_error_message() != NULL);
    kt_end();
}

static void options_and_client(void) {
    kmse_client_options *o = NULL;
    kmse_client *c = (kmse_client *)0x1; /* a sentinel: must stay untouched */

    kt_begin("NULL and bad values: client options and client");
    CHECK_NULL(kmse_client_options_new(NULL), "options_out");
    CHECK_NULL(kmse_client_options_set_commitment_policy(NULL, 1), "options");
    CHECK_NULL(kmse_client_options_set_max_encrypted_data_keys(NULL, 1), "options");
    CHECK_NULL(kmse_client_options_set_max_body_size(NULL, 1), "options");
    CHECK_NULL(kmse_client_options_set_algorithm_suite(NULL, 0x0578), "options");
    CHECK_NULL(kmse_client_options_set_frame_length(NULL, 1), "options");
    CHECK_NULL(kmse_client_options_set_signed_release(NULL, 0), "options");
    CHECK_NULL(kmse_client_options_set_unsigned_only(NULL, true), "options");
    CHECK_NULL(kmse_client_options_set_max_frame_size(NULL, 1), "options");
    CHECK_NULL(kmse_client_options_set_max_buffered_plaintext(NULL, 1), "options");
    CHECK_NULL(kmse_client_new(NULL, NULL), "client_out");
    CHECK_OK(kmse_client_options_new(&o));
    CHECK_ERR(kmse_client_options_set_commitment_policy(o, 0), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_client_options_set_commitment_policy(o, 4), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_client_options_set_signed_release(o, -1), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_client_options_set_algorithm_suite(o, 0x0479), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_client_new(o, NULL), "client_out");
    CHECK(c == (kmse_client *)0x1);
    c = NULL;
    CHECK_OK(kmse_client_new(NULL, &c)); /* options may be NULL */
    kmse_client_free(c);
    kmse_client_options_free(o);
    CHECK_NULL(kmse_algorithm_suite_data_key_length(0x0578, NULL), "length_out");
    kt_end();
}

static void contexts(void) {
    kmse_encryption_context *ec = NULL;
    kmse_encryption_context_entry entry;
    const char *value = "sentinel";
    size_t n = 12345;

    kt_begin("NULL and bad values: encryption contexts");
    CHECK_NULL(kmse_encryption_context_new(NULL), "context_out");
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_NULL(kmse_encryption_context_set(NULL, "k", "v"), "context");
    CHECK_NULL(kmse_encryption_context_set(ec, NULL, "v"), "key");
    CHECK_NULL(kmse_encryption_context_set(ec, "k", NULL), "value");
    CHECK_ERR(kmse_encryption_context_set(ec, "k", "\xc3"), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_encryption_context_remove(NULL, "k"), "context");
    CHECK_NULL(kmse_encryption_context_remove(ec, NULL), "key");
    CHECK_NULL(kmse_encryption_context_get(NULL, "k", &value, &n), "context");
    CHECK_NULL(kmse_encryption_context_get(ec, NULL, &value, &n), "key");
    CHECK_NULL(kmse_encryption_context_get(ec, "k", NULL, &n), "value_out");
    CHECK(strcmp(value, "sentinel") == 0 && n == 12345);
    CHECK_OK(kmse_encryption_context_get(ec, "k", &value, NULL)); /* value_len_out may be NULL */
    CHECK(value == NULL);
    CHECK_NULL(kmse_encryption_context_len(NULL, &n), "context");
    CHECK_NULL(kmse_encryption_context_len(ec, NULL), "len_out");
    CHECK_NULL(kmse_encryption_context_entry_at(NULL, 0, &entry), "context");
    CHECK_NULL(kmse_encryption_context_entry_at(ec, 0, NULL), "entry_out");
    CHECK_ERR(kmse_encryption_context_entry_at(ec, 0, &entry), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_encryption_context_entry_at(ec, SIZE_MAX, &entry), KMSE_STATUS_BAD_ARGUMENT);
    kmse_encryption_context_free(ec);
    kt_end();
}

static void keyrings_and_cmms(void) {
    unsigned char key[32] = {0};
    kmse_keyring *k = NULL, *out = (kmse_keyring *)0x1;
    const kmse_keyring *with_null[2];
    kmse_cmm *cmm = NULL, *cmm_out = NULL;
    const char *keys[2] = {"a", NULL};

    kt_begin("NULL and bad values: keyrings and CMMs");
    CHECK_NULL(kmse_keyring_new_raw_aes(NULL, "n", key, 32, &out), "key_namespace");
    CHECK_NULL(kmse_keyring_new_raw_aes("ns", NULL, key, 32, &out), "key_name");
    CHECK_NULL(kmse_keyring_new_raw_aes("ns", "n", NULL, 32, &out), "key");
    CHECK_NULL(kmse_keyring_new_raw_aes("ns", "n", key, 32, NULL), "keyring_out");
    CHECK_ERR(kmse_keyring_new_raw_aes("ns", "n", key, 15, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_aes("ns", "n", NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_aes("ns", "n", key, SIZE_MAX, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_aes("aws-kms-x", "n", key, 32, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_aes("ns", "\xff", key, 32, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(out == (kmse_keyring *)0x1);

    CHECK_NULL(kmse_keyring_new_raw_rsa(NULL, "n", 3, key, 1, NULL, 0, &out), "key_namespace");
    CHECK_NULL(kmse_keyring_new_raw_rsa("ns", NULL, 3, key, 1, NULL, 0, &out), "key_name");
    CHECK_NULL(kmse_keyring_new_raw_rsa("ns", "n", 3, NULL, 10, NULL, 0, &out), "public_key");
    CHECK_NULL(kmse_keyring_new_raw_rsa("ns", "n", 3, NULL, 0, NULL, 10, &out), "private_key");
    CHECK_NULL(kmse_keyring_new_raw_rsa("ns", "n", 3, key, 1, NULL, 0, NULL), "keyring_out");
    CHECK_ERR(kmse_keyring_new_raw_rsa("ns", "n", 0, key, 1, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_rsa("ns", "n", 6, key, 1, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_rsa("ns", "n", 3, NULL, 0, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_raw_rsa("ns", "n", 3, key, sizeof key, NULL, 0, &out),
              KMSE_STATUS_BAD_ARGUMENT); /* not DER */
    CHECK_ERR(kmse_keyring_new_raw_rsa("ns", "n", 3, NULL, 0, (const uint8_t *)"-----BEGIN X-----\n", 18,
                                       &out),
              KMSE_STATUS_BAD_ARGUMENT); /* not a PEM key */
    CHECK(out == (kmse_keyring *)0x1);

    CHECK_OK(kmse_keyring_new_raw_aes("ns", "n", key, 32, &k));
    with_null[0] = k;
    with_null[1] = NULL;
    CHECK_NULL(kmse_keyring_new_multi(k, NULL, 1, &out), "children");
    CHECK_NULL(kmse_keyring_new_multi(NULL, with_null, 2, &out), "children[1]");
    CHECK_NULL(kmse_keyring_new_multi(k, NULL, 0, NULL), "keyring_out");
    CHECK_ERR(kmse_keyring_new_multi(NULL, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_multi(k, with_null, SIZE_MAX, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(out == (kmse_keyring *)0x1);

    CHECK_NULL(kmse_keyring_new_custom(NULL, on_decrypt_stub, NULL, NULL, &out), "on_encrypt");
    CHECK_NULL(kmse_keyring_new_custom(on_encrypt_stub, NULL, NULL, NULL, &out), "on_decrypt");
    CHECK_NULL(kmse_keyring_new_custom(on_encrypt_stub, on_decrypt_stub, NULL, free, NULL),
               "keyring_out");
    CHECK(out == (kmse_keyring *)0x1);

    CHECK_NULL(kmse_cmm_new_default(NULL, &cmm), "keyring");
    CHECK_NULL(kmse_cmm_new_default(k, NULL), "cmm_out");
    CHECK_OK(kmse_cmm_new_default(k, &cmm));
    CHECK_NULL(kmse_cmm_new_required_encryption_context(NULL, keys, 1, &cmm_out), "underlying");
    CHECK_NULL(kmse_cmm_new_required_encryption_context(cmm, NULL, 1, &cmm_out), "required_keys");
    CHECK_NULL(kmse_cmm_new_required_encryption_context(cmm, keys, 2, &cmm_out), "required_keys[1]");
    CHECK_NULL(kmse_cmm_new_required_encryption_context(cmm, keys, 1, NULL), "cmm_out");
    CHECK_ERR(kmse_cmm_new_required_encryption_context(cmm, keys, 0, &cmm_out),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK(cmm_out == NULL);
    kmse_cmm_free(cmm);
    kmse_keyring_free(k);

    /* The materials functions outside a callback: only NULL can be passed. */
    CHECK_NULL(kmse_encryption_materials_algorithm_suite(NULL, NULL), "materials");
    CHECK_NULL(kmse_encryption_materials_encryption_context(NULL, NULL), "materials");
    CHECK_NULL(kmse_encryption_materials_data_key(NULL, NULL, NULL), "materials");
    CHECK_NULL(kmse_encryption_materials_set_data_key(NULL, key, 32), "materials");
    CHECK_NULL(kmse_encryption_materials_generate_data_key(NULL), "materials");
    CHECK_NULL(kmse_encryption_materials_add_encrypted_data_key(NULL, "p", NULL, 0, key, 1),
               "materials");
    CHECK_NULL(kmse_encryption_materials_set_error(NULL, NULL, "m"), "materials");
    CHECK_NULL(kmse_decryption_materials_algorithm_suite(NULL, NULL), "materials");
    CHECK_NULL(kmse_decryption_materials_encryption_context(NULL, NULL), "materials");
    CHECK_NULL(kmse_decryption_materials_set_data_key(NULL, key, 32), "materials");
    CHECK_NULL(kmse_decryption_materials_set_error(NULL, NULL, "m"), "materials");
    CHECK_NULL(kmse_encrypted_data_keys_len(NULL, NULL), "list");
    CHECK_NULL(kmse_encrypted_data_keys_get(NULL, 0, NULL), "list");
    kt_end();
}

static void one_shot(void) {
    kmse_keyring *k = kt_aes_keyring("ns", "n", 32);
    kmse_cmm *cmm = NULL;
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL, *pt = (kmse_buffer *)0x1;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("NULL and bad lengths: one-shot encrypt and decrypt, buffers");
    CHECK_OK(kmse_cmm_new_default(k, &cmm));
    CHECK_NULL(kmse_encrypt(NULL, k, NULL, NULL, 0, &ct), "client");
    CHECK_NULL(kmse_encrypt(c, NULL, NULL, NULL, 0, &ct), "keyring");
    CHECK_NULL(kmse_encrypt(c, k, NULL, NULL, 5, &ct), "plaintext");
    CHECK_NULL(kmse_encrypt(c, k, NULL, NULL, 0, NULL), "ciphertext_out");
    CHECK_ERR(kmse_encrypt(c, k, NULL, (const uint8_t *)"x", SIZE_MAX, &ct), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_encrypt_with_cmm(NULL, cmm, NULL, NULL, 0, &ct), "client");
    CHECK_NULL(kmse_encrypt_with_cmm(c, NULL, NULL, NULL, 0, &ct), "cmm");
    CHECK_NULL(kmse_encrypt_with_cmm(c, cmm, NULL, NULL, 1, &ct), "plaintext");
    CHECK_NULL(kmse_encrypt_with_cmm(c, cmm, NULL, NULL, 0, NULL), "ciphertext_out");
    CHECK(ct == NULL);
    CHECK_OK(kmse_encrypt(c, k, NULL, (const uint8_t *)"abc", 3, &ct));

    CHECK_NULL(kmse_buffer_data(NULL, &data, &len), "buffer");
    CHECK_NULL(kmse_buffer_data(ct, NULL, &len), "data_out");
    CHECK_NULL(kmse_buffer_data(ct, &data, NULL), "len_out");
    CHECK(data == NULL && len == 0);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));

    CHECK_NULL(kmse_decrypt(NULL, k, NULL, data, len, &pt, NULL, NULL), "client");
    CHECK_NULL(kmse_decrypt(c, NULL, NULL, data, len, &pt, NULL, NULL), "keyring");
    CHECK_NULL(kmse_decrypt(c, k, NULL, NULL, len, &pt, NULL, NULL), "ciphertext");
    CHECK_NULL(kmse_decrypt(c, k, NULL, data, len, NULL, NULL, NULL), "plaintext_out");
    CHECK_ERR(kmse_decrypt(c, k, NULL, data, SIZE_MAX / 2 + 1, &pt, NULL, NULL),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_decrypt(c, k, NULL, data, 0, &pt, NULL, NULL), KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_NULL(kmse_decrypt_with_cmm(NULL, cmm, NULL, data, len, &pt, NULL, NULL), "client");
    CHECK_NULL(kmse_decrypt_with_cmm(c, NULL, NULL, data, len, &pt, NULL, NULL), "cmm");
    CHECK_NULL(kmse_decrypt_with_cmm(c, cmm, NULL, NULL, len, &pt, NULL, NULL), "ciphertext");
    CHECK_NULL(kmse_decrypt_with_cmm(c, cmm, NULL, data, len, NULL, NULL, NULL), "plaintext_out");
    CHECK(pt == (kmse_buffer *)0x1);
    pt = NULL;
    CHECK_OK(kmse_decrypt_with_cmm(c, cmm, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "abc", 3));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    kmse_cmm_free(cmm);
    kmse_client_free(c);
    kmse_keyring_free(k);
    kt_end();
}

static void streams(void) {
    kmse_keyring *k = kt_aes_keyring("ns", "n", 32);
    kmse_cmm *cmm = NULL;
    kmse_client *c = kt_client(0);
    kmse_encryptor *e = NULL;
    kmse_decryptor *d = NULL;
    kmse_header *h = NULL;
    kmse_encryption_context *ec = NULL;
    unsigned char buf[16] = {0};
    size_t w = 0, p = 0;
    uint16_t suite = 0;
    bool done = false;

    kt_begin("NULL and bad lengths: streaming");
    CHECK_OK(kmse_cmm_new_default(k, &cmm));
    CHECK_NULL(kmse_encryptor_new(NULL, k, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, &e), "client");
    CHECK_NULL(kmse_encryptor_new(c, NULL, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, &e), "keyring");
    CHECK_NULL(kmse_encryptor_new(c, k, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, NULL), "encryptor_out");
    CHECK_NULL(kmse_encryptor_new_with_cmm(NULL, cmm, NULL, 0, &e), "client");
    CHECK_NULL(kmse_encryptor_new_with_cmm(c, NULL, NULL, 0, &e), "cmm");
    CHECK_NULL(kmse_encryptor_new_with_cmm(c, cmm, NULL, 0, NULL), "encryptor_out");
    CHECK(e == NULL);
    CHECK_OK(kmse_encryptor_new(c, k, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, &e));
    CHECK_NULL(kmse_encryptor_update(NULL, buf, 1, buf, 16, &w, &p), "encryptor");
    CHECK_NULL(kmse_encryptor_update(e, NULL, 1, buf, 16, &w, &p), "input");
    CHECK_NULL(kmse_encryptor_update(e, buf, 1, NULL, 16, &w, &p), "output");
    CHECK_NULL(kmse_encryptor_update(e, buf, 1, buf + 8, 8, NULL, &p), "output_len_out");
    CHECK_NULL(kmse_encryptor_update(e, buf, 1, buf + 8, 8, &w, NULL), "pending_out");
    CHECK_ERR(kmse_encryptor_update(e, buf, SIZE_MAX, buf, 16, &w, &p), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_encryptor_update(e, buf, 1, buf, SIZE_MAX, &w, &p), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_encryptor_finish(NULL, buf, 16, &w, &p), "encryptor");
    CHECK_NULL(kmse_encryptor_finish(e, NULL, 16, &w, &p), "output");
    CHECK_NULL(kmse_encryptor_finish(e, buf, 16, NULL, &p), "output_len_out");
    CHECK_NULL(kmse_encryptor_finish(e, buf, 16, &w, NULL), "pending_out");
    CHECK_NULL(kmse_encryptor_algorithm_suite(NULL, &suite), "encryptor");
    CHECK_NULL(kmse_encryptor_algorithm_suite(e, NULL), "suite_id_out");
    CHECK_NULL(kmse_encryptor_header(NULL, &h), "encryptor");
    CHECK_NULL(kmse_encryptor_header(e, NULL), "header_out");
    CHECK_NULL(kmse_encryptor_encryption_context(NULL, &ec), "encryptor");
    CHECK_NULL(kmse_encryptor_encryption_context(e, NULL), "context_out");
    /* The NULL checks did not break the stream. */
    CHECK_OK(kmse_encryptor_update(e, buf, 1, buf + 8, 8, &w, &p));
    kmse_encryptor_free(e);

    CHECK_NULL(kmse_decryptor_new(NULL, k, NULL, &d), "client");
    CHECK_NULL(kmse_decryptor_new(c, NULL, NULL, &d), "keyring");
    CHECK_NULL(kmse_decryptor_new(c, k, NULL, NULL), "decryptor_out");
    CHECK_NULL(kmse_decryptor_new_with_cmm(NULL, cmm, NULL, &d), "client");
    CHECK_NULL(kmse_decryptor_new_with_cmm(c, NULL, NULL, &d), "cmm");
    CHECK_NULL(kmse_decryptor_new_with_cmm(c, cmm, NULL, NULL), "decryptor_out");
    CHECK(d == NULL);
    CHECK_OK(kmse_decryptor_new_with_cmm(c, cmm, NULL, &d));
    CHECK_NULL(kmse_decryptor_update(NULL, buf, 1, buf, 16, &w, &p), "decryptor");
    CHECK_NULL(kmse_decryptor_update(d, NULL, 1, buf, 16, &w, &p), "input");
    CHECK_NULL(kmse_decryptor_update(d, buf, 1, NULL, 16, &w, &p), "output");
    CHECK_NULL(kmse_decryptor_update(d, buf, 1, buf + 8, 8, NULL, &p), "output_len_out");
    CHECK_NULL(kmse_decryptor_update(d, buf, 1, buf + 8, 8, &w, NULL), "pending_out");
    CHECK_ERR(kmse_decryptor_update(d, buf, SIZE_MAX, buf, 16, &w, &p), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_decryptor_finish(NULL, buf, 16, &w, &p), "decryptor");
    CHECK_NULL(kmse_decryptor_finish(d, NULL, 16, &w, &p), "output");
    CHECK_NULL(kmse_decryptor_finish(d, buf, 16, NULL, &p), "output_len_out");
    CHECK_NULL(kmse_decryptor_finish(d, buf, 16, &w, NULL), "pending_out");
    CHECK_NULL(kmse_decryptor_header(NULL, &h), "decryptor");
    CHECK_NULL(kmse_decryptor_header(d, NULL), "header_out");
    CHECK_NULL(kmse_decryptor_encryption_context(NULL, &ec), "decryptor");
    CHECK_NULL(kmse_decryptor_encryption_context(d, NULL), "context_out");
    CHECK_NULL(kmse_decryptor_is_done(NULL, &done), "decryptor");
    CHECK_NULL(kmse_decryptor_is_done(d, NULL), "done_out");
    kmse_decryptor_free(d);

    kmse_cmm_free(cmm);
    kmse_client_free(c);
    kmse_keyring_free(k);
    kt_end();
}

static void headers(void) {
    kmse_keyring *k = kt_aes_keyring("ns", "n", 32);
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL;
    kmse_header *h = NULL;
    const uint8_t *data = NULL, *id = NULL;
    size_t len = 0, n = 0, header_len = 0;
    uint8_t version = 0;
    uint16_t suite = 0;
    uint32_t frame_length = 0;
    kmse_content_type content_type;
    const kmse_encryption_context *ec = NULL;
    const kmse_encrypted_data_keys *edks = NULL;

    kt_begin("NULL and bad lengths: header inspection");
    CHECK_OK(kmse_encrypt(c, k, NULL, (const uint8_t *)"abc", 3, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_NULL(kmse_header_parse(NULL, len, &h, NULL), "message");
    CHECK_NULL(kmse_header_parse(data, len, NULL, NULL), "header_out");
    CHECK_ERR(kmse_header_parse(data, 20, &h, NULL), KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_ERR(kmse_header_parse(NULL, 0, &h, NULL), KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_ERR(kmse_header_parse((const uint8_t *)"AgR4", 4, &h, NULL), KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK(h == NULL);
    CHECK_OK(kmse_header_parse(data, len, &h, &header_len)); /* header_len_out may be NULL */
    CHECK(header_len > 0 && header_len < len);
    CHECK_NULL(kmse_header_version(NULL, &version), "header");
    CHECK_NULL(kmse_header_version(h, NULL), "version_out");
    CHECK_NULL(kmse_header_algorithm_suite(NULL, &suite), "header");
    CHECK_NULL(kmse_header_algorithm_suite(h, NULL), "suite_id_out");
    CHECK_NULL(kmse_header_content_type(NULL, &content_type), "header");
    CHECK_NULL(kmse_header_content_type(h, NULL), "content_type_out");
    CHECK_NULL(kmse_header_frame_length(NULL, &frame_length), "header");
    CHECK_NULL(kmse_header_frame_length(h, NULL), "frame_length_out");
    CHECK_NULL(kmse_header_length(NULL, &n), "header");
    CHECK_NULL(kmse_header_length(h, NULL), "len_out");
    CHECK_NULL(kmse_header_encryption_context(NULL, &ec), "header");
    CHECK_NULL(kmse_header_encryption_context(h, NULL), "context_out");
    CHECK_NULL(kmse_header_encrypted_data_keys(NULL, &edks), "header");
    CHECK_NULL(kmse_header_encrypted_data_keys(h, NULL), "list_out");
    CHECK_NULL(kmse_header_message_id(NULL, &id, &n), "header");
    CHECK_NULL(kmse_header_message_id(h, NULL, &n), "id_out");
    CHECK_NULL(kmse_header_message_id(h, &id, NULL), "id_len_out");
    CHECK_OK(kmse_header_message_id(h, &id, &n));
    CHECK(n == 32);
    CHECK_OK(kmse_header_content_type(h, &content_type));
    CHECK(content_type == KMSE_CONTENT_TYPE_FRAMED);
    CHECK_OK(kmse_header_length(h, &n));
    CHECK(n == header_len);
    kmse_header_free(h);
    kmse_buffer_free(ct);
    kmse_client_free(c);
    kmse_keyring_free(k);
    kt_end();
}

static void messages_are_per_call(void) {
    kt_begin("the last error message is cleared by the next call and never NULL");
    CHECK(kmse_last_error_message() != NULL);
    CHECK_NULL(kmse_encryption_context_new(NULL), "context_out");
    CHECK(strncmp(kmse_last_error_message(), "kmse_encryption_context_new: ", 29) == 0);
    CHECK(strcmp(kmse_status_name(KMSE_STATUS_NULL_ARGUMENT), "KMSE_STATUS_NULL_ARGUMENT") == 0);
    /* kmse_status_name does not return a status: the message stays. */
    CHECK(kmse_last_error_message()[0] != '\0');
    {
        kmse_encryption_context *ec = NULL;
        CHECK_OK(kmse_encryption_context_new(&ec)); /* also checks the message is now "" */
        kmse_encryption_context_free(ec);
    }
    kt_end();
}

static void last_error_as_argument(void) {
    kmse_encryption_context *ec = NULL;
    const char *value = NULL;
    char *copy;

    kt_begin("the last error message may be an argument of the next call");
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_NULL(kmse_encryption_context_new(NULL), "context_out");
    {
        const char *message = kmse_last_error_message();
        size_t len = strlen(message);
        copy = malloc(len + 1);
        if (copy != NULL) memcpy(copy, message, len + 1);
    }
    CHECK(copy != NULL && copy[0] != '\0');
    /* The call clears the message, and must not free it before reading it
     * (valgrind reports the read if it does). */
    CHECK_OK(kmse_encryption_context_set(ec, "reason", kmse_last_error_message()));
    CHECK_OK(kmse_encryption_context_get(ec, "reason", &value, NULL));
    CHECK(value != NULL && copy != NULL && strcmp(value, copy) == 0);
    CHECK(kmse_last_error_message()[0] == '\0');
    free(copy);
    kmse_encryption_context_free(ec);
    kt_end();
}

static void nested_multi_keyrings(void) {
    uint8_t key[32] = {7};
    kmse_keyring *k = NULL;
    kmse_keyring *next = NULL;
    int depth = 1;

    kt_begin("multi-keyrings nest 64 deep at most: deeper is refused, not a stack overflow");
    CHECK_OK(kmse_keyring_new_raw_aes("ns", "n", key, sizeof key, &k));
    while (depth < 200 && kmse_keyring_new_multi(k, NULL, 0, &next) == KMSE_STATUS_OK) {
        kmse_keyring_free(k); /* the multi-keyring holds its own reference */
        k = next;
        next = NULL;
        depth++;
    }
    CHECK(depth == 64);
    CHECK(strstr(kmse_last_error_message(), "nest at most 64") != NULL);
    CHECK(next == NULL);
    kmse_keyring_free(k);
    kt_end();
}

void test_arguments(void) {
    free_functions_accept_null();
    options_and_client();
    contexts();
    keyrings_and_cmms();
    one_shot();
    streams();
    headers();
    messages_are_per_call();
    last_error_as_argument();
    nested_multi_keyrings();
}
