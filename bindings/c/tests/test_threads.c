/* Use from two threads at once: one keyring (raw AES and a custom C
 * keyring), one CMM and one client shared by both threads; each thread has
 * its own streams and its own last error message. */
#include <pthread.h>
#include <string.h>

#include "kmse_test.h"

#define ITERATIONS 25

typedef struct {
    pthread_mutex_t lock; /* the callbacks may run on both threads at once */
    int calls;
} counting_kms;

static int counting_on_encrypt(void *user_data, kmse_encryption_materials *m) {
    counting_kms *kms = user_data;
    const uint8_t *key = NULL;
    size_t len = 0;
    pthread_mutex_lock(&kms->lock);
    kms->calls++;
    pthread_mutex_unlock(&kms->lock);
    if (kmse_encryption_materials_generate_data_key(m) != KMSE_STATUS_OK ||
        kmse_encryption_materials_data_key(m, &key, &len) != KMSE_STATUS_OK)
        return KMSE_STATUS_BAD_ARGUMENT;
    /* Stores the key in the clear: a test keyring only. */
    return kmse_encryption_materials_add_encrypted_data_key(m, "counting", NULL, 0, key, len);
}

static int counting_on_decrypt(void *user_data, kmse_decryption_materials *m,
                               const kmse_encrypted_data_keys *edks) {
    counting_kms *kms = user_data;
    kmse_encrypted_data_key edk;
    pthread_mutex_lock(&kms->lock);
    kms->calls++;
    pthread_mutex_unlock(&kms->lock);
    if (kmse_encrypted_data_keys_get(edks, 0, &edk) != KMSE_STATUS_OK ||
        strcmp(edk.provider_id, "counting") != 0) {
        kmse_decryption_materials_set_error(m, NULL, "no counting EDK");
        return KMSE_STATUS_NO_KEY_UNWRAPPED;
    }
    return kmse_decryption_materials_set_data_key(m, edk.ciphertext, edk.ciphertext_len);
}

typedef struct {
    const kmse_client *client;
    const kmse_keyring *aes;
    const kmse_keyring *custom;
    const kmse_cmm *cmm;
    unsigned seed;
} shared;

static void *worker(void *arg) {
    const shared *s = arg;
    int i;
    for (i = 0; i < ITERATIONS; i++) {
        unsigned char plaintext[3000], out[4096];
        const kmse_keyring *keyring = (i % 2) ? s->custom : s->aes;
        kmse_buffer *ct = NULL, *pt = NULL;
        kmse_decryptor *dec = NULL;
        const uint8_t *data = NULL;
        size_t len = 0, written = 0, pending = 0, got = 0, pos;

        kt_fill(plaintext, sizeof plaintext, s->seed + (unsigned)i);
        CHECK_OK(kmse_encrypt(s->client, keyring, NULL, plaintext, sizeof plaintext, &ct));
        CHECK_OK(kmse_buffer_data(ct, &data, &len));
        CHECK_OK(kmse_decrypt(s->client, keyring, NULL, data, len, &pt, NULL, NULL));
        CHECK(kt_buffer_equals(pt, plaintext, sizeof plaintext));
        kmse_buffer_free(pt);
        pt = NULL;
        /* The shared CMM, in a stream of this thread's own. */
        if (keyring == s->aes) {
            CHECK_OK(kmse_decryptor_new_with_cmm(s->client, s->cmm, NULL, &dec));
            for (pos = 0; pos < len; pos += 501) {
                size_t n = len - pos < 501 ? len - pos : 501;
                CHECK_OK(kmse_decryptor_update(dec, data + pos, n, out + got, sizeof out - got,
                                               &written, &pending));
                got += written;
            }
            CHECK_OK(kmse_decryptor_finish(dec, out + got, sizeof out - got, &written, &pending));
            got += written;
            CHECK(got == sizeof plaintext && memcmp(out, plaintext, got) == 0);
            kmse_decryptor_free(dec);
        }
        /* A failure on this thread sets this thread's message only. */
        CHECK_ERR(kmse_decrypt(s->client, keyring, NULL, data, len / 2, &pt, NULL, NULL),
                  KMSE_STATUS_MALFORMED_MESSAGE);
        CHECK(strncmp(kmse_last_error_message(), "kmse_decrypt: ", 14) == 0);
        kmse_buffer_free(ct);
    }
    return NULL;
}

void test_threads(void) {
    counting_kms kms;
    kmse_keyring *aes = kt_aes_keyring("c-tests", "threads", 32), *custom = NULL;
    kmse_cmm *cmm = NULL;
    kmse_client *client = kt_client(0);
    shared a, b;
    pthread_t ta, tb;

    kt_begin("two threads share one client, keyrings and CMM");
    pthread_mutex_init(&kms.lock, NULL);
    kms.calls = 0;
    CHECK_OK(kmse_keyring_new_custom(counting_on_encrypt, counting_on_decrypt, &kms, NULL, &custom));
    CHECK_OK(kmse_cmm_new_default(aes, &cmm));
    a.client = b.client = client;
    a.aes = b.aes = aes;
    a.custom = b.custom = custom;
    a.cmm = b.cmm = cmm;
    a.seed = 100;
    b.seed = 200;
    CHECK(pthread_create(&ta, NULL, worker, &a) == 0);
    CHECK(pthread_create(&tb, NULL, worker, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* Each thread: 12 custom iterations of an encrypt, a decrypt and a
     * truncated decrypt (which unwraps, then fails). */
    CHECK(kms.calls == 2 * 3 * (ITERATIONS / 2));
    kmse_cmm_free(cmm);
    kmse_keyring_free(custom);
    kmse_keyring_free(aes);
    kmse_client_free(client);
    pthread_mutex_destroy(&kms.lock);
    kt_end();
}
