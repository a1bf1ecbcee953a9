/* Streaming encryption and decryption on caller buffers, with odd input
 * piece sizes and odd output buffer sizes, plus the release rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

/* A growing byte array. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} bytes;

static void bytes_append(bytes *b, const unsigned char *p, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->data = realloc(b->data, b->cap);
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* Streams `in` through an encryptor in pieces of `piece` bytes with an
 * output buffer of `cap` bytes, following the documented protocol. */
static int stream_encrypt(kmse_encryptor *enc, const unsigned char *in, size_t in_len,
                          size_t piece, size_t cap, bytes *out) {
    unsigned char *buf = malloc(cap ? cap : 1);
    size_t pos = 0, written = 0, pending = 0;
    int ok = 1;
    while (ok && pos < in_len) {
        size_t n = in_len - pos < piece ? in_len - pos : piece;
        ok = kmse_encryptor_update(enc, in + pos, n, buf, cap, &written, &pending) == KMSE_STATUS_OK;
        bytes_append(out, buf, written);
        pos += n;
        while (ok && pending > 0) { /* drain with no input */
            ok = kmse_encryptor_update(enc, NULL, 0, buf, cap, &written, &pending) == KMSE_STATUS_OK;
            bytes_append(out, buf, written);
            if (cap == 0) break;
        }
    }
    do {
        ok = ok && kmse_encryptor_finish(enc, buf, cap, &written, &pending) == KMSE_STATUS_OK;
        if (ok) bytes_append(out, buf, written);
    } while (ok && pending > 0 && cap > 0);
    free(buf);
    return ok;
}

static kmse_status stream_decrypt(kmse_decryptor *dec, const unsigned char *in, size_t in_len,
                                  size_t piece, size_t cap, bytes *out) {
    unsigned char *buf = malloc(cap ? cap : 1);
    size_t pos = 0, written = 0, pending = 0;
    kmse_status st = KMSE_STATUS_OK;
    while (st == KMSE_STATUS_OK && pos < in_len) {
        size_t n = in_len - pos < piece ? in_len - pos : piece;
        st = kmse_decryptor_update(dec, in + pos, n, buf, cap, &written, &pending);
        if (st == KMSE_STATUS_OK) bytes_append(out, buf, written);
        pos += n;
        while (st == KMSE_STATUS_OK && pending > 0) {
            st = kmse_decryptor_update(dec, NULL, 0, buf, cap, &written, &pending);
            if (st == KMSE_STATUS_OK) bytes_append(out, buf, written);
        }
    }
    while (st == KMSE_STATUS_OK) {
        st = kmse_decryptor_finish(dec, buf, cap, &written, &pending);
        if (st == KMSE_STATUS_OK) bytes_append(out, buf, written);
        if (pending == 0) break;
    }
    free(buf);
    return st;
}

static void odd_sizes(void) {
    static const size_t pieces[] = {1, 7, 4096, 4097, 100000};
    static const size_t caps[] = {1, 7, 13, 4096, 100000};
    enum { N = 10000 };
    unsigned char *plaintext = malloc(N);
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "stream", 32);
    kmse_client_options *options = NULL;
    kmse_client *client = NULL;
    size_t i;

    kt_fill(plaintext, N, 4);
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_frame_length(options, 1000));
    CHECK_OK(kmse_client_options_set_algorithm_suite(options, KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY));
    CHECK_OK(kmse_client_new(options, &client));
    kmse_client_options_free(options);
    for (i = 0; i < 5; i++) {
        char name[96];
        kmse_encryptor *enc = NULL;
        kmse_decryptor *dec = NULL;
        bytes ct = {0}, pt = {0};
        kmse_buffer *oneshot = NULL;
        uint16_t suite = 0;
        /* Pair each input size with each output size over the five runs. */
        size_t piece = pieces[i], cap = caps[(i * 2 + 1) % 5];

        snprintf(name, sizeof name, "streaming, input pieces of %u, output buffer of %u",
                 (unsigned)piece, (unsigned)cap);
        kt_begin(name);
        CHECK_OK(kmse_encryptor_new(client, keyring, NULL, KMSE_PLAINTEXT_LENGTH_UNKNOWN, &enc));
        CHECK_OK(kmse_encryptor_algorithm_suite(enc, &suite));
        CHECK(suite == 0x0478);
        CHECK(stream_encrypt(enc, plaintext, N, piece, cap, &ct));
        {
            /* The encryptor reports the header it wrote, and its context. */
            kmse_header *written = NULL, *parsed = NULL;
            kmse_encryption_context *context = NULL;
            const uint8_t *id = NULL, *parsed_id = NULL;
            size_t id_len = 0, parsed_id_len = 0, pairs = 1;
            CHECK_OK(kmse_encryptor_header(enc, &written));
            CHECK_OK(kmse_header_parse(ct.data, ct.len, &parsed, NULL));
            CHECK_OK(kmse_header_message_id(written, &id, &id_len));
            CHECK_OK(kmse_header_message_id(parsed, &parsed_id, &parsed_id_len));
            CHECK(id_len == 32 && id_len == parsed_id_len && memcmp(id, parsed_id, id_len) == 0);
            CHECK_OK(kmse_encryptor_encryption_context(enc, &context));
            CHECK_OK(kmse_encryption_context_len(context, &pairs));
            CHECK(pairs == 0);
            kmse_encryption_context_free(context);
            kmse_header_free(parsed);
            kmse_header_free(written);
        }
        /* The streamed message decrypts one-shot ... */
        CHECK_OK(kmse_decrypt(client, keyring, NULL, ct.data, ct.len, &oneshot, NULL, NULL));
        CHECK(kt_buffer_equals(oneshot, plaintext, N));
        /* ... and streaming, with the sizes swapped. */
        CHECK_OK(kmse_decryptor_new(client, keyring, NULL, &dec));
        CHECK_OK(stream_decrypt(dec, ct.data, ct.len, cap, piece, &pt));
        CHECK(pt.len == N && memcmp(pt.data, plaintext, N) == 0);
        kmse_buffer_free(oneshot);
        kmse_encryptor_free(enc);
        kmse_decryptor_free(dec);
        free(ct.data);
        free(pt.data);
        kt_end();
    }
    kmse_client_free(client);
    kmse_keyring_free(keyring);
    free(plaintext);
}

