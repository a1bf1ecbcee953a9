/* Runs every C test of the kms-envelope C API.
 * Usage: kmse-tests VECTORS_DIR   (the folder shared/vectors/esdk)
 * The AWS KMS tests need a moto_server: run the binary through
 * bindings/c/tests/with-moto.sh (as `make test-c` does), else they are
 * skipped with a note.
 * Prints failures, then "N passed, M failed"; KMSE_TEST_VERBOSE=1 also
 * names the cases that pass. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmse_test.h"

const char *kt_vectors_dir;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int passed, failed, verbose;
/* The case in progress is per thread only in test_threads, which checks
 * from workers inside one case: failures are counted there too. */
static const char *current;
static int current_failed;

void kt_begin(const char *name) {
    current = name;
    current_failed = 0;
}

void kt_end(void) {
    pthread_mutex_lock(&lock);
    if (current_failed) {
        failed++;
        printf("FAIL %s\n", current);
    } else {
        passed++;
        if (verbose) printf("ok   %s\n", current);
    }
    current = NULL;
    pthread_mutex_unlock(&lock);
}

static void fail(const char *file, int line, const char *what, const char *detail) {
    pthread_mutex_lock(&lock);
    current_failed = 1;
    printf("  %s:%d: %s: %s\n", file, line, what, detail);
    pthread_mutex_unlock(&lock);
}

void kt_check(int ok, const char *file, int line, const char *what) {
    if (!ok) fail(file, line, what, "check failed");
}

void kt_check_status(kmse_status got, kmse_status want, const char *file, int line,
                     const char *what) {
    const char *message = kmse_last_error_message();
    char detail[1024];
    if (message == NULL) {
        fail(file, line, what, "kmse_last_error_message() returned NULL");
    } else if (got != want) {
        snprintf(detail, sizeof detail, "got %s, want %s (message: %s)", kmse_status_name(got),
                 kmse_status_name(want), message);
        fail(file, line, what, detail);
    } else if (want == KMSE_STATUS_OK && message[0] != '\0') {
        snprintf(detail, sizeof detail, "succeeded but left the message \"%s\"", message);
        fail(file, line, what, detail);
    } else if (want != KMSE_STATUS_OK && message[0] == '\0') {
        fail(file, line, what, "failed without a message");
    }
}

void kt_check_null(kmse_status got, const char *arg, const char *file, int line,
                   const char *what) {
    char quoted[128];
    kt_check_status(got, KMSE_STATUS_NULL_ARGUMENT, file, line, what);
    snprintf(quoted, sizeof quoted, "`%s`", arg);
    if (got == KMSE_STATUS_NULL_ARGUMENT && strstr(kmse_last_error_message(), quoted) == NULL)
        fail(file, line, what, "the message does not name the argument");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
        return 2;
    }
    kt_vectors_dir = argv[1];
    verbose = getenv("KMSE_TEST_VERBOSE") != NULL;
    printf("kms-envelope %s, C tests\n", kmse_version());
    test_arguments();
    test_roundtrip();
    test_custom_keyring();
    test_streaming();
    test_vectors();
    test_threads();
    test_caching();
    test_kms();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
