/* A sample of the official ESDK test vectors (../shared/vectors/esdk),
 * decrypted from C: messages written by other ESDK implementations, with
 * keys read from the vectors' keys.json files, including negative cases
 * that must fail with the right status. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

#define DAFNY "c-from-dafny-4.1.0"
#define NET "net-4.0.1"
#define NET_INVALID "net-4.0.0-invalid"
#define P_AES128 "aws-raw-vectors-persistent-aes-128"
#define P_AES256 "aws-raw-vectors-persistent-aes-256"
#define P_RSA "aws-raw-vectors-persistent-rsa-4096"
#define P_NET "aws-raw-vectors-persistant"

typedef struct {
    const char *dir;
    const char *id;
    /* Keyrings, comma-separated: "keys.json name[/padding]@provider id".
     * Several make a multi-keyring: the first is the generator. */
    const char *keys;
    const char *context;  /* reproduced context, "k=v,k=v" */
    const char *required; /* required-context CMM keys, "k,k"; NULL: none */
    kmse_status expect;
} vector_case;

static const vector_case CASES[] = {
    {DAFNY, "87f87e06-ee7e-46e8-9ab6-1f8e4ba7ec2c", "aes-128@" P_AES128, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "4a4a5ca4-a690-4445-930d-ac464bf4b936", "aes-128@" P_AES128, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "860e5447-6564-4822-8cba-fafe8c71c278", "aes-256@" P_AES256, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "87afbd57-f252-4077-b485-30afa8cb0e2f", "aes-256@" P_AES256, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "3c983db1-064d-4e48-8b1b-2836e0d6af2f", "aes-256@" P_AES256, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "6ef11baf-14b0-4421-a685-1fd2ff1a376e", "aes-256@" P_AES256, "", NULL, KMSE_STATUS_OK},
    {DAFNY, "928a0f68-9e63-421a-a3d4-8addb1b6b109", "rsa-4096-private/oaep-sha256@" P_RSA, "", NULL,
     KMSE_STATUS_OK},
    {DAFNY, "cec90061-74ab-488f-994a-9e13a2a2a927", "rsa-4096-private/pkcs1@" P_RSA, "", NULL,
     KMSE_STATUS_OK},
    {DAFNY, "225a1413-fc55-4ca4-8d3d-fa34461c8bf1", "aes-256@" P_AES256 ",aes-128@" P_AES128, "",
     NULL, KMSE_STATUS_OK},
    {DAFNY, "9abd86d3-6ac6-4554-8638-6fe5a51d47ee", "aes-128@" P_AES128 ",aes-256@" P_AES256, "",
     NULL, KMSE_STATUS_OK},
    {DAFNY, "08388b35-5d14-4749-aa9c-f7d01a1d0abf", "aes-256@" P_AES256, "a=a,b=b", "b",
     KMSE_STATUS_OK},
    {DAFNY, "5e884b3d-96bf-4907-bfb7-f14241a3b3bd", "aes-256@" P_AES256, "a=a,b=b", "a,b",
     KMSE_STATUS_OK},
    {NET, "0046-ec_len_2-cmm_Default-dc546b20-464b-4ea5-b8ab-85c6e2fba57a", "aes-256@" P_NET,
     "key1=val1,key2=val2", NULL, KMSE_STATUS_OK},
    {NET, "0578-ec_len_2-cmm_RequiredEncryptionContext-55c9eb75-95d6-4e2f-8f77-8d6e326ce000",
     "aes-256@" P_NET, "key1=val1,key2=val2", "key1,key2", KMSE_STATUS_OK},
    {NET, "0478-ec_len_2-cmm_RequiredEncryptionContext-e7eb3837-5a6f-4e52-9fa3-6fd1379fb030",
     "rsa-4096-private/oaep-sha512@" P_NET ",rsa-4096-public/oaep-sha256@" P_NET,
     "key1=val1,key2=val2", "key1,key2", KMSE_STATUS_OK},
    /* Written by ESDK-NET 4.0.0 with a known bug: header authentication fails. */
    {NET_INVALID, "0114-ec_len_2-cmm_Default-5b2003af-d2c4-40a8-bd0e-67c433eb1494",
     "aes-256@" P_NET, "key1=val1,key2=val2", NULL, KMSE_STATUS_AUTHENTICATION_FAILED},
    {NET_INVALID, "0378-ec_len_2-cmm_Default-4abfbbe3-a4dc-4d68-9c28-b290b1a01eec",
     "aes-256@" P_NET, "key1=val1,key2=val2", NULL, KMSE_STATUS_AUTHENTICATION_FAILED},
    {NET_INVALID,
     "0214-ec_len_2-cmm_RequiredEncryptionContext-89b46864-7c80-446e-aff2-fe92ad4bde19",
     "aes-256@" P_NET, "key1=val1,key2=val2", "key1,key2", KMSE_STATUS_AUTHENTICATION_FAILED},
    /* Negative cases derived from good vectors (the keys or context are wrong). */
    {DAFNY, "6ef11baf-14b0-4421-a685-1fd2ff1a376e", "aes-128@" P_AES256, "", NULL,
     KMSE_STATUS_NO_KEY_UNWRAPPED},
    {DAFNY, "928a0f68-9e63-421a-a3d4-8addb1b6b109", "rsa-4096-public/oaep-sha256@" P_RSA, "", NULL,
     KMSE_STATUS_NO_KEY_UNWRAPPED},
    {DAFNY, "08388b35-5d14-4749-aa9c-f7d01a1d0abf", "aes-256@" P_AES256, "a=a", "b",
     KMSE_STATUS_POLICY_VIOLATION},
    {NET, "0046-ec_len_2-cmm_Default-dc546b20-464b-4ea5-b8ab-85c6e2fba57a", "aes-256@" P_NET,
     "key1=other", NULL, KMSE_STATUS_POLICY_VIOLATION},
};

