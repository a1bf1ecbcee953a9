/* Preloaded by `make test-c` for wipe-check: when the allocator gets back a
 * block that still holds the check's marker plaintext, moved away by
 * realloc or freed, it says so and ends the process with status 99. Only
 * while KMSE_WIPE_CHECK is set. glibc's own entry points do the work. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_realloc(void *block, size_t size);
extern void __libc_free(void *block);

static const char MARKER[] = "KMSE-WIPE-MARKER";

static int checking(void) {
    static int on = -1;
    if (on < 0) on = getenv("KMSE_WIPE_CHECK") != NULL;
    return on;
}

static int holds_marker(void *block) {
    size_t size;
    if (block == NULL || !checking()) return 0;
    size = malloc_usable_size(block);
    return size >= sizeof MARKER - 1 && memmem(block, size, MARKER, sizeof MARKER - 1) != NULL;
}

static void found(const char *how, size_t size) {
    char line[160];
    int n = snprintf(line, sizeof line,
                     "wipe check: a %zu-byte block holding plaintext went back to the allocator unwiped (%s)\n",
                     size, how);
    if (n > 0) (void)!write(2, line, (size_t)n);
    _exit(99);
}

void *realloc(void *block, size_t size) {
    int marked = holds_marker(block);
    size_t old = block != NULL ? malloc_usable_size(block) : 0;
    void *moved = __libc_realloc(block, size);
    if (marked && moved != NULL && moved != block) found("moved by realloc", old);
    return moved;
}

void free(void *block) {
    if (holds_marker(block)) found("freed", malloc_usable_size(block));
    __libc_free(block);
}
