/* kms-envelope from C: encrypt a message under a raw AES key with an
 * encryption context, look at the header, decrypt it again.
 *
 * Build:  cc encrypt_decrypt.c $(pkg-config --cflags --libs kms_envelope) */
#include <stdio.h>
#include <string.h>

#include <kms_envelope.h>

/* On failure: print the library's message and clean up. */
#define TRY(call)                                                                    \
    do {                                                                             \
        kmse_status status_ = (call);                                                \
        if (status_ != KMSE_STATUS_OK) {                                             \
            fprintf(stderr, "%s: %s\n", kmse_status_name(status_),                   \
                    kmse_last_error_message());                                      \
            goto done;                                                               \
        }                                                                            \
    } while (0)

int main(void) {
    /* A demo key: real programs load theirs from a key store, or use a custom
     * keyring (kmse_keyring_new_custom) that calls their KMS. */
    static const uint8_t key[32] = "an-example-32-byte-wrapping-key";
    const char *secret = "attack at dawn";
    kmse_client *client = NULL;
    kmse_keyring *keyring = NULL;
    kmse_encryption_context *context = NULL;
    kmse_buffer *ciphertext = NULL, *plaintext = NULL;
    kmse_header *header = NULL;
    const uint8_t *data;
    size_t len;
    uint16_t suite;
    int rc = 1;

    TRY(kmse_client_new(NULL, &client)); /* defaults: suite 0x0578, commitment required */
    TRY(kmse_keyring_new_raw_aes("my-app", "key-2026", key, sizeof key, &keyring));
    TRY(kmse_encryption_context_new(&context));
    TRY(kmse_encryption_context_set(context, "tenant", "acme"));

    TRY(kmse_encrypt(client, keyring, context, (const uint8_t *)secret, strlen(secret),
                     &ciphertext));
    TRY(kmse_buffer_data(ciphertext, &data, &len));
    TRY(kmse_header_parse(data, len, &header, NULL));
    TRY(kmse_header_algorithm_suite(header, &suite));
    printf("encrypted %u bytes into a %u-byte message, suite 0x%04X\n",
           (unsigned)strlen(secret), (unsigned)len, suite);

    /* Decrypt, expecting the same context; the plaintext buffer is ours to free. */
    TRY(kmse_decrypt(client, keyring, context, data, len, &plaintext, NULL, NULL));
    TRY(kmse_buffer_data(plaintext, &data, &len));
    printf("decrypted: %.*s\n", (int)len, (const char *)data);
    rc = len == strlen(secret) && memcmp(data, secret, len) == 0 ? 0 : 1;

done:
    kmse_buffer_free(plaintext);
    kmse_header_free(header);
    kmse_buffer_free(ciphertext);
    kmse_encryption_context_free(context);
    kmse_keyring_free(keyring);
    kmse_client_free(client);
    return rc;
}
