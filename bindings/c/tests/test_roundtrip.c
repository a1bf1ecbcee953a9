/* One-shot round trips: every suite, every keyring kind, the CMMs, the
 * client options, header inspection and the error statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

static const uint16_t SUITES[] = {
    KMSE_ALG_AES_128_GCM_IV12_TAG16_NO_KDF,
    KMSE_ALG_AES_192_GCM_IV12_TAG16_NO_KDF,
    KMSE_ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
    KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256,
    KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256,
    KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256,
    KMSE_ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
    KMSE_ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    KMSE_ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
};

static int is_committing(uint16_t suite) { return suite == 0x0478 || suite == 0x0578; }
static int is_signing(uint16_t suite) {
    return suite == 0x0214 || suite == 0x0346 || suite == 0x0378 || suite == 0x0578;
}

/* Encrypts `len` bytes with the client's settings; returns the ciphertext buffer. */
static kmse_buffer *encrypt_with(const kmse_client *client, const kmse_keyring *keyring,
                                 const kmse_encryption_context *ec, const unsigned char *pt,
                                 size_t len) {
    kmse_buffer *ct = NULL;
    CHECK_OK(kmse_encrypt(client, keyring, ec, pt, len, &ct));
    return ct;
}

static void roundtrip_every_suite(void) {
    unsigned char plaintext[1000];
    size_t s;
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "aes-256", 32);
    kmse_encryption_context *ec = NULL;
    kt_fill(plaintext, sizeof plaintext, 1);
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "purpose", "round trip"));
    for (s = 0; s < sizeof SUITES / sizeof SUITES[0]; s++) {
        char name[64];
        kmse_client_options *options = NULL;
        kmse_client *client = NULL;
        kmse_buffer *ct = NULL, *pt = NULL;
        kmse_encryption_context *ec_out = NULL;
        kmse_header *header = NULL;
        const kmse_encryption_context *stored = NULL;
        const char *value = NULL;
        size_t value_len = 0, count = 0;
        uint16_t suite = 0;
        uint8_t version = 0;
        uint32_t frame_length = 0;
        const uint8_t *ct_data = NULL;
        size_t ct_len = 0;

        snprintf(name, sizeof name, "round trip, suite 0x%04X", SUITES[s]);
        kt_begin(name);
        CHECK_OK(kmse_client_options_new(&options));
        CHECK_OK(kmse_client_options_set_commitment_policy(
            options, is_committing(SUITES[s]) ? KMSE_COMMITMENT_POLICY_REQUIRE_ENCRYPT_REQUIRE_DECRYPT
                                              : KMSE_COMMITMENT_POLICY_FORBID_ENCRYPT_ALLOW_DECRYPT));
        CHECK_OK(kmse_client_options_set_algorithm_suite(options, SUITES[s]));
        CHECK_OK(kmse_client_options_set_frame_length(options, 128)); /* several frames */
        CHECK_OK(kmse_client_new(options, &client));
        kmse_client_options_free(options);

        ct = encrypt_with(client, keyring, ec, plaintext, sizeof plaintext);
        CHECK_ERR(kmse_decrypt(client, keyring, ec, NULL, 0, &pt, NULL, NULL),
                  KMSE_STATUS_MALFORMED_MESSAGE);
        CHECK_OK(kmse_buffer_data(ct, &ct_data, &ct_len));
        CHECK_OK(kmse_decrypt(client, keyring, ec, ct_data, ct_len, &pt, &ec_out, &header));
        CHECK(kt_buffer_equals(pt, plaintext, sizeof plaintext));

        /* The decrypted context: ours, plus the public key on signed suites. */
        CHECK_OK(kmse_encryption_context_get(ec_out, "purpose", &value, &value_len));
        CHECK(value != NULL && value_len == 10 && strcmp(value, "round trip") == 0);
        CHECK_OK(kmse_encryption_context_get(ec_out, "aws-crypto-public-key", &value, NULL));
        CHECK((value != NULL) == is_signing(SUITES[s]));

        /* The authenticated header. */
        CHECK_OK(kmse_header_algorithm_suite(header, &suite));
        CHECK(suite == SUITES[s]);
        CHECK_OK(kmse_header_version(header, &version));
        CHECK(version == (is_committing(SUITES[s]) ? 2 : 1));
        CHECK_OK(kmse_header_frame_length(header, &frame_length));
        CHECK(frame_length == 128);
        CHECK_OK(kmse_header_encryption_context(header, &stored));
        CHECK_OK(kmse_encryption_context_len(stored, &count));
        CHECK(count == (is_signing(SUITES[s]) ? 2u : 1u));

        kmse_header_free(header);
        kmse_encryption_context_free(ec_out);
        kmse_buffer_free(pt);
        kmse_buffer_free(ct);
        kmse_client_free(client);
        kt_end();
    }
    kmse_encryption_context_free(ec);
    kmse_keyring_free(keyring);
}

