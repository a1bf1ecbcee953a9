/* wipe-check: streams and one-shot calls over plaintext made of a marker,
 * run with shim.c preloaded, which fails the process if a block holding
 * the marker goes back to the allocator unwiped. The plaintext buffers of
 * this program are wiped before they are freed, as a careful caller would. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_envelope.h"

static const char MARKER[] = "KMSE-WIPE-MARKER";

static void must(kmse_status status, const char *what) {
    if (status != KMSE_STATUS_OK) {
        fprintf(stderr, "wipe check: %s: %s: %s\n", what, kmse_status_name(status), kmse_last_error_message());
        exit(1);
    }
}

static unsigned char *marked(size_t len) {
    unsigned char *p = malloc(len);
    size_t i;
    if (p == NULL) exit(1);
    for (i = 0; i < len; i++) p[i] = (unsigned char)MARKER[i % (sizeof MARKER - 1)];
    return p;
}

static void wipe_free(unsigned char *p, size_t len) {
    if (p != NULL) explicit_bzero(p, len);
    free(p);
}

/* Streams `plaintext` through an encryptor in `piece`-byte pieces, then the
 * message through a decryptor in `piece`-byte pieces, reading out 7 bytes
 * at a time so that output queues up; checks the round trip. */
static void stream_round_trip(const kmse_client *client, const kmse_keyring *keyring,
                              const unsigned char *plaintext, size_t len, size_t piece) {
    kmse_encryptor *enc = NULL;
    kmse_decryptor *dec = NULL;
    size_t cap = len * 2 + 65536, ct_len = 0, pt_len = 0, at, n, out, pending;
    unsigned char *ct = malloc(cap), *pt = malloc(len + 1);
    if (ct == NULL || pt == NULL) exit(1);
    must(kmse_encryptor_new(client, keyring, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, &enc), "encryptor");
    for (at = 0; at < len; at += n) {
        n = len - at < piece ? len - at : piece;
        must(kmse_encryptor_update(enc, plaintext + at, n, ct + ct_len, cap - ct_len, &out, &pending), "encrypt");
        ct_len += out;
    }
    do {
        must(kmse_encryptor_finish(enc, ct + ct_len, cap - ct_len, &out, &pending), "encrypt finish");
        ct_len += out;
    } while (pending > 0);
    kmse_encryptor_free(enc);

    must(kmse_decryptor_new(client, keyring, NULL, &dec), "decryptor");
    for (at = 0; at < ct_len; at += n) {
        n = ct_len - at < piece ? ct_len - at : piece;
        must(kmse_decryptor_update(dec, ct + at, n, pt + pt_len, pt_len + 7 <= len ? 7 : len - pt_len, &out, &pending),
             "decrypt");
        pt_len += out;
    }
    do {
        must(kmse_decryptor_finish(dec, pt + pt_len, len - pt_len, &out, &pending), "decrypt finish");
        pt_len += out;
    } while (pending > 0 && pt_len < len);
    kmse_decryptor_free(dec);
    if (pt_len != len || memcmp(pt, plaintext, len) != 0) {
        fprintf(stderr, "wipe check: the stream did not round-trip\n");
        exit(1);
    }
    free(ct);
    wipe_free(pt, len + 1);
}

int main(void) {
    static const uint8_t key[32] = {7};
    const uint16_t suites[] = {0x0478, 0x0578};
    const size_t len = 1600000; /* past the encryptor's first 1 MiB */
    unsigned char *plaintext = marked(len);
    kmse_keyring *keyring = NULL;
    kmse_buffer *ct = NULL, *pt = NULL;
    const uint8_t *data = NULL;
    size_t data_len = 0, i;
    must(kmse_keyring_new_raw_aes("wipe", "check", key, sizeof key, &keyring), "keyring");
    for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        kmse_client_options *options = NULL;
        kmse_client *client = NULL;
        must(kmse_client_options_new(&options), "options");
        must(kmse_client_options_set_algorithm_suite(options, suites[i]), "suite");
        /* Frames past the encryptor's first reservation (1 MiB) grow its buffer. */
        must(kmse_client_options_set_frame_length(options, 2 << 20), "frame length");
        must(kmse_client_new(options, &client), "client");
        kmse_client_options_free(options);
        stream_round_trip(client, keyring, plaintext, len, 4096);
        kmse_client_free(client);

        must(kmse_client_options_new(&options), "options");
        must(kmse_client_options_set_algorithm_suite(options, suites[i]), "suite");
        must(kmse_client_options_set_frame_length(options, 1024), "frame length");
        must(kmse_client_new(options, &client), "client");
        kmse_client_options_free(options);
        stream_round_trip(client, keyring, plaintext, len, 3000);
        must(kmse_encrypt(client, keyring, NULL, plaintext, len, &ct), "one-shot encrypt");
        must(kmse_buffer_data(ct, &data, &data_len), "data");
        must(kmse_decrypt(client, keyring, NULL, data, data_len, &pt, NULL, NULL), "one-shot decrypt");
        kmse_buffer_free(pt);
        kmse_buffer_free(ct);
        kmse_client_free(client);
    }
    kmse_keyring_free(keyring);
    wipe_free(plaintext, len);
    printf("wipe check: no block held plaintext when the allocator got it back\n");
    return 0;
}