static void zero_capacity_and_pending(void) {
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "stream", 32);
    kmse_client *client = kt_client(0);
    kmse_encryptor *enc = NULL;
    size_t written = 99, pending = 0, total = 0;
    unsigned char buf[64];
    bytes ct = {0};
    kmse_buffer *pt = NULL;

    kt_begin("streaming: a zero-capacity buffer keeps everything pending");
    CHECK_OK(kmse_encryptor_new(client, keyring, NULL, 5, &enc));
    CHECK_OK(kmse_encryptor_update(enc, (const uint8_t *)"hello", 5, NULL, 0, &written, &pending));
    CHECK(written == 0 && pending > 0); /* the header */
    total = pending;
    CHECK_OK(kmse_encryptor_finish(enc, NULL, 0, &written, &pending));
    CHECK(written == 0 && pending > total);
    /* Input after finish is refused and leaves the finished message pending. */
    total = pending;
    CHECK_ERR(kmse_encryptor_update(enc, (const uint8_t *)"more", 4, NULL, 0, &written, &pending),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK(strstr(kmse_last_error_message(), "already finished") != NULL);
    CHECK_OK(kmse_encryptor_update(enc, NULL, 0, NULL, 0, &written, &pending));
    CHECK(written == 0 && pending == total);
    while (pending > 0) {
        CHECK_OK(kmse_encryptor_finish(enc, buf, sizeof buf, &written, &pending));
        bytes_append(&ct, buf, written);
    }
    CHECK_OK(kmse_encryptor_finish(enc, buf, sizeof buf, &written, &pending));
    CHECK(written == 0 && pending == 0);
    CHECK_ERR(kmse_encryptor_update(enc, (const uint8_t *)"more", 4, buf, sizeof buf, &written,
                                    &pending),
              KMSE_STATUS_BAD_ARGUMENT);
    CHECK_OK(kmse_encryptor_finish(enc, buf, sizeof buf, &written, &pending));
    CHECK(written == 0 && pending == 0);
    CHECK_OK(kmse_decrypt(client, keyring, NULL, ct.data, ct.len, &pt, NULL, NULL));
    CHECK(kt_buffer_equals(pt, "hello", 5));
    kmse_buffer_free(pt);
    kmse_encryptor_free(enc);
    free(ct.data);
    kmse_client_free(client);
    kmse_keyring_free(keyring);
    kt_end();
}

static void declared_length(void) {
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "stream", 32);
    kmse_client *client = kt_client(0);
    kmse_encryptor *enc = NULL;
    size_t written = 0, pending = 0;
    unsigned char buf[4096];

    kt_begin("streaming: a declared plaintext length is enforced");
    CHECK_OK(kmse_encryptor_new(client, keyring, NULL, 3, &enc));
    CHECK_ERR(kmse_encryptor_update(enc, (const uint8_t *)"four", 4, buf, sizeof buf, &written,
                                    &pending),
              KMSE_STATUS_BAD_ARGUMENT);
    kmse_encryptor_free(enc);
    enc = NULL;
    CHECK_OK(kmse_encryptor_new(client, keyring, NULL, 3, &enc));
    CHECK_OK(kmse_encryptor_update(enc, (const uint8_t *)"tw", 2, buf, sizeof buf, &written, &pending));
    CHECK_ERR(kmse_encryptor_finish(enc, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_BAD_ARGUMENT);
    kmse_encryptor_free(enc);
    kmse_client_free(client);
    kmse_keyring_free(keyring);
    kt_end();
}

