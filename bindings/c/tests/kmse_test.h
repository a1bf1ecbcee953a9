/* A tiny test harness for the kms-envelope C API: plain C99, no framework.
 *
 * A test case is the span between kt_begin() and kt_end(); it fails if any
 * CHECK in it fails. main() prints one closing line: "N passed, M failed". */
#ifndef KMSE_TEST_H
#define KMSE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <kms_envelope.h>

/* Folder of the official ESDK vectors (argv[1]). */
extern const char *kt_vectors_dir;

void kt_begin(const char *name);
void kt_end(void);
void kt_check(int ok, const char *file, int line, const char *what);
/* Checks that `got` is `want`, and that kmse_last_error_message() is "" for
 * KMSE_STATUS_OK and a non-empty message otherwise. */
void kt_check_status(kmse_status got, kmse_status want, const char *file, int line,
                     const char *what);
/* As kt_check_status, and the message names the argument `arg`. */
void kt_check_null(kmse_status got, const char *arg, const char *file, int line,
                   const char *what);

#define CHECK(cond) kt_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_OK(expr) kt_check_status((expr), KMSE_STATUS_OK, __FILE__, __LINE__, #expr)
#define CHECK_ERR(expr, want) kt_check_status((expr), (want), __FILE__, __LINE__, #expr)
#define CHECK_NULL(expr, arg) kt_check_null((expr), (arg), __FILE__, __LINE__, #expr)

/* Helpers (util.c). */
unsigned char *kt_read_file(const char *path, size_t *len); /* malloc'd; NULL on error */
unsigned char *kt_base64_decode(const char *text, size_t *len); /* malloc'd; NULL on error */
/* The JSON string value of the first "key" at or after `from` (before `end`
 * if not NULL), unescaped and malloc'd; NULL if absent. *after, if given,
 * receives the position after the value. */
char *kt_json_string(const char *from, const char *end, const char *key, const char **after);
/* The test wrapping key of the ESDK vectors: bytes 00 01 .. 09 10 11 .. */
void kt_vector_aes_key(unsigned char *key, size_t len);
kmse_keyring *kt_aes_keyring(const char *ns, const char *name, size_t key_len);
kmse_client *kt_client(int policy); /* 0: defaults */
/* Whether a buffer holds exactly `len` bytes equal to `data`. */
int kt_buffer_equals(const kmse_buffer *buffer, const void *data, size_t len);
void kt_fill(unsigned char *data, size_t len, unsigned seed);

/* The test groups. */
void test_roundtrip(void);
void test_vectors(void);
void test_custom_keyring(void);
void test_streaming(void);
void test_arguments(void);
void test_threads(void);
void test_caching(void);
void test_kms(void); /* against moto_server when with-moto.sh describes one */

#endif
