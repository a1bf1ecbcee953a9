/* AWS KMS keyrings and the caching CMM against a real moto_server (a local
 * server with the AWS KMS API), which bindings/c/tests/with-moto.sh starts
 * on 127.0.0.1 with two keys and a request recorder, and describes in:
 *
 *   KMSE_TEST_KMS_ENDPOINT   http://127.0.0.1:PORT
 *   KMSE_TEST_KMS_KEY1/KEY2  the two key ARNs
 *   KMSE_TEST_KMS_RECORDING  moto's recording: one JSON line per request
 *
 * Calls are counted on the server side, in that recording. A few cases that
 * need no server (argument checks, an unreachable endpoint, the KMS error
 * code accessor) always run. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmse_test.h"

#define ACCOUNT "123456789012"

static const char *endpoint, *key1, *key2, *recording;

static void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&t, &t) != 0) {
    }
}

/* How many requests for `operation` (e.g. "GenerateDataKey") moto has
 * recorded so far, by their X-Amz-Target header. */
static long kms_calls(const char *operation) {
    char needle[96];
    size_t len = 0;
    long n = 0;
    unsigned char *text = kt_read_file(recording, &len);
    const char *p;
    if (text == NULL) {
        CHECK(!"the moto recording is readable");
        return -1;
    }
    snprintf(needle, sizeof needle, "\"TrentService.%s\"", operation);
    for (p = (const char *)text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    free(text);
    return n;
}

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* A client of the test server with explicit settings. */
static kmse_aws_kms_client *moto_client(void) {
    kmse_aws_kms_options *o = NULL;
    kmse_aws_kms_client *kms = NULL;
    CHECK_OK(kmse_aws_kms_options_new(&o));
    CHECK_OK(kmse_aws_kms_options_set_endpoint(o, endpoint));
    CHECK_OK(kmse_aws_kms_options_set_region(o, "us-east-1"));
    CHECK_OK(kmse_aws_kms_options_set_credentials(o, "test", "test", NULL));
    CHECK_OK(kmse_aws_kms_options_set_timeout_ms(o, 60000));
    CHECK_OK(kmse_aws_kms_client_new(o, &kms));
    kmse_aws_kms_options_free(o);
    return kms;
}

static kmse_keyring *strict_keyring(const kmse_aws_kms_client *kms, const char *key) {
    kmse_keyring *k = NULL;
    CHECK_OK(kmse_keyring_new_aws_kms(kms, key, NULL, 0, &k));
    return k;
}

static kmse_encryption_context *context(const char *key, const char *value) {
    kmse_encryption_context *ec = NULL;
    CHECK_OK(kmse_encryption_context_new(&ec));
    CHECK_OK(kmse_encryption_context_set(ec, key, value));
    return ec;
}

/* Decrypts `message` with `keyring`: the status, and whether the
 * plaintext is `plaintext`. */
static kmse_status try_decrypt(const kmse_client *c, const kmse_keyring *keyring,
                               const kmse_buffer *message, const char *plaintext, int *same) {
    const uint8_t *data = NULL;
    size_t len = 0;
    kmse_buffer *pt = NULL;
    kmse_status status;
    *same = 0;
    CHECK_OK(kmse_buffer_data(message, &data, &len));
    status = kmse_decrypt(c, keyring, NULL, data, len, &pt, NULL, NULL);
    if (status == KMSE_STATUS_OK) *same = kt_buffer_equals(pt, plaintext, strlen(plaintext));
    kmse_buffer_free(pt);
    return status;
}

/* Whether `message` decrypts with `keyring` to `plaintext` (else prints why). */
static int decrypts(const kmse_client *c, const kmse_keyring *keyring, const kmse_buffer *message,
                    const char *plaintext) {
    int same;
    if (try_decrypt(c, keyring, message, plaintext, &same) != KMSE_STATUS_OK) {
        printf("  decrypt failed: %s\n", kmse_last_error_message());
        return 0;
    }
    return same;
}

/* The EDKs of a message: count, and the provider id and info of one. */
static size_t edk_count(const kmse_buffer *message) {
    const uint8_t *data = NULL;
    size_t len = 0, n = 0;
    kmse_header *h = NULL;
    const kmse_encrypted_data_keys *edks = NULL;
    CHECK_OK(kmse_buffer_data(message, &data, &len));
    CHECK_OK(kmse_header_parse(data, len, &h, NULL));
    CHECK_OK(kmse_header_encrypted_data_keys(h, &edks));
    CHECK_OK(kmse_encrypted_data_keys_len(edks, &n));
    kmse_header_free(h);
    return n;
}

static int edk_is(const kmse_buffer *message, size_t i, const char *arn) {
    const uint8_t *data = NULL;
    size_t len = 0;
    kmse_header *h = NULL;
    const kmse_encrypted_data_keys *edks = NULL;
    kmse_encrypted_data_key edk;
    int ok;
    CHECK_OK(kmse_buffer_data(message, &data, &len));
    CHECK_OK(kmse_header_parse(data, len, &h, NULL));
    CHECK_OK(kmse_header_encrypted_data_keys(h, &edks));
    CHECK_OK(kmse_encrypted_data_keys_get(edks, i, &edk));
    ok = strcmp(edk.provider_id, "aws-kms") == 0 && edk.provider_info_len == strlen(arn) &&
         memcmp(edk.provider_info, arn, strlen(arn)) == 0;
    kmse_header_free(h);
    return ok;
}

/* Whether two messages carry the same encrypted data key (the same cached
 * data key). */
static int same_edk(const kmse_buffer *a, const kmse_buffer *b) {
    const uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    kmse_header *ha = NULL, *hb = NULL;
    const kmse_encrypted_data_keys *ea = NULL, *eb = NULL;
    kmse_encrypted_data_key ka, kb;
    int same;
    CHECK_OK(kmse_buffer_data(a, &da, &la));
    CHECK_OK(kmse_buffer_data(b, &db, &lb));
    CHECK_OK(kmse_header_parse(da, la, &ha, NULL));
    CHECK_OK(kmse_header_parse(db, lb, &hb, NULL));
    CHECK_OK(kmse_header_encrypted_data_keys(ha, &ea));
    CHECK_OK(kmse_header_encrypted_data_keys(hb, &eb));
    CHECK_OK(kmse_encrypted_data_keys_get(ea, 0, &ka));
    CHECK_OK(kmse_encrypted_data_keys_get(eb, 0, &kb));
    same = ka.ciphertext_len == kb.ciphertext_len &&
           memcmp(ka.ciphertext, kb.ciphertext, ka.ciphertext_len) == 0;
    kmse_header_free(ha);
    kmse_header_free(hb);
    return same;
}

/* ---------------------------------------------------------------- no server */

static void arguments(void) {
    kmse_aws_kms_options *o = NULL;
    kmse_aws_kms_client *kms = NULL, *kms_out = (kmse_aws_kms_client *)0x1;
    kmse_keyring *out = (kmse_keyring *)0x1;
    const char *tokens[2] = {"token", NULL};
    const char *accounts[2] = {ACCOUNT, NULL};
    const char *empty[1] = {""};
    const char *key = "arn:aws:kms:us-east-1:" ACCOUNT ":key/00000000-1111-2222-3333-444444444444";

    kt_begin("AWS KMS: NULL and bad values: options, client, keyrings");
    kmse_aws_kms_options_free(NULL);
    kmse_aws_kms_client_free(NULL);
    CHECK_NULL(kmse_aws_kms_options_new(NULL), "options_out");
    CHECK_NULL(kmse_aws_kms_options_set_region(NULL, "r"), "options");
    CHECK_NULL(kmse_aws_kms_options_set_endpoint(NULL, "http://x"), "options");
    CHECK_NULL(kmse_aws_kms_options_set_profile(NULL, "p"), "options");
    CHECK_NULL(kmse_aws_kms_options_set_credentials(NULL, "a", "s", NULL), "options");
    CHECK_NULL(kmse_aws_kms_options_set_timeout_ms(NULL, 1), "options");
    CHECK_NULL(kmse_aws_kms_options_set_connect_timeout_ms(NULL, 1), "options");
    CHECK_NULL(kmse_aws_kms_options_set_max_attempts(NULL, 1), "options");
    CHECK_NULL(kmse_aws_kms_options_set_retry_backoff_ms(NULL, 1, 2), "options");
    CHECK_NULL(kmse_aws_kms_options_set_worker_threads(NULL, 1), "options");
    CHECK_OK(kmse_aws_kms_options_new(&o));
    CHECK_NULL(kmse_aws_kms_options_set_region(o, NULL), "region");
    CHECK_NULL(kmse_aws_kms_options_set_endpoint(o, NULL), "url");
    CHECK_NULL(kmse_aws_kms_options_set_profile(o, NULL), "profile");
    CHECK_NULL(kmse_aws_kms_options_set_credentials(o, NULL, "s", NULL), "access_key_id");
    CHECK_NULL(kmse_aws_kms_options_set_credentials(o, "a", NULL, NULL), "secret_access_key");
    CHECK_ERR(kmse_aws_kms_options_set_region(o, ""), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_aws_kms_options_set_credentials(o, "a", "", NULL), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_aws_kms_options_set_credentials(o, "a", "s", "\xff"), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_aws_kms_options_set_credentials(o, "AKIDEXAMPLE", "secret", "token"));
    CHECK_OK(kmse_aws_kms_options_set_region(o, "us-east-1"));
    CHECK_NULL(kmse_aws_kms_client_new(o, NULL), "client_out");
    /* Settings out of range fail when the client is made, with a message. */
    CHECK_OK(kmse_aws_kms_options_set_max_attempts(o, 0));
    CHECK_ERR(kmse_aws_kms_client_new(o, &kms_out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "max_attempts"));
    CHECK_OK(kmse_aws_kms_options_set_max_attempts(o, 2));
    CHECK_OK(kmse_aws_kms_options_set_timeout_ms(o, 0));
    CHECK_ERR(kmse_aws_kms_client_new(o, &kms_out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "timeout"));
    CHECK_OK(kmse_aws_kms_options_set_timeout_ms(o, 1000));
    CHECK_OK(kmse_aws_kms_options_set_worker_threads(o, 9));
    CHECK_ERR(kmse_aws_kms_client_new(o, &kms_out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "worker_threads"));
    CHECK_OK(kmse_aws_kms_options_set_worker_threads(o, 1));
    CHECK_OK(kmse_aws_kms_options_set_endpoint(o, "ftp://127.0.0.1"));
    CHECK_ERR(kmse_aws_kms_client_new(o, &kms_out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "endpoint"));
    CHECK_OK(kmse_aws_kms_options_set_endpoint(o, "http://127.0.0.1:4566"));
    CHECK_OK(kmse_aws_kms_options_set_profile(o, "kmse-no-such-profile"));
    CHECK_ERR(kmse_aws_kms_client_new(o, &kms_out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "kmse-no-such-profile"));
    CHECK(kms_out == (kmse_aws_kms_client *)0x1);
    kmse_aws_kms_options_free(o);
    o = NULL;
    CHECK_OK(kmse_aws_kms_options_new(&o));
    CHECK_OK(kmse_aws_kms_options_set_credentials(o, "AKIDEXAMPLE", "secret", NULL));
    CHECK_OK(kmse_aws_kms_options_set_connect_timeout_ms(o, 2000));
    CHECK_OK(kmse_aws_kms_options_set_retry_backoff_ms(o, 10, 100));
    CHECK_OK(kmse_aws_kms_client_new(o, &kms)); /* no request is sent yet */
    kmse_aws_kms_options_free(o);

    CHECK_NULL(kmse_keyring_new_aws_kms(NULL, key, NULL, 0, &out), "kms");
    CHECK_NULL(kmse_keyring_new_aws_kms(kms, NULL, NULL, 0, &out), "key_id");
    CHECK_NULL(kmse_keyring_new_aws_kms(kms, key, NULL, 1, &out), "grant_tokens");
    CHECK_NULL(kmse_keyring_new_aws_kms(kms, key, tokens, 2, &out), "grant_tokens[1]");
    CHECK_NULL(kmse_keyring_new_aws_kms(kms, key, NULL, 0, NULL), "keyring_out");
    CHECK_ERR(kmse_keyring_new_aws_kms(kms, "", NULL, 0, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_aws_kms(kms, "arn:aws:s3:::bucket/x", NULL, 0, &out),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK(contains(kmse_last_error_message(), "not a valid AWS KMS ARN"));
    CHECK_ERR(kmse_keyring_new_aws_kms(kms, key, empty, 1, &out), KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_keyring_new_aws_kms_mrk_aware(NULL, key, NULL, 0, &out), "kms");
    CHECK_NULL(kmse_keyring_new_aws_kms_mrk_aware(kms, NULL, NULL, 0, &out), "key_id");
    CHECK_NULL(kmse_keyring_new_aws_kms_mrk_aware(kms, key, NULL, 0, NULL), "keyring_out");
    CHECK_NULL(kmse_keyring_new_aws_kms_discovery(NULL, NULL, NULL, 0, NULL, 0, &out), "kms");
    CHECK_NULL(kmse_keyring_new_aws_kms_discovery(kms, "aws", NULL, 1, NULL, 0, &out),
               "filter_accounts");
    CHECK_NULL(kmse_keyring_new_aws_kms_discovery(kms, "aws", accounts, 2, NULL, 0, &out),
               "filter_accounts[1]");
    CHECK_NULL(kmse_keyring_new_aws_kms_discovery(kms, NULL, NULL, 0, NULL, 0, NULL),
               "keyring_out");
    CHECK_ERR(kmse_keyring_new_aws_kms_discovery(kms, "aws", NULL, 0, NULL, 0, &out),
              KMSE_STATUS_BAD_ARGUMENT); /* a partition without accounts */
    CHECK(contains(kmse_last_error_message(), "at least one account"));
    CHECK_ERR(kmse_keyring_new_aws_kms_discovery(kms, "", accounts, 1, NULL, 0, &out),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK_ERR(kmse_keyring_new_aws_kms_discovery(kms, NULL, empty, 1, NULL, 0, &out),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK_NULL(kmse_keyring_new_aws_kms_mrk_discovery(NULL, "r", NULL, NULL, 0, NULL, 0, &out),
               "kms");
    CHECK_NULL(kmse_keyring_new_aws_kms_mrk_discovery(kms, "r", NULL, NULL, 0, NULL, 0, NULL),
               "keyring_out");
    /* No region given and none configured (with-moto.sh sets no AWS_REGION). */
    if (getenv("AWS_REGION") == NULL && getenv("AWS_DEFAULT_REGION") == NULL) {
        CHECK_ERR(kmse_keyring_new_aws_kms_mrk_discovery(kms, NULL, NULL, NULL, 0, NULL, 0, &out),
                  KMSE_STATUS_BAD_ARGUMENT);
        CHECK(contains(kmse_last_error_message(), "region"));
    }
    CHECK(out == (kmse_keyring *)0x1);
    out = NULL;
    CHECK_OK(kmse_keyring_new_aws_kms_mrk_discovery(kms, "eu-west-1", "aws", accounts, 1, tokens,
                                                     1, &out));
    kmse_keyring_free(out);
    kmse_aws_kms_client_free(kms);
    kt_end();
}

static void unreachable_endpoint(void) {
    kmse_aws_kms_options *o = NULL;
    kmse_aws_kms_client *kms = NULL;
    kmse_keyring *k = NULL;
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = (kmse_buffer *)0x1;

    kt_begin("AWS KMS: an unreachable endpoint fails with KMSE_STATUS_KMS_ERROR, code RequestFailed");
    CHECK_OK(kmse_aws_kms_options_new(&o));
    /* Port 9 (discard) on 127.0.0.1: nothing listens there. */
    CHECK_OK(kmse_aws_kms_options_set_endpoint(o, "http://127.0.0.1:9"));
    CHECK_OK(kmse_aws_kms_options_set_credentials(o, "test", "test", NULL));
    CHECK_OK(kmse_aws_kms_options_set_max_attempts(o, 2));
    CHECK_OK(kmse_aws_kms_options_set_retry_backoff_ms(o, 1, 5));
    CHECK_OK(kmse_aws_kms_options_set_connect_timeout_ms(o, 3000));
    CHECK_OK(kmse_aws_kms_client_new(o, &kms));
    kmse_aws_kms_options_free(o);
    k = strict_keyring(kms, "arn:aws:kms:us-east-1:" ACCOUNT ":key/00000000-1111-2222-3333-444444444444");
    kmse_aws_kms_client_free(kms); /* the keyring keeps the client */
    CHECK_ERR(kmse_encrypt(c, k, NULL, (const uint8_t *)"x", 1, &ct), KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "RequestFailed") == 0);
    CHECK(contains(kmse_last_error_message(), "kmse_encrypt: KMS error RequestFailed"));
    CHECK(ct == (kmse_buffer *)0x1);
    kmse_keyring_free(k);
    kmse_client_free(c);
    kt_end();
}

static int refusing_on_encrypt(void *user_data, kmse_encryption_materials *m) {
    kmse_encryption_materials_set_error(m, user_data, "my KMS said no");
    return KMSE_STATUS_KMS_ERROR;
}

static int refusing_on_decrypt(void *user_data, kmse_decryption_materials *m,
                               const kmse_encrypted_data_keys *edks) {
    (void)user_data;
    (void)edks;
    kmse_decryption_materials_set_error(m, NULL, "nothing");
    return KMSE_STATUS_NO_KEY_UNWRAPPED;
}

static void kms_code_accessor(void) {
    kmse_keyring *with_code = NULL, *without_code = NULL, *empty_code = NULL;
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL;
    size_t n = 0;

    kt_begin("kmse_last_error_kms_code: the code of a KMS failure, else \"\"");
    CHECK(kmse_last_error_kms_code() != NULL);
    CHECK_OK(kmse_keyring_new_custom(refusing_on_encrypt, refusing_on_decrypt,
                                     (void *)"AccessDeniedException", NULL, &with_code));
    CHECK_OK(kmse_keyring_new_custom(refusing_on_encrypt, refusing_on_decrypt, NULL, NULL,
                                     &without_code));
    CHECK_OK(kmse_keyring_new_custom(refusing_on_encrypt, refusing_on_decrypt, (void *)"", NULL,
                                     &empty_code));
    CHECK_ERR(kmse_encrypt(c, with_code, NULL, (const uint8_t *)"x", 1, &ct), KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "AccessDeniedException") == 0);
    CHECK(contains(kmse_last_error_message(), "my KMS said no"));
    CHECK_OK(kmse_algorithm_suite_data_key_length(0x0578, &n)); /* a success clears it */
    CHECK(strcmp(kmse_last_error_kms_code(), "") == 0);
    CHECK_ERR(kmse_encrypt(c, without_code, NULL, (const uint8_t *)"x", 1, &ct),
              KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "CustomKeyringError") == 0);
    /* "" is no code, as NULL is: a KMS failure always has one */
    CHECK_ERR(kmse_encrypt(c, empty_code, NULL, (const uint8_t *)"x", 1, &ct),
              KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "CustomKeyringError") == 0);
    CHECK(contains(kmse_last_error_message(), "KMS error CustomKeyringError: my KMS said no"));
    CHECK_NULL(kmse_encrypt(c, NULL, NULL, (const uint8_t *)"x", 1, &ct), "keyring");
    CHECK(strcmp(kmse_last_error_kms_code(), "") == 0); /* other failures have none */
    CHECK(ct == NULL);
    kmse_keyring_free(with_code);
    kmse_keyring_free(without_code);
    kmse_keyring_free(empty_code);
    kmse_client_free(c);
    kt_end();
}

/* ---------------------------------------------------------------- moto_server */

static void two_keys(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1), *k2 = strict_keyring(kms, key2);
    kmse_keyring *both = NULL, *mrk = NULL, *tokens_keyring = NULL;
    const kmse_keyring *children[1];
    const char *tokens[1] = {"a-grant-token"};
    kmse_encryption_context *ec = context("purpose", "c-test");
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL, *ct2 = NULL;
    const char *text = "encrypted under two KMS keys";

    kt_begin("AWS KMS: encrypt with two keys, decrypt with either alone");
    children[0] = k2;
    CHECK_OK(kmse_keyring_new_multi(k1, children, 1, &both));
    CHECK_OK(kmse_encrypt(c, both, ec, (const uint8_t *)text, strlen(text), &ct));
    CHECK(edk_count(ct) == 2);
    CHECK(edk_is(ct, 0, key1)); /* GenerateDataKey */
    CHECK(edk_is(ct, 1, key2)); /* Encrypt */
    CHECK(decrypts(c, k1, ct, text));
    CHECK(decrypts(c, k2, ct, text));
    CHECK_OK(kmse_keyring_new_aws_kms_mrk_aware(kms, key2, NULL, 0, &mrk));
    CHECK(decrypts(c, mrk, ct, text));
    /* Grant tokens are sent with every call. */
    CHECK_OK(kmse_keyring_new_aws_kms(kms, key1, tokens, 1, &tokens_keyring));
    CHECK_OK(kmse_encrypt(c, tokens_keyring, ec, (const uint8_t *)text, strlen(text), &ct2));
    CHECK(decrypts(c, tokens_keyring, ct2, text));
    CHECK(decrypts(c, k1, ct2, text));
    {
        int same;
        CHECK(try_decrypt(c, k2, ct2, text, &same) == KMSE_STATUS_NO_KEY_UNWRAPPED);
        CHECK(contains(kmse_last_error_message(), "no encrypted data key for this key"));
    }
    kmse_buffer_free(ct);
    kmse_buffer_free(ct2);
    kmse_keyring_free(both);
    kmse_keyring_free(mrk);
    kmse_keyring_free(tokens_keyring);
    kmse_keyring_free(k1);
    kmse_keyring_free(k2);
    kmse_aws_kms_client_free(kms);
    kmse_encryption_context_free(ec);
    kmse_client_free(c);
    kt_end();
}