/* Encrypts N bytes in frames of 100 with the default (signed) suite. */
static kmse_buffer *signed_message(const kmse_keyring *keyring, const unsigned char *pt, size_t n) {
    kmse_client_options *options = NULL;
    kmse_client *client = NULL;
    kmse_buffer *ct = NULL;
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_frame_length(options, 100));
    CHECK_OK(kmse_client_new(options, &client));
    CHECK_OK(kmse_encrypt(client, keyring, NULL, pt, n, &ct));
    kmse_client_options_free(options);
    kmse_client_free(client);
    return ct;
}

static void signed_release(void) {
    enum { N = 1000 };
    unsigned char plaintext[N], buf[N + 100];
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "stream", 32);
    kmse_buffer *ct = NULL;
    const uint8_t *data = NULL;
    size_t len = 0, written = 0, pending = 0, got = 0;
    kmse_client_options *options = NULL;
    kmse_client *holding = kt_client(0), *frames = NULL, *unsigned_only = NULL, *tight = NULL;
    kmse_decryptor *dec = NULL;
    kmse_header *header = NULL;
    kmse_encryption_context *ec = NULL;
    bool done = true;

    kt_begin("streaming decrypt of a signed message: held by default, frames on opt-in");
    kt_fill(plaintext, N, 5);
    ct = signed_message(keyring, plaintext, N);
    CHECK_OK(kmse_buffer_data(ct, &data, &len));
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_signed_release(options, KMSE_SIGNED_RELEASE_FRAMES));
    CHECK_OK(kmse_client_new(options, &frames));
    CHECK_OK(kmse_client_options_set_signed_release(options, KMSE_SIGNED_RELEASE_AFTER_SIGNATURE));
    CHECK_OK(kmse_client_options_set_unsigned_only(options, true));
    CHECK_OK(kmse_client_new(options, &unsigned_only));
    CHECK_OK(kmse_client_options_set_unsigned_only(options, false));
    CHECK_OK(kmse_client_options_set_max_buffered_plaintext(options, 500));
    CHECK_OK(kmse_client_new(options, &tight));
    kmse_client_options_free(options);

    /* Default: nothing before the signature, all at the end. */
    CHECK_OK(kmse_decryptor_new(holding, keyring, NULL, &dec));
    CHECK_OK(kmse_decryptor_header(dec, &header));
    CHECK(header == NULL);
    CHECK_OK(kmse_decryptor_update(dec, data, len - 1, buf, sizeof buf, &written, &pending));
    CHECK(written == 0 && pending == 0);
    CHECK_OK(kmse_decryptor_header(dec, &header));
    CHECK(header != NULL);
    CHECK_OK(kmse_decryptor_encryption_context(dec, &ec));
    CHECK(ec != NULL);
    CHECK_OK(kmse_decryptor_is_done(dec, &done));
    CHECK(!done);
    CHECK_OK(kmse_decryptor_update(dec, data + len - 1, 1, buf, sizeof buf, &written, &pending));
    CHECK(written == N && pending == 0 && memcmp(buf, plaintext, N) == 0);
    CHECK_OK(kmse_decryptor_is_done(dec, &done));
    CHECK(done);
    CHECK_OK(kmse_decryptor_finish(dec, buf, sizeof buf, &written, &pending));
    CHECK(written == 0 && pending == 0);
    kmse_decryptor_free(dec);
    kmse_header_free(header);
    kmse_encryption_context_free(ec);

    /* Opt-in: regular frames come out before the signature is checked. */
    CHECK_OK(kmse_decryptor_new(frames, keyring, NULL, &dec));
    CHECK_OK(kmse_decryptor_update(dec, data, len - 1, buf, sizeof buf, &written, &pending));
    CHECK(written == 900 && memcmp(buf, plaintext, 900) == 0); /* all but the final frame */
    got = written;
    CHECK_OK(kmse_decryptor_update(dec, data + len - 1, 1, buf + got, sizeof buf - got, &written,
                                   &pending));
    CHECK(got + written == N && memcmp(buf, plaintext, N) == 0);
    CHECK_OK(kmse_decryptor_finish(dec, NULL, 0, &written, &pending));
    kmse_decryptor_free(dec);

    /* unsigned_only refuses it at the header; a small hold limit fails too. */
    CHECK_OK(kmse_decryptor_new(unsigned_only, keyring, NULL, &dec));
    CHECK_ERR(kmse_decryptor_update(dec, data, len, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_POLICY_VIOLATION);
    kmse_decryptor_free(dec);
    CHECK_OK(kmse_decryptor_new(tight, keyring, NULL, &dec));
    CHECK_ERR(kmse_decryptor_update(dec, data, len, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_POLICY_VIOLATION);
    kmse_decryptor_free(dec);

    kmse_client_free(holding);
    kmse_client_free(frames);
    kmse_client_free(unsigned_only);
    kmse_client_free(tight);
    kmse_buffer_free(ct);
    kmse_keyring_free(keyring);
    kt_end();
}

static void stream_failures(void) {
    enum { N = 3000 };
    unsigned char plaintext[N], buf[N];
    kmse_keyring *keyring = kt_aes_keyring("c-tests", "stream", 32);
    kmse_keyring *wrong = kt_aes_keyring("c-tests", "other", 32);
    kmse_cmm *cmm = NULL;
    kmse_client_options *options = NULL;
    kmse_client *client = NULL;
    kmse_buffer *ct = NULL;
    kmse_decryptor *dec = NULL;
    kmse_encryptor *enc = NULL;
    const uint8_t *data = NULL;
    size_t len = 0, written = 0, pending = 0;
    bytes out = {0};

    kt_begin("streaming decrypt failures: truncated, trailing bytes, wrong key, tampered");
    kt_fill(plaintext, N, 6);
    CHECK_OK(kmse_client_options_new(&options));
    CHECK_OK(kmse_client_options_set_algorithm_suite(options, KMSE_ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY));
    CHECK_OK(kmse_client_options_set_frame_length(options, 512));
    CHECK_OK(kmse_client_new(options, &client));
    kmse_client_options_free(options);
    CHECK_OK(kmse_cmm_new_default(keyring, &cmm));
    /* Write with the CMM variant of the encryptor. */
    CHECK_OK(kmse_encryptor_new_with_cmm(client, cmm, NULL, N, &enc));
    CHECK(stream_encrypt(enc, plaintext, N, 777, 333, &out));
    kmse_encryptor_free(enc);
    CHECK_OK(kmse_encrypt(client, keyring, NULL, plaintext, N, &ct));
    CHECK_OK(kmse_buffer_data(ct, &data, &len));

    /* Truncated: unsigned frames come out, but finish fails. */
    CHECK_OK(kmse_decryptor_new_with_cmm(client, cmm, NULL, &dec));
    CHECK_OK(kmse_decryptor_update(dec, out.data, out.len - 10, buf, sizeof buf, &written, &pending));
    CHECK(written > 0 && memcmp(buf, plaintext, written) == 0);
    CHECK_ERR(kmse_decryptor_finish(dec, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_MALFORMED_MESSAGE);
    CHECK_ERR(kmse_decryptor_update(dec, NULL, 0, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_BAD_ARGUMENT);
    kmse_decryptor_free(dec);

    /* Bytes after the message. */
    CHECK_OK(kmse_decryptor_new(client, keyring, NULL, &dec));
    CHECK_OK(kmse_decryptor_update(dec, data, len, buf, sizeof buf, &written, &pending));
    CHECK_ERR(kmse_decryptor_update(dec, (const uint8_t *)"x", 1, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_MALFORMED_MESSAGE);
    kmse_decryptor_free(dec);

    /* Wrong key: at the header. */
    CHECK_OK(kmse_decryptor_new(client, wrong, NULL, &dec));
    CHECK_ERR(kmse_decryptor_update(dec, data, len, buf, sizeof buf, &written, &pending),
              KMSE_STATUS_NO_KEY_UNWRAPPED);
    kmse_decryptor_free(dec);

    /* Tampered last frame: earlier frames were released, this one fails. */
    {
        unsigned char *tampered = malloc(len);
        memcpy(tampered, data, len);
        tampered[len - 20] ^= 0x80;
        CHECK_OK(kmse_decryptor_new(client, keyring, NULL, &dec));
        CHECK_ERR(kmse_decryptor_update(dec, tampered, len, buf, sizeof buf, &written, &pending),
                  KMSE_STATUS_AUTHENTICATION_FAILED);
        kmse_decryptor_free(dec);
        free(tampered);
    }

    free(out.data);
    kmse_buffer_free(ct);
    kmse_cmm_free(cmm);
    kmse_client_free(client);
    kmse_keyring_free(keyring);
    kmse_keyring_free(wrong);
    kt_end();
}

void test_streaming(void) {
    odd_sizes();
    zero_capacity_and_pending();
    declared_length();
    signed_release();
    stream_failures();
}
