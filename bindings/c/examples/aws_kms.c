/* kms-envelope from C with AWS KMS: encrypt under a KMS key, decrypt with
 * the same key and with a discovery keyring limited to the key's account,
 * and reuse data keys with a caching CMM.
 *
 * Build:  cc aws_kms.c $(pkg-config --cflags --libs kms_envelope)
 * Run:    ./aws_kms arn:aws:kms:us-east-1:111122223333:key/...
 *         (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
 *         AWS_PROFILE, the region from the key ARN), or against a local
 *         server with the KMS API (moto, LocalStack):
 *         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
 *           ./aws_kms arn:aws:kms:us-east-1:123456789012:key/... http://127.0.0.1:4566 */
#include <stdio.h>
#include <string.h>

#include <kms_envelope.h>

#define TRY(call)                                                                    \
    do {                                                                             \
        kmse_status status_ = (call);                                                \
        if (status_ != KMSE_STATUS_OK) {                                             \
            fprintf(stderr, "%s: %s\n", kmse_status_name(status_),                   \
                    kmse_last_error_message());                                      \
            if (status_ == KMSE_STATUS_KMS_ERROR)                                    \
                fprintf(stderr, "KMS error code: %s\n", kmse_last_error_kms_code()); \
            goto done;                                                               \
        }                                                                            \
    } while (0)

/* The account ID of a key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID). */
static int account_of(const char *arn, char *out, size_t cap) {
    const char *p = arn, *end;
    int field;
    for (field = 0; field < 4; field++) {
        p = strchr(p, ':');
        if (p == NULL) return 0;
        p++;
    }
    end = strchr(p, ':');
    if (end == NULL || (size_t)(end - p) >= cap) return 0;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 1;
}

int main(int argc, char **argv) {
    const char *secret = "attack at dawn";
    const char *key_arn, *accounts[1];
    char account[32];
    kmse_aws_kms_options *kms_options = NULL;
    kmse_aws_kms_client *kms = NULL;
    kmse_keyring *keyring = NULL, *discovery = NULL;
    kmse_caching_options *cache_options = NULL;
    kmse_cmm *cache = NULL;
    kmse_client *client = NULL;
    kmse_encryption_context *context = NULL;
    kmse_buffer *ciphertext = NULL, *plaintext = NULL, *again = NULL;
    const uint8_t *data;
    size_t len;
    int i, ok, rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s KEY_ARN [ENDPOINT_URL]\n", argv[0]);
        return 2;
    }
    key_arn = argv[1];
    if (!account_of(key_arn, account, sizeof account)) {
        fprintf(stderr, "not a key ARN: %s\n", key_arn);
        return 2;
    }
    accounts[0] = account;

    /* One KMS client for all keyrings: credentials, region and endpoint as
     * the AWS SDKs find them, unless set here. */
    TRY(kmse_aws_kms_options_new(&kms_options));
    if (argc == 3) TRY(kmse_aws_kms_options_set_endpoint(kms_options, argv[2]));
    TRY(kmse_aws_kms_options_set_timeout_ms(kms_options, 10000));
    TRY(kmse_aws_kms_client_new(kms_options, &kms));

    TRY(kmse_client_new(NULL, &client));
    TRY(kmse_keyring_new_aws_kms(kms, key_arn, NULL, 0, &keyring));
    TRY(kmse_encryption_context_new(&context));
    TRY(kmse_encryption_context_set(context, "purpose", "example"));

    TRY(kmse_encrypt(client, keyring, context, (const uint8_t *)secret, strlen(secret),
                     &ciphertext));
    TRY(kmse_buffer_data(ciphertext, &data, &len));
    printf("encrypted under %s: %u bytes\n", key_arn, (unsigned)len);

    TRY(kmse_decrypt(client, keyring, context, data, len, &plaintext, NULL, NULL));
    kmse_buffer_free(plaintext);
    plaintext = NULL;

    /* Discovery: any key the message names, only in this account. */
    TRY(kmse_keyring_new_aws_kms_discovery(kms, "aws", accounts, 1, NULL, 0, &discovery));
    TRY(kmse_decrypt(client, discovery, context, data, len, &plaintext, NULL, NULL));
    TRY(kmse_buffer_data(plaintext, &data, &len));
    printf("decrypted by discovery: %.*s\n", (int)len, (const char *)data);
    ok = len == strlen(secret) && memcmp(data, secret, len) == 0;

    /* Caching: ten messages, one GenerateDataKey call (a data key serves
     * at most 5 minutes and 1000 messages here). */
    TRY(kmse_caching_options_new(5 * 60 * 1000, &cache_options));
    TRY(kmse_caching_options_set_max_messages(cache_options, 1000));
    TRY(kmse_cmm_new_caching(keyring, cache_options, &cache));
    for (i = 0; i < 10; i++) {
        TRY(kmse_encrypt_with_cmm(client, cache, context, (const uint8_t *)secret,
                                  strlen(secret), &again));
        kmse_buffer_free(again);
        again = NULL;
    }
    printf("encrypted 10 more messages with one cached data key\n");
    rc = ok ? 0 : 1;

done:
    kmse_buffer_free(again);
    kmse_buffer_free(plaintext);
    kmse_buffer_free(ciphertext);
    kmse_encryption_context_free(context);
    kmse_cmm_free(cache);
    kmse_caching_options_free(cache_options);
    kmse_keyring_free(discovery);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    kmse_aws_kms_client_free(kms);
    kmse_aws_kms_options_free(kms_options);
    return rc;
}