static void roundtrip_sizes_and_key_lengths(void) {
    static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 20000};
    static const size_t key_lengths[] = {16, 24, 32};
    unsigned char *plaintext = malloc(20000);
    size_t i, k;
    kmse_client *client = kt_client(0);
    kt_begin("round trip, plaintext sizes and AES key lengths");
    kt_fill(plaintext, 20000, 2);
    for (k = 0; k < 3; k++) {
        kmse_keyring *keyring = kt_aes_keyring("c-tests", "sized", key_lengths[k]);
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            kmse_buffer *ct = NULL, *pt = NULL;
            const uint8_t *data = NULL;
            size_t len = 0;
            ct = encrypt_with(client, keyring, NULL, plaintext, sizes[i]);
            CHECK_OK(kmse_buffer_data(ct, &data, &len));
            CHECK_OK(kmse_decrypt(client, keyring, NULL, data, len, &pt, NULL, NULL));
            CHECK(kt_buffer_equals(pt, plaintext, sizes[i]));
            kmse_buffer_free(pt);
            kmse_buffer_free(ct);
        }
        kmse_keyring_free(keyring);
    }
    kmse_client_free(client);
    free(plaintext);
    kt_end();
}

/* The PEM text of a key in the vectors' keys.json, malloc'd. */
static char *vector_pem(const char *key_name) {
    char path[1024], quoted[128];
    size_t len = 0;
    char *json, *pem = NULL;
    const char *entry;
    snprintf(path, sizeof path, "%s/c-from-dafny-4.1.0/keys.json", kt_vectors_dir);
    json = (char *)kt_read_file(path, &len);
    if (json == NULL) return NULL;
    snprintf(quoted, sizeof quoted, "\"%s\":", key_name);
    entry = strstr(json, quoted);
    if (entry != NULL) pem = kt_json_string(entry + strlen(quoted), NULL, "material", NULL);
    free(json);
    return pem;
}

/* DER bytes from PEM text: the base64 between the BEGIN and END lines. */
static unsigned char *pem_to_der(const char *pem, size_t *len) {
    const char *start = strstr(pem, "-----\n"), *end = strstr(pem, "\n-----END");
    char *b64, *o;
    const char *p;
    unsigned char *der;
    if (start == NULL || end == NULL) return NULL;
    b64 = malloc((size_t)(end - start) + 1);
    for (o = b64, p = start + 6; p < end; p++)
        if (*p != '\n' && *p != '\r') *o++ = *p;
    *o = '\0';
    der = kt_base64_decode(b64, len);
    free(b64);
    return der;
}

/* The next DER element in [*p, end): its tag and content; *p moves past it.
 * Short-form and long-form lengths (up to 4 bytes); 0 on anything else. */
static int der_next(const unsigned char **p, const unsigned char *end, unsigned char *tag,
                    const unsigned char **content, size_t *len) {
    const unsigned char *q = *p;
    size_t n = 0, i, bytes;
    if (end - q < 2) return 0;
    *tag = *q++;
    if (*q < 0x80) {
        n = *q++;
    } else {
        bytes = *q++ & 0x7f;
        if (bytes == 0 || bytes > 4 || (size_t)(end - q) < bytes) return 0;
        for (i = 0; i < bytes; i++) n = (n << 8) | *q++;
    }
    if ((size_t)(end - q) < n) return 0;
    *content = q;
    *len = n;
    *p = q + n;
    return 1;
}

