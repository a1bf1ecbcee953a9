/* What a reader's program is assumed to have when it reaches a ```c block of
 * README.md or docs/c.md: the headers, and the variables and functions the
 * blocks use without declaring them. check.py compiles each block after
 * this file (gcc -include), so a block that calls a function the header
 * lacks, with the wrong number or types of arguments, fails `make test-c`.
 *
 * Declare here only what a reader supplies (or got from an earlier block).
 * A block may declare the same name itself: its declaration shadows this
 * one. Nothing here is defined: the blocks are compiled, not linked. */
#ifndef KMSE_DOC_PREAMBLE_H
#define KMSE_DOC_PREAMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kms_envelope.h>

/* The application's data: a 32-byte AES key, RSA keys (PEM or DER), a
 * plaintext `msg` to encrypt and a message `data` to decrypt. `len` and
 * `n` are lengths (of `msg` or `data`; `n` also what fread returned). */
extern const uint8_t *key;
extern const uint8_t *public_pem, *private_pem;
extern size_t public_len, private_len;
extern const uint8_t *msg, *data;
extern size_t msg_len, len, n;

/* Objects made in earlier blocks. */
extern kmse_client *client;
extern kmse_encryption_context *ec;
extern kmse_keyring *keyring, *kms_keyring, *aes, *rsa, *multi, *discovery;
extern kmse_cmm *plain, *cmm;
extern kmse_aws_kms_client *kms;
extern kmse_buffer *ct, *pt;

/* A loop counter. */
extern int i;

/* Streaming: the caller's buffers and files. */
extern uint8_t in[65536], out[65536];
extern size_t written;
extern FILE *src, *dst;

/* A custom keyring's own KMS (docs/c.md, "Keyrings"). */
extern void *my_state;
void my_state_free(void *state);
extern const uint8_t *key_id;
extern size_t key_id_len;
bool my_kms_encrypt(void *state, const uint8_t *key, size_t key_len, uint8_t *wrapped,
                    size_t *wrapped_len);
bool my_kms_decrypt(void *state, const uint8_t *wrapped, size_t wrapped_len, uint8_t *key,
                    size_t *key_len);

#endif /* KMSE_DOC_PREAMBLE_H */