static int padding_of(const char *name) {
    if (strcmp(name, "pkcs1") == 0) return KMSE_RSA_PADDING_PKCS1;
    if (strcmp(name, "oaep-sha1") == 0) return KMSE_RSA_PADDING_OAEP_SHA1;
    if (strcmp(name, "oaep-sha256") == 0) return KMSE_RSA_PADDING_OAEP_SHA256;
    if (strcmp(name, "oaep-sha384") == 0) return KMSE_RSA_PADDING_OAEP_SHA384;
    if (strcmp(name, "oaep-sha512") == 0) return KMSE_RSA_PADDING_OAEP_SHA512;
    return -1;
}

/* One keyring from "name[/padding]@provider" and the folder's keys.json. */
static kmse_keyring *keyring_from(const char *keys_json, const char *spec) {
    char name[64] = "", padding[32] = "", provider[96] = "", quoted[80];
    const char *entry, *slash = strchr(spec, '/'), *at = strchr(spec, '@');
    char *type = NULL, *material = NULL, *key_id = NULL;
    kmse_keyring *keyring = NULL;
    size_t n;

    if (at == NULL) return NULL;
    n = (size_t)((slash && slash < at ? slash : at) - spec);
    memcpy(name, spec, n < sizeof name ? n : sizeof name - 1);
    if (slash && slash < at) memcpy(padding, slash + 1, (size_t)(at - slash - 1));
    snprintf(provider, sizeof provider, "%s", at + 1);
    snprintf(quoted, sizeof quoted, "\"%s\":", name);
    entry = strstr(keys_json, quoted);
    if (entry == NULL) return NULL;
    entry += strlen(quoted);
    type = kt_json_string(entry, NULL, "type", NULL);
    material = kt_json_string(entry, NULL, "material", NULL);
    key_id = kt_json_string(entry, NULL, "key-id", NULL);
    if (type && material && key_id) {
        if (strcmp(type, "symmetric") == 0) {
            size_t key_len = 0;
            unsigned char *key = kt_base64_decode(material, &key_len);
            CHECK_OK(kmse_keyring_new_raw_aes(provider, key_id, key, key_len, &keyring));
            free(key);
        } else if (strcmp(type, "private") == 0) {
            CHECK_OK(kmse_keyring_new_raw_rsa(provider, key_id, padding_of(padding), NULL, 0,
                                              (const uint8_t *)material, strlen(material), &keyring));
        } else if (strcmp(type, "public") == 0) {
            CHECK_OK(kmse_keyring_new_raw_rsa(provider, key_id, padding_of(padding),
                                              (const uint8_t *)material, strlen(material), NULL, 0,
                                              &keyring));
        }
    }
    free(type);
    free(material);
    free(key_id);
    return keyring;
}