/* The PKCS#1 key inside a PKCS#8 private key (OCTET STRING after the
 * version and the algorithm) or an SPKI public key (BIT STRING after the
 * algorithm, past its unused-bits byte); NULL if the DER is not that. */
static const unsigned char *pkcs1_inside(const unsigned char *der, size_t der_len, int private_key,
                                         size_t *len) {
    const unsigned char *p = der, *end = der + der_len, *c = NULL;
    unsigned char tag = 0;
    size_t n = 0;
    if (!der_next(&p, end, &tag, &c, &n) || tag != 0x30) return NULL;
    p = c;
    end = c + n;
    if (private_key && (!der_next(&p, end, &tag, &c, &n) || tag != 0x02)) return NULL;
    if (!der_next(&p, end, &tag, &c, &n) || tag != 0x30) return NULL;
    if (!der_next(&p, end, &tag, &c, &n) || tag != (private_key ? 0x04 : 0x03)) return NULL;
    if (!private_key) {
        if (n < 1 || c[0] != 0) return NULL;
        c++;
        n--;
    }
    *len = n;
    return c;
}

/* Decrypts `data` with `keyring` and checks that it gives back `message`. */
static void check_decrypts(const kmse_client *client, const kmse_keyring *keyring, const uint8_t *data,
                           size_t len, const char *message, size_t message_len) {
    kmse_buffer *pt = NULL;
    CHECK_OK(kmse_decrypt(client, keyring, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, message, message_len));
    kmse_buffer_free(pt);
}

