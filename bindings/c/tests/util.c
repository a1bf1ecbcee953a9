/* Helpers shared by the C tests: files, base64, a minimal JSON string
 * reader (enough for the vector manifests), keyrings and buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

unsigned char *kt_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t cap = 0, n = 0, got;
    if (f == NULL) return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *bigger;
            cap = cap ? cap * 2 : 65536;
            bigger = realloc(data, cap + 1);
            if (bigger == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = bigger;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    data[n] = 0; /* so text files are also C strings */
    *len = n;
    return data;
}

static int b64_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

unsigned char *kt_base64_decode(const char *text, size_t *len) {
    size_t in = strlen(text), n = 0;
    unsigned char *out = malloc(in / 4 * 3 + 3);
    unsigned bits = 0;
    int nbits = 0;
    const char *p;
    if (out == NULL) return NULL;
    for (p = text; *p && *p != '='; p++) {
        int v = b64_value((unsigned char)*p);
        if (v < 0) {
            free(out);
            return NULL;
        }
        bits = (bits << 6) | (unsigned)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[n++] = (unsigned char)(bits >> nbits);
        }
    }
    *len = n;
    return out;
}

char *kt_json_string(const char *from, const char *end, const char *key, const char **after) {
    size_t klen = strlen(key);
    const char *p = from;
    for (;;) {
        const char *q;
        char *out, *o;
        p = strstr(p, "\"");
        if (p == NULL || (end != NULL && p >= end)) return NULL;
        if (strncmp(p + 1, key, klen) != 0 || p[1 + klen] != '"') {
            /* Skip this whole string, so keys are not matched inside values. */
            for (q = p + 1; *q && *q != '"'; q++)
                if (*q == '\\' && q[1]) q++;
            if (*q == '\0') return NULL;
            p = q + 1;
            continue;
        }
        q = p + 2 + klen;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
        if (*q != ':') {
            p = q;
            continue;
        }
        q++;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
        if (*q != '"') return NULL; /* not a string value */
        q++;
        out = malloc(strlen(q) + 1);
        if (out == NULL) return NULL;
        for (o = out; *q && *q != '"'; q++) {
            if (*q == '\\') {
                q++;
                switch (*q) {
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u': /* ASCII only: enough for these files */
                    *o++ = (char)strtol((char[]){q[1], q[2], q[3], q[4], 0}, NULL, 16);
                    q += 4;
                    break;
                default: *o++ = *q; break; /* \" \\ \/ */
                }
            } else {
                *o++ = *q;
            }
        }
        *o = '\0';
        if (after) *after = *q ? q + 1 : q;
        return out;
    }
}

void kt_vector_aes_key(unsigned char *key, size_t len) {
    size_t i;
    for (i = 0; i < len; i++) key[i] = (unsigned char)(((i / 10) << 4) | (i % 10));
}

kmse_keyring *kt_aes_keyring(const char *ns, const char *name, size_t key_len) {
    unsigned char key[32];
    kmse_keyring *keyring = NULL;
    kt_vector_aes_key(key, sizeof key);
    CHECK_OK(kmse_keyring_new_raw_aes(ns, name, key, key_len, &keyring));
    return keyring;
}

kmse_client *kt_client(int policy) {
    kmse_client_options *options = NULL;
    kmse_client *client = NULL;
    CHECK_OK(kmse_client_options_new(&options));
    if (policy != 0) CHECK_OK(kmse_client_options_set_commitment_policy(options, policy));
    CHECK_OK(kmse_client_new(options, &client));
    kmse_client_options_free(options);
    return client;
}

int kt_buffer_equals(const kmse_buffer *buffer, const void *data, size_t len) {
    const uint8_t *p = NULL;
    size_t n = 0;
    if (kmse_buffer_data(buffer, &p, &n) != KMSE_STATUS_OK) return 0;
    return n == len && (len == 0 || memcmp(p, data, len) == 0);
}

void kt_fill(unsigned char *data, size_t len, unsigned seed) {
    size_t i;
    unsigned x = seed * 2654435761u + 1;
    for (i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
}