static kmse_keyring *keyring_for(const char *keys_json, const char *specs) {
    kmse_keyring *keyrings[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    char copy[512], *spec, *save = NULL;
    size_t n = 0, i;
    snprintf(copy, sizeof copy, "%s", specs);
    for (spec = strtok_r(copy, ",", &save); spec && n < 4; spec = strtok_r(NULL, ",", &save))
        keyrings[n++] = keyring_from(keys_json, spec);
    if (n == 1) return keyrings[0];
    CHECK_OK(kmse_keyring_new_multi(keyrings[0], (const kmse_keyring *const *)keyrings + 1, n - 1,
                                    &result));
    for (i = 0; i < n; i++) kmse_keyring_free(keyrings[i]);
    return result;
}

static kmse_encryption_context *context_from(const char *pairs) {
    kmse_encryption_context *ec = NULL;
    char copy[256], *pair, *save = NULL;
    CHECK_OK(kmse_encryption_context_new(&ec));
    snprintf(copy, sizeof copy, "%s", pairs);
    for (pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(pair, '=');
        if (eq == NULL) continue;
        *eq = '\0';
        CHECK_OK(kmse_encryption_context_set(ec, pair, eq + 1));
    }
    return ec;
}

static kmse_cmm *required_cmm(const kmse_keyring *keyring, const char *keys) {
    kmse_cmm *plain = NULL, *cmm = NULL;
    const char *names[4];
    char copy[128], *key, *save = NULL;
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", keys);
    for (key = strtok_r(copy, ",", &save); key && n < 4; key = strtok_r(NULL, ",", &save))
        names[n++] = key;
    CHECK_OK(kmse_cmm_new_default(keyring, &plain));
    CHECK_OK(kmse_cmm_new_required_encryption_context(plain, names, n, &cmm));
    kmse_cmm_free(plain);
    return cmm;
}

static void run_case(const vector_case *c, kmse_client *client) {
    char path[1024], name[160];
    unsigned char *ciphertext = NULL, *expected = NULL;
    char *keys_json = NULL;
    size_t ct_len = 0, expected_len = 0, keys_len = 0;
    kmse_keyring *keyring = NULL;
    kmse_cmm *cmm = NULL;
    kmse_encryption_context *ec = NULL;
    kmse_buffer *plaintext = NULL;
    kmse_status status;

    snprintf(name, sizeof name, "vector %s/%.40s (%s) -> %s", c->dir, c->id, c->keys,
             kmse_status_name(c->expect));
    kt_begin(name);
    snprintf(path, sizeof path, "%s/%s/ciphertexts/%s", kt_vectors_dir, c->dir, c->id);
    ciphertext = kt_read_file(path, &ct_len);
    snprintf(path, sizeof path, "%s/%s/plaintexts/small", kt_vectors_dir, c->dir);
    expected = kt_read_file(path, &expected_len);
    snprintf(path, sizeof path, "%s/%s/keys.json", kt_vectors_dir, c->dir);
    keys_json = (char *)kt_read_file(path, &keys_len);
    CHECK(ciphertext != NULL && expected != NULL && keys_json != NULL);
    if (ciphertext && expected && keys_json) {
        keyring = keyring_for(keys_json, c->keys);
        CHECK(keyring != NULL);
        ec = context_from(c->context);
        if (c->required) {
            cmm = required_cmm(keyring, c->required);
            status = kmse_decrypt_with_cmm(client, cmm, ec, ciphertext, ct_len, &plaintext, NULL, NULL);
        } else {
            status = kmse_decrypt(client, keyring, ec, ciphertext, ct_len, &plaintext, NULL, NULL);
        }
        CHECK_ERR(status, c->expect);
        if (c->expect == KMSE_STATUS_OK) CHECK(kt_buffer_equals(plaintext, expected, expected_len));
        else CHECK(plaintext == NULL);
    }
    kmse_buffer_free(plaintext);
    kmse_encryption_context_free(ec);
    kmse_cmm_free(cmm);
    kmse_keyring_free(keyring);
    free(ciphertext);
    free(expected);
    free(keys_json);
    kt_end();
}

/* The Python commitment known-answer tests give the plaintext data key:
 * a custom keyring in C hands it over. */
typedef struct {
    unsigned char key[32];
    size_t len;
} fixed_key;

static int fixed_on_encrypt(void *user_data, kmse_encryption_materials *materials) {
    (void)user_data;
    kmse_encryption_materials_set_error(materials, NULL, "this keyring only decrypts");
    return KMSE_STATUS_BAD_ARGUMENT;
}

static int fixed_on_decrypt(void *user_data, kmse_decryption_materials *materials,
                            const kmse_encrypted_data_keys *edks) {
    const fixed_key *k = user_data;
    (void)edks;
    return kmse_decryption_materials_set_data_key(materials, k->key, k->len);
}

static void known_answer(const char *json, int index, kmse_client *client) {
    const char *p = json, *end;
    char name[96];
    char *ct_b64 = NULL, *dek_b64 = NULL;
    unsigned char *ct = NULL, *dek = NULL;
    size_t ct_len = 0, dek_len = 0, expected_len = 0, i;
    char expected[256] = "";
    int must_pass;
    fixed_key key;
    kmse_keyring *keyring = NULL;
    kmse_buffer *plaintext = NULL;
    const char *frames;

    /* Test `index` spans from its "ciphertext" to the next test's. */
    for (i = 0; i <= (size_t)index && p; i++) {
        p = strstr(p, "\"ciphertext\"");
        if (p && i < (size_t)index) p++;
    }
    snprintf(name, sizeof name, "vector python-commitment-kat tests[%d]", index);
    kt_begin(name);
    CHECK(p != NULL);
    if (p == NULL) {
        kt_end();
        return;
    }
    end = strstr(p + 1, "\"ciphertext\"");
    ct_b64 = kt_json_string(p, end, "ciphertext", NULL);
    dek_b64 = kt_json_string(p, end, "decrypted-dek", NULL);
    must_pass = strstr(p, "\"status\": true") != NULL &&
                (end == NULL || strstr(p, "\"status\": true") < end);
    frames = strstr(p, "\"plaintext-frames\"");
    if (frames && (end == NULL || frames < end)) {
        const char *q = strchr(frames, '[');
        const char *close = q ? strchr(q, ']') : NULL;
        /* The frames are a list of strings: collect them in order. */
        for (q = q ? q + 1 : NULL; q && close && q < close;) {
            const char *open = strchr(q, '"'), *stop;
            if (open == NULL || open > close) break;
            for (stop = open + 1; *stop && *stop != '"'; stop++)
                if (*stop == '\\') stop++;
            if ((size_t)(stop - open - 1) + expected_len < sizeof expected) {
                memcpy(expected + expected_len, open + 1, (size_t)(stop - open - 1));
                expected_len += (size_t)(stop - open - 1);
            }
            q = stop + 1;
        }
    }
    CHECK(ct_b64 != NULL && dek_b64 != NULL);
    if (ct_b64 && dek_b64) {
        ct = kt_base64_decode(ct_b64, &ct_len);
        dek = kt_base64_decode(dek_b64, &dek_len);
        CHECK(ct != NULL && dek != NULL && dek_len <= sizeof key.key);
        memcpy(key.key, dek, dek_len);
        key.len = dek_len;
        CHECK_OK(kmse_keyring_new_custom(fixed_on_encrypt, fixed_on_decrypt, &key, NULL, &keyring));
        if (must_pass) {
            CHECK_OK(kmse_decrypt(client, keyring, NULL, ct, ct_len, &plaintext, NULL, NULL));
            CHECK(kt_buffer_equals(plaintext, expected, expected_len));
        } else {
            CHECK_ERR(kmse_decrypt(client, keyring, NULL, ct, ct_len, &plaintext, NULL, NULL),
                      KMSE_STATUS_AUTHENTICATION_FAILED);
            CHECK(strstr(kmse_last_error_message(), "commitment") != NULL);
        }
    }
    kmse_buffer_free(plaintext);
    kmse_keyring_free(keyring);
    free(ct_b64);
    free(dek_b64);
    free(ct);
    free(dek);
    kt_end();
}

/* Derived from a good vector: cut short, or one bit flipped. */
static void tampered(kmse_client *client) {
    char path[1024];
    unsigned char *ct;
    size_t len = 0;
    kmse_keyring *keyring = kt_aes_keyring(P_AES256, "aes-256", 32);
    kmse_buffer *plaintext = NULL;
    kmse_client *strict = kt_client(0);

    kt_begin("vector c-from-dafny 0x0578 truncated, tampered, refused by the default policy (v1)");
    snprintf(path, sizeof path, "%s/" DAFNY "/ciphertexts/6ef11baf-14b0-4421-a685-1fd2ff1a376e",
             kt_vectors_dir);
    ct = kt_read_file(path, &len);
    CHECK(ct != NULL && len > 200);
    if (ct && len > 200) {
        CHECK_ERR(kmse_decrypt(client, keyring, NULL, ct, len - 1, &plaintext, NULL, NULL),
                  KMSE_STATUS_MALFORMED_MESSAGE);
        ct[len / 2] ^= 4;
        CHECK_ERR(kmse_decrypt(client, keyring, NULL, ct, len, &plaintext, NULL, NULL),
                  KMSE_STATUS_AUTHENTICATION_FAILED);
        ct[len / 2] ^= 4;
        CHECK_OK(kmse_decrypt(client, keyring, NULL, ct, len, &plaintext, NULL, NULL));
        kmse_buffer_free(plaintext);
        plaintext = NULL;
    }
    free(ct);
    snprintf(path, sizeof path, "%s/" DAFNY "/ciphertexts/860e5447-6564-4822-8cba-fafe8c71c278",
             kt_vectors_dir);
    ct = kt_read_file(path, &len);
    CHECK(ct != NULL);
    if (ct) CHECK_ERR(kmse_decrypt(strict, keyring, NULL, ct, len, &plaintext, NULL, NULL),
                      KMSE_STATUS_POLICY_VIOLATION);
    free(ct);
    kmse_keyring_free(keyring);
    kmse_client_free(strict);
    kt_end();
}

void test_vectors(void) {
    char path[1024];
    char *kat;
    size_t len = 0, i;
    /* Every case runs as the ESDK vector runners do: reading both versions. */
    kmse_client *client = kt_client(KMSE_COMMITMENT_POLICY_REQUIRE_ENCRYPT_ALLOW_DECRYPT);
    for (i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_case(&CASES[i], client);
    snprintf(path, sizeof path, "%s/python-commitment-kat/commitment-test-vectors.json",
             kt_vectors_dir);
    kat = (char *)kt_read_file(path, &len);
    kt_begin("vector python-commitment-kat readable");
    CHECK(kat != NULL);
    kt_end();
    if (kat) {
        known_answer(kat, 0, client);
        known_answer(kat, 1, client);
        known_answer(kat, 2, client);
        known_answer(kat, 11, client);
    }
    free(kat);
    tampered(client);
    kmse_client_free(client);
}