static void roundtrip_rsa(void) {
    char *public_pem = vector_pem("rsa-4096-public");
    char *private_pem = vector_pem("rsa-4096-private");
    unsigned char *private_der = NULL, *public_der = NULL;
    size_t private_der_len = 0, public_der_len = 0;
    kmse_keyring *encrypt_only = NULL, *decrypt_only = NULL, *both_der = NULL;
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    const char message[] = "RSA-wrapped data key";

    kt_begin("round trip, raw RSA (PEM, SPKI/PKCS#8 DER and PKCS#1 DER keys read each other)");
    CHECK(public_pem != NULL && private_pem != NULL);
    if (public_pem == NULL || private_pem == NULL) goto out;
    private_der = pem_to_der(private_pem, &private_der_len);
    public_der = pem_to_der(public_pem, &public_der_len);
    CHECK(private_der != NULL && public_der != NULL);
    CHECK_OK(kmse_keyring_new_raw_rsa("c-tests", "rsa", KMSE_RSA_PADDING_OAEP_SHA256,
                                      (const uint8_t *)public_pem, strlen(public_pem), NULL, 0,
                                      &encrypt_only));
    CHECK_OK(kmse_keyring_new_raw_rsa("c-tests", "rsa", KMSE_RSA_PADDING_OAEP_SHA256, NULL, 0,
                                      (const uint8_t *)private_pem, strlen(private_pem),
                                      &decrypt_only));
    CHECK_OK(kmse_keyring_new_raw_rsa("c-tests", "rsa", KMSE_RSA_PADDING_OAEP_SHA256, public_der,
                                      public_der_len, private_der, private_der_len, &both_der));
    ct = encrypt_with(client, encrypt_only, NULL, (const unsigned char *)message, sizeof message);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    check_decrypts(client, decrypt_only, data, len, message, sizeof message);
    /* A public key cannot decrypt; a private key alone cannot encrypt. */
    CHECK_ERR(kmse_decrypt(client, encrypt_only, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK(pt == NULL);
    kmse_buffer_free(ct);
    ct = NULL;
    CHECK_ERR(kmse_encrypt(client, decrypt_only, NULL, NULL, 0, &ct), KMSE_STATUS_BAD_ARGUMENT);
    /* The DER keyring does both. */
    ct = encrypt_with(client, both_der, NULL, (const unsigned char *)message, sizeof message);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    check_decrypts(client, both_der, data, len, message, sizeof message);
    /* PKCS#1 DER (RSAPublicKey / RSAPrivateKey, as the header documents):
     * the same key pair, so it reads what the PEM keyrings wrote and the
     * other way round. */
    {
        size_t pub1_len = 0, priv1_len = 0;
        const unsigned char *pub1 = pkcs1_inside(public_der, public_der_len, 0, &pub1_len);
        const unsigned char *priv1 = pkcs1_inside(private_der, private_der_len, 1, &priv1_len);
        kmse_keyring *both_pkcs1 = NULL;
        kmse_buffer *ct1 = NULL;
        const uint8_t *data1 = NULL;
        size_t len1 = 0;
        CHECK(pub1 != NULL && priv1 != NULL);
        if (pub1 != NULL && priv1 != NULL) {
            CHECK_OK(kmse_keyring_new_raw_rsa("c-tests", "rsa", KMSE_RSA_PADDING_OAEP_SHA256, pub1,
                                              pub1_len, priv1, priv1_len, &both_pkcs1));
            check_decrypts(client, both_pkcs1, data, len, message, sizeof message);
            ct1 = encrypt_with(client, both_pkcs1, NULL, (const unsigned char *)message, sizeof message);
            CHECK_OK(kmse_buffer_data(ct1, &data1, &len1));
            check_decrypts(client, decrypt_only, data1, len1, message, sizeof message);
            kmse_buffer_free(ct1);
            kmse_keyring_free(both_pkcs1);
        }
    }
    kmse_buffer_free(ct);
out:
    kmse_keyring_free(encrypt_only);
    kmse_keyring_free(decrypt_only);
    kmse_keyring_free(both_der);
    kmse_client_free(client);
    free(private_der);
    free(public_der);
    free(public_pem);
    free(private_pem);
    kt_end();
}

static void multi_keyring(void) {
    kmse_keyring *a = kt_aes_keyring("c-tests", "a", 32);
    kmse_keyring *b = kt_aes_keyring("c-tests", "b", 16);
    kmse_keyring *other = kt_aes_keyring("c-tests", "other", 32);
    kmse_keyring *multi = NULL;
    const kmse_keyring *children[1];
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    kmse_header *header = NULL;
    const kmse_encrypted_data_keys *edks = NULL;
    kmse_encrypted_data_key edk;
    const uint8_t *data = NULL;
    size_t len = 0, n = 0;

    kt_begin("multi-keyring: either key decrypts, the header lists both");
    children[0] = b;
    CHECK_OK(kmse_keyring_new_multi(a, children, 1, &multi));
    /* The multi-keyring keeps its own references. */
    kmse_keyring_free(a);
    ct = encrypt_with(client, multi, NULL, (const unsigned char *)"xyz", 3);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_decrypt(client, b, NULL, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "xyz", 3));
    kmse_buffer_free(pt);
    CHECK_OK(kmse_decrypt(client, multi, NULL, data, len, &pt, NULL, NULL));
    kmse_buffer_free(pt);
    pt = NULL;
    CHECK_ERR(kmse_decrypt(client, other, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK_OK(kmse_header_parse(data, len, &header, NULL));
    CHECK_OK(kmse_header_encrypted_data_keys(header, &edks));
    CHECK_OK(kmse_encrypted_data_keys_len(edks, &n));
    CHECK(n == 2);
    CHECK_OK(kmse_encrypted_data_keys_get(edks, 1, &edk));
    CHECK(edk.provider_id_len == 7 && strcmp(edk.provider_id, "c-tests") == 0);
    CHECK(edk.provider_info_len == 1 + 20 && memcmp(edk.provider_info, "b", 1) == 0);
    CHECK(edk.ciphertext_len == 32 + 16);
    kmse_header_free(header);
    kmse_buffer_free(ct);
    kmse_keyring_free(multi);
    kmse_keyring_free(b);
    kmse_keyring_free(other);
    kmse_client_free(client);
    kt_end();
}

static void required_context_cmm(void) {
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "required", 32);
    kmse_cmm *plain = NULL, *required = NULL;
    const char *keys[] = {"tenant"};
    kmse_encryption_context *ec = NULL, *ec_out = NULL, *partial = NULL;
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    kmse_header *header = NULL;
    const kmse_encryption_context *stored = NULL;
    const char *value = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("required-encryption-context CMM: pair authenticated, not stored, must be given back");
    CHECK_OK(kmse_cmm_new_default(keyring, &plain));
    CHECK_OK(kmse_cmm_new_required_encryption_context(plain, keys, 1, &required));
    kmse_cmm_free(plain);
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "tenant", "acme"));
    CHECK_OK(kmse_encryption_context_set(ec, "purpose", "cmm"));
    CHECK_OK(kmse_encryption_context_new(&partial));
    CHECK_OK(kmse_encryption_context_set(partial, "purpose", "cmm"));
    /* Without the required key, encrypt is refused. */
    CHECK_ERR(kmse_encrypt_with_cmm(client, required, partial, NULL, 0, &ct),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK(ct == NULL);
    CHECK_OK(kmse_encrypt_with_cmm(client, required, ec, (const uint8_t *)"data", 4, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_header_parse(data, len, &header, NULL));
    CHECK_OK(kmse_header_encryption_context(header, &stored));
    CHECK_OK(kmse_encryption_context_get(stored, "tenant", &value, NULL));
    CHECK(value == NULL);
    CHECK_OK(kmse_encryption_context_get(stored, "purpose", &value, NULL));
    CHECK(value != NULL && strcmp(value, "cmm") == 0);
    /* Decrypt needs the pair back, through the CMM or a plain keyring. */
    CHECK_ERR(kmse_decrypt_with_cmm(client, required, partial, data, len, &pt, NULL, NULL),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK_ERR(kmse_decrypt(client, keyring, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK_OK(kmse_decrypt_with_cmm(client, required, ec, data, len, &pt, &ec_out, NULL));
    CHECK(kt_buffer_equals(pt, "data", 4));
    CHECK_OK(kmse_encryption_context_get(ec_out, "tenant", &value, NULL));
    CHECK(value != NULL && strcmp(value, "acme") == 0);
    kmse_buffer_free(pt);
    CHECK_OK(kmse_decrypt(client, keyring, ec, data, len, &pt, NULL, NULL));
    kmse_buffer_free(pt);
    kmse_encryption_context_free(ec_out);
    kmse_header_free(header);
    kmse_buffer_free(ct);
    kmse_encryption_context_free(partial);
    kmse_encryption_context_free(ec);
    kmse_cmm_free(required);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kt_end();
}

static void error_statuses(void) {
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "errors", 32);
    kmse_keyring *wrong = kt_aes_keyring("c-tests", "errors", 16);
    kmse_client *client = kt_client(0);
    kmse_client *legacy = kt_client(KMSE_COMMITMENT_POLICY_FORBID_ENCRYPT_ALLOW_DECRYPT);
    kmse_encryption_context *ec = NULL, *other = NULL, *reserved = NULL;
    kmse_buffer *ct = NULL, *v1 = NULL, *pt = NULL;
    unsigned char *copy;
    const uint8_t *data = NULL;
    size_t len = 0, v1_len = 0;
    const uint8_t *v1_data = NULL;

    kt_begin("error statuses: tamper, truncate, wrong key, context mismatch, policy, reserved key");
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, "a", "1"));
    CHECK_OK(kmse_encryption_context_new(&other));
    CHECK_OK(kmse_encryption_context_set(other, "a", "2"));
    CHECK_OK(kmse_encryption_context_new(&reserved));
    CHECK_OK(kmse_encryption_context_set(reserved, "aws-crypto-mine", "x"));
    ct = encrypt_with(client, keyring, ec, (const unsigned char *)"secret", 6);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    copy = malloc(len);
    memcpy(copy, data, len);

    copy[len - 120] ^= 1; /* a byte of the body (before the 103-byte footer) */
    CHECK_ERR(kmse_decrypt(client, keyring, NULL, copy, len, &pt, NULL, NULL),
              KMSE_STATUS_AUTHENTICATION_FAILED);
    copy[len - 120] ^= 1;
    CHECK_ERR(kmse_decrypt(client, keyring, NULL, copy, len - 1, &pt, NULL, NULL),
              KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_ERR(kmse_decrypt(client, keyring, NULL, copy, 10, &pt, NULL, NULL),
              KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_ERR(kmse_decrypt(client, wrong, NULL, copy, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK_ERR(kmse_decrypt(client, keyring, other, copy, len, &pt, NULL, NULL),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK(pt == NULL); /* out-parameters untouched on failure */
    CHECK_OK(kmse_decrypt(client, keyring, ec, copy, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "secret", 6));
    kmse_buffer_free(pt);
    pt = NULL;

    /* A version 1 message is refused under the default policy. */
    CHECK_OK(kmse_encrypt(legacy, keyring, NULL, (const uint8_t *)"old", 3, &v1));
    CHECK_OK(kmse_buffer_data(v1, &v1_data, &v1_len));
    CHECK_ERR(kmse_decrypt(client, keyring, NULL, v1_data, v1_len, &pt, NULL, NULL),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK_OK(kmse_decrypt(legacy, keyring, NULL, v1_data, v1_len, &pt, NULL, NULL));
    kmse_buffer_free(pt);
    kmse_buffer_free(v1);
    v1 = NULL;
    /* ... and a committing suite cannot be written under FORBID. */
    {
        kmse_client_options *options = NULL;
        kmse_client *bad = NULL;
        CHECK_OK(kmse_client_options_new(&options));
        CHECK_OK(kmse_client_options_set_commitment_policy(
            options, KMSE_COMMITMENT_POLICY_FORBID_ENCRYPT_ALLOW_DECRYPT));
        CHECK_OK(kmse_client_options_set_algorithm_suite(
            options, KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY));
        CHECK_OK(kmse_client_new(options, &bad));
        CHECK_ERR(kmse_encrypt(bad, keyring, NULL, NULL, 0, &v1), KMSE_STATUS_POLICY_VIOLATION);
        kmse_client_free(bad);
        kmse_client_options_free(options);
    }
    CHECK_ERR(kmse_encrypt(client, keyring, reserved, NULL, 0, &v1), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(v1 == NULL);

    free(copy);
    kmse_buffer_free(ct);
    kmse_encryption_context_free(reserved);
    kmse_encryption_context_free(other);
    kmse_encryption_context_free(ec);
    kmse_client_free(legacy);
    kmse_client_free(client);
    kmse_keyring_free(wrong);
    kmse_keyring_free(keyring);
    kt_end();
}

static void client_limits(void) {
    kmse_keyring *a = kt_aes_keyring("c-tests", "a", 32);
    kmse_keyring *b = kt_aes_keyring("c-tests", "b", 32);
    kmse_keyring *multi = NULL;
    const kmse_keyring *children[1];
    kmse_client_options *options = NULL;
    kmse_client *one_edk = NULL, *zero_edks = NULL, *tiny_body = NULL, *zero_frame = NULL;
    kmse_client *client = kt_client(0);
    kmse_buffer *ct = NULL, *out = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    unsigned char plaintext[300];

    kt_begin("client options: max EDKs, max body size, frame length 0");
    kt_fill(plaintext, sizeof plaintext, 3);
    children[0] = b;
    CHECK_OK(kmse_keyring_new_multi(a, children, 1, &multi));
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_max_encrypted_data_keys(options, 1));
    CHECK_OK(kmse_client_new(options, &one_edk));
    CHECK_OK(kmse_client_options_set_max_encrypted_data_keys(options, 0));
    CHECK_OK(kmse_client_new(options, &zero_edks));
    kmse_client_options_free(options);
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_max_body_size(options, 100));
    CHECK_OK(kmse_client_new(options, &tiny_body));
    CHECK_OK(kmse_client_options_set_frame_length(options, 0));
    CHECK_OK(kmse_client_new(options, &zero_frame));
    kmse_client_options_free(options);

    CHECK_ERR(kmse_encrypt(one_edk, multi, NULL, NULL, 0, &out), KMSE_STATUS_POLICY_VIOLATION);
    CHECK_ERR(kmse_encrypt(zero_edks, a, NULL, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_encrypt(zero_frame, a, NULL, NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    ct = encrypt_with(client, multi, NULL, plaintext, sizeof plaintext);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_ERR(kmse_decrypt(one_edk, a, NULL, data, len, &out, NULL, NULL),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK_ERR(kmse_decrypt(tiny_body, a, NULL, data, len, &out, NULL, NULL),
              KMSE_STATUS_POLICY_VIOLATION);
    CHECK(out == NULL);
    CHECK_OK(kmse_decrypt(client, a, NULL, data, len, &out, NULL, NULL));
    CHECK(kt_buffer_equals(out, plaintext, sizeof plaintext));
    kmse_buffer_free(out);
    kmse_buffer_free(ct);
    kmse_client_free(one_edk);
    kmse_client_free(zero_edks);
    kmse_client_free(tiny_body);
    kmse_client_free(zero_frame);
    kmse_client_free(client);
    kmse_keyring_free(multi);
    kmse_keyring_free(a);
    kmse_keyring_free(b);
    kt_end();
}

static void encryption_context_api(void) {
    kmse_encryption_context *ec = NULL;
    kmse_encryption_context_entry entry;
    const char *value = NULL;
    size_t n = 0, value_len = 99;
    static const char *const expected_keys[] = {"Zebra", "apple", "\xc3\xa9t\xc3\xa9"};

    kt_begin("encryption context: set, replace, get, remove, canonical order");
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_len(ec, &n));
    CHECK(n == 0);
    CHECK_OK(kmse_encryption_context_set(ec, "apple", "1"));
    CHECK_OK(kmse_encryption_context_set(ec, "\xc3\xa9t\xc3\xa9", "summer"));
    CHECK_OK(kmse_encryption_context_set(ec, "Zebra", "2"));
    CHECK_OK(kmse_encryption_context_set(ec, "apple", "replaced"));
    CHECK_OK(kmse_encryption_context_len(ec, &n));
    CHECK(n == 3);
    for (n = 0; n < 3; n++) {
        CHECK_OK(kmse_encryption_context_entry_at(ec, n, &entry));
        CHECK(strcmp(entry.key, expected_keys[n]) == 0);
        CHECK(entry.key_len == strlen(expected_keys[n]));
        CHECK(entry.value_len == strlen(entry.value));
    }
    CHECK_OK(kmse_encryption_context_get(ec, "apple", &value, &value_len));
    CHECK(value != NULL && strcmp(value, "replaced") == 0 && value_len == 8);
    CHECK_OK(kmse_encryption_context_remove(ec, "apple"));
    CHECK_OK(kmse_encryption_context_remove(ec, "absent"));
    CHECK_OK(kmse_encryption_context_get(ec, "apple", &value, &value_len));
    CHECK(value == NULL && value_len == 0);
    CHECK_OK(kmse_encryption_context_len(ec, &n));
    CHECK(n == 2);
    CHECK_ERR(kmse_encryption_context_set(ec, "bad \xff utf-8", "x"), KMSE_STATUS_BAD_ARGUMENT);
    kmse_encryption_context_free(ec);
    kt_end();
}

static void version_and_names(void) {
    size_t len = 0;
    kt_begin("version, status names, suite key lengths");
    CHECK(strlen(kmse_version()) > 0);
    CHECK(strcmp(kmse_status_name(KMSE_STATUS_OK), "KMSE_STATUS_OK") == 0);
    CHECK(strcmp(kmse_status_name(KMSE_STATUS_KMS_ERROR), "KMSE_STATUS_KMS_ERROR") == 0);
    CHECK(strcmp(kmse_status_name(12345), "KMSE_STATUS_(unknown)") == 0);
    CHECK(KMSE_STATUS_OK == 0 && KMSE_STATUS_BAD_ARGUMENT == 3 && KMSE_STATUS_KMS_ERROR == 9 &&
          KMSE_STATUS_NULL_ARGUMENT == 100 && KMSE_STATUS_PANIC == 101);
    CHECK_OK(kmse_algorithm_suite_data_key_length(0x0046, &len));
    CHECK(len == 24);
    CHECK_OK(kmse_algorithm_suite_data_key_length(0x0578, &len));
    CHECK(len == 32);
    CHECK_ERR(kmse_algorithm_suite_data_key_length(0x0479, &len), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(len == 32);
    kt_end();
}

/* Messages that @aws-crypto/client-node's raw AES keyring wrapped in
 * localeCompare key order (tests/data/js-legacy-order, read from the
 * repository root, where make runs the tests): the js-legacy-order keyring
 * reads them all, the plain one fails where the orders differ. */
static void js_legacy_order(void) {
    const char *path = "tests/data/js-legacy-order/messages.json";
    size_t json_len = 0, key_len = 0, read = 0, differing = 0;
    char *json = (char *)kt_read_file(path, &json_len);
    char *key_hex = NULL, *ns = NULL, *name = NULL;
    unsigned char key[32];
    kmse_keyring *legacy = NULL, *plain = NULL;
    kmse_client *client = kt_client(KMSE_COMMITMENT_POLICY_REQUIRE_ENCRYPT_ALLOW_DECRYPT);
    const char *p;
    kt_begin("raw AES, JavaScript legacy key order: client-node's localeCompare-wrapped messages");
    CHECK(json != NULL);
    if (json == NULL) {
        fprintf(stderr, "cannot read %s (run the tests from the repository root)\n", path);
        kmse_client_free(client);
        kt_end();
        return;
    }
    key_hex = kt_json_string(json, NULL, "key", NULL);
    ns = kt_json_string(json, NULL, "keyNamespace", NULL);
    name = kt_json_string(json, NULL, "keyName", NULL);
    CHECK(key_hex != NULL && ns != NULL && name != NULL && strlen(key_hex) == 64);
    for (key_len = 0; key_len < 32; key_len++) {
        unsigned byte = 0;
        CHECK(sscanf(key_hex + 2 * key_len, "%2x", &byte) == 1);
        key[key_len] = (unsigned char)byte;
    }
    CHECK_OK(kmse_keyring_new_raw_aes_js_legacy_order(ns, name, key, 32, &legacy));
    CHECK_OK(kmse_keyring_new_raw_aes(ns, name, key, 32, &plain));
    CHECK_NULL(kmse_keyring_new_raw_aes_js_legacy_order("ns", "n", key, 32, NULL), "keyring_out");
    CHECK_ERR(kmse_keyring_new_raw_aes_js_legacy_order("ns", "n", key, 15, &plain),
              KMSE_STATUS_BAD_ARGUMENT);
    for (p = strstr(json, "\"messages\""); p != NULL && (p = strstr(p, "\"name\"")) != NULL;) {
        const char *end = strstr(p + 1, "\"name\"");
        char *plaintext = kt_json_string(p, end, "plaintext", NULL);
        char *ct_b64 = kt_json_string(p, end, "ciphertext", NULL);
        const char *differs_at = strstr(p, "\"orderDiffers\": true");
        int differs = differs_at != NULL && (end == NULL || differs_at < end);
        size_t ct_len = 0;
        unsigned char *ct = ct_b64 ? kt_base64_decode(ct_b64, &ct_len) : NULL;
        kmse_buffer *pt = NULL;
        CHECK(plaintext != NULL && ct != NULL);
        if (plaintext != NULL && ct != NULL) {
            CHECK_OK(kmse_decrypt(client, legacy, NULL, ct, ct_len, &pt, NULL, NULL));
            CHECK(kt_buffer_equals(pt, plaintext, strlen(plaintext)));
            kmse_buffer_free(pt);
            pt = NULL;
            if (differs) {
                CHECK_ERR(kmse_decrypt(client, plain, NULL, ct, ct_len, &pt, NULL, NULL),
                          KMSE_STATUS_NO_KEY_UNWRAPPED);
                differing++;
            } else {
                CHECK_OK(kmse_decrypt(client, plain, NULL, ct, ct_len, &pt, NULL, NULL));
                kmse_buffer_free(pt);
            }
            read++;
        }
        free(plaintext);
        free(ct_b64);
        free(ct);
        p = end;
    }
    CHECK(read >= 6 && differing >= 5);
    kmse_keyring_free(legacy);
    kmse_keyring_free(plain);
    kmse_client_free(client);
    free(key_hex);
    free(ns);
    free(name);
    free(json);
    kt_end();
}

void test_roundtrip(void) {
    version_and_names();
    encryption_context_api();
    roundtrip_every_suite();
    roundtrip_sizes_and_key_lengths();
    roundtrip_rsa();
    multi_keyring();
    required_context_cmm();
    error_statuses();
    client_limits();
    js_legacy_order();
}