static void discovery(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_keyring *any = NULL, *ours = NULL, *theirs = NULL, *regional = NULL, *elsewhere = NULL;
    const char *our_account[1] = {ACCOUNT};
    const char *other_accounts[2] = {"111122223333", "444455556666"};
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL, *pt = (kmse_buffer *)0x1;
    const uint8_t *data = NULL;
    size_t len = 0;
    const char *text = "found by discovery";

    kt_begin("AWS KMS: discovery decrypts; a filter that excludes the account fails clearly");
    CHECK_OK(kmse_encrypt(c, k1, NULL, (const uint8_t *)text, strlen(text), &ct));
    CHECK_OK(kmse_keyring_new_aws_kms_discovery(kms, NULL, NULL, 0, NULL, 0, &any));
    CHECK_OK(kmse_keyring_new_aws_kms_discovery(kms, NULL, our_account, 1, NULL, 0, &ours));
    CHECK_OK(kmse_keyring_new_aws_kms_discovery(kms, "aws", other_accounts, 2, NULL, 0, &theirs));
    CHECK_OK(kmse_keyring_new_aws_kms_mrk_discovery(kms, NULL, NULL, NULL, 0, NULL, 0, &regional));
    CHECK_OK(kmse_keyring_new_aws_kms_mrk_discovery(kms, "eu-west-1", NULL, NULL, 0, NULL, 0,
                                                     &elsewhere));
    CHECK(decrypts(c, any, ct, text));
    CHECK(decrypts(c, ours, ct, text));
    CHECK(decrypts(c, regional, ct, text)); /* the client's region, us-east-1 */
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_ERR(kmse_decrypt(c, theirs, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK(contains(kmse_last_error_message(), "discovery filter"));
    CHECK(strcmp(kmse_last_error_kms_code(), "") == 0);
    CHECK_ERR(kmse_decrypt(c, elsewhere, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK(contains(kmse_last_error_message(), "eu-west-1"));
    CHECK(pt == (kmse_buffer *)0x1);
    /* Discovery keyrings only decrypt. */
    {
        kmse_buffer *none = NULL;
        CHECK_ERR(kmse_encrypt(c, any, NULL, (const uint8_t *)"x", 1, &none), KMSE_STATUS_BAD_ARGUMENT);
        CHECK(contains(kmse_last_error_message(), "discovery keyring cannot encrypt"));
        CHECK(none == NULL);
    }
    kmse_buffer_free(ct);
    kmse_keyring_free(any);
    kmse_keyring_free(ours);
    kmse_keyring_free(theirs);
    kmse_keyring_free(regional);
    kmse_keyring_free(elsewhere);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_client_free(c);
    kt_end();
}

static void wrong_context(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_cmm *plain = NULL, *required = NULL;
    const char *required_keys[1] = {"tenant"};
    kmse_encryption_context *acme = context("tenant", "acme"), *other = context("tenant", "other");
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("AWS KMS: a wrong encryption context fails with InvalidCiphertextException");
    /* "tenant" is bound by KMS but not stored in the message: decrypt sends
     * KMS the context the caller gives. */
    CHECK_OK(kmse_cmm_new_default(k1, &plain));
    CHECK_OK(kmse_cmm_new_required_encryption_context(plain, required_keys, 1, &required));
    CHECK_OK(kmse_encrypt_with_cmm(c, required, acme, (const uint8_t *)"bound", 5, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_ERR(kmse_decrypt_with_cmm(c, required, other, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    /* The message names the key tried and the service's code and message. */
    CHECK(contains(kmse_last_error_message(), "InvalidCiphertextException"));
    CHECK(contains(kmse_last_error_message(), key1));
    CHECK(pt == NULL);
    CHECK_OK(kmse_decrypt_with_cmm(c, required, acme, data, len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "bound", 5));
    kmse_buffer_free(pt);
    kmse_buffer_free(ct);
    kmse_cmm_free(plain);
    kmse_cmm_free(required);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_encryption_context_free(acme);
    kmse_encryption_context_free(other);
    kmse_client_free(c);
    kt_end();
}

static void missing_key(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *missing =
        strict_keyring(kms, "arn:aws:kms:us-east-1:" ACCOUNT ":key/00000000-1111-2222-3333-444444444444");
    kmse_keyring *alias = strict_keyring(kms, "alias/kmse-does-not-exist");
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = (kmse_buffer *)0x1, *good = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;

    kt_begin("AWS KMS: a key that does not exist fails with NotFoundException");
    CHECK_ERR(kmse_encrypt(c, missing, NULL, (const uint8_t *)"x", 1, &ct), KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "NotFoundException") == 0);
    CHECK(contains(kmse_last_error_message(), "KMS error NotFoundException"));
    CHECK_ERR(kmse_encrypt(c, alias, NULL, (const uint8_t *)"x", 1, &ct), KMSE_STATUS_KMS_ERROR);
    CHECK(strcmp(kmse_last_error_kms_code(), "NotFoundException") == 0);
    CHECK(ct == (kmse_buffer *)0x1);
    /* A strict keyring of another key does not even call KMS on decrypt. */
    CHECK_OK(kmse_encrypt(c, k1, NULL, (const uint8_t *)"x", 1, &good));
    CHECK_OK(kmse_buffer_data(good, &data, &len));
    CHECK_ERR(kmse_decrypt(c, missing, NULL, data, len, &pt, NULL, NULL),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    CHECK(contains(kmse_last_error_message(), "no encrypted data key for this key"));
    CHECK(pt == NULL);
    kmse_buffer_free(good);
    kmse_keyring_free(missing);
    kmse_keyring_free(alias);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_client_free(c);
    kt_end();
}

static void client_from_environment(void) {
    kmse_aws_kms_client *from_env = NULL, *from_profile = NULL;
    kmse_aws_kms_options *o = NULL;
    kmse_keyring *k = NULL, *by_id = NULL;
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL;
    const char *key_id = strrchr(key2, '/');

    kt_begin("AWS KMS: endpoint, credentials and region from the environment and a profile");
    /* AWS_ENDPOINT_URL_KMS, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */
    CHECK_OK(kmse_aws_kms_client_new(NULL, &from_env));
    k = strict_keyring(from_env, key1);
    CHECK_OK(kmse_encrypt(c, k, NULL, (const uint8_t *)"env", 3, &ct));
    CHECK(edk_is(ct, 0, key1));
    kmse_buffer_free(ct);
    ct = NULL;
    /* The region of profile kmse-test (in AWS_CONFIG_FILE), for a bare key ID. */
    CHECK(key_id != NULL);
    CHECK_OK(kmse_aws_kms_options_new(&o));
    CHECK_OK(kmse_aws_kms_options_set_profile(o, "kmse-test"));
    CHECK_OK(kmse_aws_kms_client_new(o, &from_profile));
    CHECK_OK(kmse_keyring_new_aws_kms(from_profile, key_id + 1, NULL, 0, &by_id));
    CHECK_OK(kmse_encrypt(c, by_id, NULL, (const uint8_t *)"profile", 7, &ct));
    CHECK(edk_is(ct, 0, key2)); /* KMS reports the key ARN */
    {
        int same;
        CHECK(try_decrypt(c, k, ct, "profile", &same) == KMSE_STATUS_NO_KEY_UNWRAPPED);
    }
    kmse_buffer_free(ct);
    kmse_aws_kms_options_free(o);
    kmse_keyring_free(k);
    kmse_keyring_free(by_id);
    kmse_aws_kms_client_free(from_env);
    kmse_aws_kms_client_free(from_profile);
    kmse_client_free(c);
    kt_end();
}

/* ---------------------------------------------------------------- caching */

static kmse_cmm *caching_cmm(const kmse_keyring *keyring, uint64_t max_age_ms,
                             uint64_t max_messages) {
    kmse_caching_options *o = NULL;
    kmse_cmm *cmm = NULL;
    CHECK_OK(kmse_caching_options_new(max_age_ms, &o));
    if (max_messages) CHECK_OK(kmse_caching_options_set_max_messages(o, max_messages));
    CHECK_OK(kmse_cmm_new_caching(keyring, o, &cmm));
    kmse_caching_options_free(o);
    return cmm;
}

/* A client that writes suite 0x0478 (committing, unsigned): fast enough for
 * a thousand messages under valgrind. */
static kmse_client *unsigned_client(void) {
    kmse_client_options *o = NULL;
    kmse_client *c = NULL;
    CHECK_OK(kmse_client_options_new(&o));
    CHECK_OK(kmse_client_options_set_algorithm_suite(o, KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY));
    CHECK_OK(kmse_client_new(o, &c));
    kmse_client_options_free(o);
    return c;
}

static void caching_counts_calls(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_cmm *cmm = caching_cmm(k1, 3600 * 1000, 100);
    kmse_encryption_context *ec = context("purpose", "caching");
    kmse_client *c = unsigned_client();
    kmse_buffer *first = NULL, *last = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    long before, generated, decrypts_before;
    int i, failures = 0;
    unsigned char text[64];

    kt_begin("caching CMM over AWS KMS: 1000 messages, max 100 per data key: 10 GenerateDataKey calls");
    before = kms_calls("GenerateDataKey");
    for (i = 0; i < 1000; i++) {
        kmse_buffer *ct = NULL;
        kt_fill(text, sizeof text, (unsigned)i);
        if (kmse_encrypt_with_cmm(c, cmm, ec, text, sizeof text, &ct) != KMSE_STATUS_OK) {
            if (failures++ == 0) printf("  message %d: %s\n", i, kmse_last_error_message());
            continue;
        }
        if (i == 0) {
            first = ct;
        } else if (i == 999) {
            last = ct;
        } else {
            kmse_buffer_free(ct);
        }
    }
    CHECK(failures == 0);
    generated = kms_calls("GenerateDataKey") - before;
    if (generated != 10) printf("  GenerateDataKey calls: %ld\n", generated);
    CHECK(generated == 10);
    CHECK(first != NULL && last != NULL);
    if (first != NULL && last != NULL) {
        CHECK(!same_edk(first, last));
        /* Decryption materials are cached too: one Decrypt call for two decrypts. */
        decrypts_before = kms_calls("Decrypt");
        kt_fill(text, sizeof text, 999);
        CHECK_OK(kmse_buffer_data(last, &data, &len));
        {
            kmse_buffer *pt = NULL;
            CHECK_OK(kmse_decrypt_with_cmm(c, cmm, ec, data, len, &pt, NULL, NULL));
            CHECK(kt_buffer_equals(pt, text, sizeof text));
            kmse_buffer_free(pt);
            pt = NULL;
            CHECK_OK(kmse_decrypt_with_cmm(c, cmm, ec, data, len, &pt, NULL, NULL));
            CHECK(kt_buffer_equals(pt, text, sizeof text));
            kmse_buffer_free(pt);
        }
        CHECK(kms_calls("Decrypt") - decrypts_before == 1);
    }
    kmse_buffer_free(first);
    kmse_buffer_free(last);
    kmse_cmm_free(cmm);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_encryption_context_free(ec);
    kmse_client_free(c);
    kt_end();
}

static void caching_expires_by_age(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_cmm *cmm = caching_cmm(k1, 2000, 0);
    kmse_client *c = unsigned_client();
    kmse_buffer *a = NULL, *b = NULL, *d = NULL, *warm = NULL;
    long before;

    kt_begin("caching CMM over AWS KMS: a data key older than the maximum age is not reused");
    /* A first call outside the measured span (the client's I/O threads and
     * connection start here). */
    CHECK_OK(kmse_encrypt(c, k1, NULL, (const uint8_t *)"warm", 4, &warm));
    before = kms_calls("GenerateDataKey");
    CHECK_OK(kmse_encrypt_with_cmm(c, cmm, NULL, (const uint8_t *)"a", 1, &a));
    CHECK_OK(kmse_encrypt_with_cmm(c, cmm, NULL, (const uint8_t *)"b", 1, &b));
    CHECK(kms_calls("GenerateDataKey") - before == 1);
    sleep_ms(2200);
    CHECK_OK(kmse_encrypt_with_cmm(c, cmm, NULL, (const uint8_t *)"d", 1, &d));
    CHECK(kms_calls("GenerateDataKey") - before == 2);
    if (a != NULL && b != NULL && d != NULL) {
        CHECK(same_edk(a, b));
        CHECK(!same_edk(b, d));
    }
    kmse_buffer_free(warm);
    kmse_buffer_free(a);
    kmse_buffer_free(b);
    kmse_buffer_free(d);
    kmse_cmm_free(cmm);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_client_free(c);
    kt_end();
}

/* A prefork server: a client made and used in the parent goes on working
 * in a child of fork() (the parent's I/O threads are not there; the child
 * starts its own). It hung for good before. */
static void after_fork(void) {
    kmse_aws_kms_client *kms = moto_client();
    kmse_keyring *k1 = strict_keyring(kms, key1);
    kmse_client *c = kt_client(0);
    kmse_buffer *ct = NULL;
    const char *text = "encrypted before the fork";
    char verdict[4] = {0};
    int status = 0, pipe_fds[2];
    pid_t child;

    kt_begin("AWS KMS: a client used before fork() works in the child");
    CHECK_OK(kmse_encrypt(c, k1, NULL, (const uint8_t *)text, strlen(text), &ct));
    CHECK(pipe(pipe_fds) == 0);
    fflush(NULL);
    child = fork();
    if (child == 0) {
        kmse_buffer *again = NULL;
        int same = 0, same_again = 0, ok;
        /* A stall fails the test: the parent's pooled connections once held
         * the child's first request until its timeout (60 s here). */
        alarm(20);
        ok = kmse_encrypt(c, k1, NULL, (const uint8_t *)text, strlen(text), &again) == KMSE_STATUS_OK &&
             try_decrypt(c, k1, ct, text, &same) == KMSE_STATUS_OK &&
             try_decrypt(c, k1, again, text, &same_again) == KMSE_STATUS_OK && same && same_again;
        if (!ok) fprintf(stderr, "after fork: %s\n", kmse_last_error_message());
        if (write(pipe_fds[1], ok ? "ok" : "no", 2) != 2) ok = 0;
        /* The verdict went through the pipe; the exit status is not read
         * (a leak checker may set it for what the parent's threads, absent
         * here, left behind). */
        _exit(ok ? 0 : 1);
    }
    close(pipe_fds[1]);
    CHECK(child > 0);
    CHECK(read(pipe_fds[0], verdict, 2) == 2);
    close(pipe_fds[0]);
    CHECK(strcmp(verdict, "ok") == 0);
    CHECK(waitpid(child, &status, 0) == child);
    /* The parent's client still works too. */
    CHECK(decrypts(c, k1, ct, text));
    kmse_buffer_free(ct);
    kmse_keyring_free(k1);
    kmse_aws_kms_client_free(kms);
    kmse_client_free(c);
    kt_end();
}

void test_kms(void) {
    arguments();
    unreachable_endpoint();
    kms_code_accessor();
    endpoint = getenv("KMSE_TEST_KMS_ENDPOINT");
    key1 = getenv("KMSE_TEST_KMS_KEY1");
    key2 = getenv("KMSE_TEST_KMS_KEY2");
    recording = getenv("KMSE_TEST_KMS_RECORDING");
    if (endpoint == NULL || key1 == NULL || key2 == NULL || recording == NULL) {
        printf("KMS tests skipped: KMSE_TEST_KMS_ENDPOINT, _KEY1, _KEY2 and _RECORDING are not set "
               "(bindings/c/tests/with-moto.sh sets them)\n");
        return;
    }
    two_keys();
    after_fork();
    discovery();
    wrong_context();
    missing_key();
    client_from_environment();
    caching_counts_calls();
    caching_expires_by_age();
}
