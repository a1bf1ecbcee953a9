//! One-shot encrypt and decrypt into library-owned buffers.

use kms_envelope::Decrypted;

use crate::args::{bytes, handle, into_handle, opt_handle, opt_out, out, Out};
use crate::buffer::kmse_buffer;
use crate::client::kmse_client;
use crate::context::kmse_encryption_context;
use crate::header::kmse_header;
use crate::keyring::{kmse_cmm, kmse_keyring};
use crate::status::{guard, kmse_status, FfiResult};

/// Where materials come from.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Keyring(&'a kmse_keyring),
    Cmm(&'a kmse_cmm),
}

fn encrypt(
    client: &kmse_client,
    source: Source<'_>,
    context: Option<&kmse_encryption_context>,
    plaintext: &[u8],
) -> FfiResult<Vec<u8>> {
    let mut call = client.client.encrypt(plaintext);
    call = match source {
        Source::Keyring(k) => call.keyring(&*k.inner),
        Source::Cmm(c) => call.materials_manager(&*c.inner),
    };
    if let Some(ec) = context {
        call = call.encryption_context(ec.context.clone());
    }
    if let Some(suite) = client.options.algorithm_suite {
        call = call.algorithm_suite(suite);
    }
    if let Some(frame_length) = client.options.frame_length {
        call = call.frame_length(frame_length);
    }
    Ok(call.run()?)
}

fn decrypt(
    client: &kmse_client,
    source: Source<'_>,
    context: Option<&kmse_encryption_context>,
    ciphertext: &[u8],
) -> FfiResult<Decrypted> {
    let mut call = client.client.decrypt(ciphertext);
    call = match source {
        Source::Keyring(k) => call.keyring(&*k.inner),
        Source::Cmm(c) => call.materials_manager(&*c.inner),
    };
    if let Some(ec) = context {
        call = call.encryption_context(ec.context.clone());
    }
    Ok(call.run()?)
}

/// The shared body of `kmse_encrypt` and `kmse_encrypt_with_cmm`.
///
/// # Safety
/// The pointer arguments follow the API contract (valid or NULL).
unsafe fn encrypt_entry<S>(
    function: &str,
    client: *const kmse_client,
    source: *const S,
    source_of: fn(&S) -> Source<'_>,
    source_name: &str,
    context: *const kmse_encryption_context,
    plaintext: *const u8,
    plaintext_len: usize,
    ciphertext_out: *mut *mut kmse_buffer,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        let (client, source, context, plaintext, ciphertext_out) = unsafe {
            (
                handle(client, "client")?,
                handle(source, source_name)?,
                opt_handle(context),
                bytes(plaintext, plaintext_len, "plaintext")?,
                out(ciphertext_out, "ciphertext_out")?,
            )
        };
        let ciphertext = encrypt(client, source_of(source), context, plaintext)?;
        ciphertext_out.write(into_handle(kmse_buffer::new(ciphertext)));
        Ok(())
    })
}

/// The shared body of `kmse_decrypt` and `kmse_decrypt_with_cmm`.
///
/// # Safety
/// The pointer arguments follow the API contract (valid or NULL).
#[allow(clippy::too_many_arguments)]
unsafe fn decrypt_entry<S>(
    function: &str,
    client: *const kmse_client,
    source: *const S,
    source_of: fn(&S) -> Source<'_>,
    source_name: &str,
    context: *const kmse_encryption_context,
    ciphertext: *const u8,
    ciphertext_len: usize,
    plaintext_out: *mut *mut kmse_buffer,
    context_out: *mut *mut kmse_encryption_context,
    header_out: *mut *mut kmse_header,
) -> kmse_status {
    guard(function, || {
        // SAFETY: forwarded contract.
        let (client, source, context, ciphertext, plaintext_out) = unsafe {
            (
                handle(client, "client")?,
                handle(source, source_name)?,
                opt_handle(context),
                bytes(ciphertext, ciphertext_len, "ciphertext")?,
                out(plaintext_out, "plaintext_out")?,
            )
        };
        // SAFETY: forwarded contract.
        let (context_out, header_out): (Option<Out<_>>, Option<Out<_>>) =
            unsafe { (opt_out(context_out), opt_out(header_out)) };
        let decrypted = decrypt(client, source_of(source), context, ciphertext)?;
        let Decrypted {
            plaintext,
            encryption_context,
            header,
            ..
        } = decrypted;
        plaintext_out.write(into_handle(kmse_buffer::new(plaintext)));
        if let Some(o) = context_out {
            o.write(into_handle(kmse_encryption_context::new(
                encryption_context,
            )));
        }
        if let Some(o) = header_out {
            o.write(into_handle(kmse_header::new(header)));
        }
        Ok(())
    })
}

fn keyring_source(k: &kmse_keyring) -> Source<'_> {
    Source::Keyring(k)
}

fn cmm_source(c: &kmse_cmm) -> Source<'_> {
    Source::Cmm(c)
}

/// Encrypts `plaintext` into a complete message, with the client's suite
/// and frame length, wrapping the data key with `keyring`.
///
/// - `client`, `keyring`: borrowed for the call.
/// - `context`: borrowed; may be NULL (empty context). Stored in the message
///   and authenticated; keys starting with `aws-crypto-` are refused.
/// - `plaintext`, `plaintext_len`: borrowed; may be NULL when 0.
/// - `ciphertext_out`: receives a new buffer owned by the caller; free it
///   with `kmse_buffer_free`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encrypt(
    client: *const kmse_client,
    keyring: *const kmse_keyring,
    context: *const kmse_encryption_context,
    plaintext: *const u8,
    plaintext_len: usize,
    ciphertext_out: *mut *mut kmse_buffer,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        encrypt_entry(
            "kmse_encrypt",
            client,
            keyring,
            keyring_source,
            "keyring",
            context,
            plaintext,
            plaintext_len,
            ciphertext_out,
        )
    }
}

/// Like `kmse_encrypt`, with materials from a CMM (e.g. the
/// required-encryption-context one) instead of a keyring.
///
/// - `cmm`: borrowed for the call. Other arguments as for `kmse_encrypt`.
#[no_mangle]
pub unsafe extern "C" fn kmse_encrypt_with_cmm(
    client: *const kmse_client,
    cmm: *const kmse_cmm,
    context: *const kmse_encryption_context,
    plaintext: *const u8,
    plaintext_len: usize,
    ciphertext_out: *mut *mut kmse_buffer,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        encrypt_entry(
            "kmse_encrypt_with_cmm",
            client,
            cmm,
            cmm_source,
            "cmm",
            context,
            plaintext,
            plaintext_len,
            ciphertext_out,
        )
    }
}

/// Decrypts a complete message, all or nothing: plaintext is returned only
/// once every tag, the key commitment and the signature have verified.
///
/// - `client`, `keyring`: borrowed for the call.
/// - `context`: borrowed; may be NULL. The context the caller expects: a
///   pair whose key the message stores must have the message's value (else
///   `KMSE_STATUS_POLICY_VIOLATION`); a pair the message does not store is
///   taken as one a required-context CMM left out of the message, and is
///   authenticated as such: if it is not one, the data key does not unwrap
///   or the header does not authenticate (`KMSE_STATUS_NO_KEY_UNWRAPPED` or
///   `KMSE_STATUS_AUTHENTICATION_FAILED`).
/// - `ciphertext`, `ciphertext_len`: borrowed; the whole message, nothing
///   after it.
/// - `plaintext_out`: receives a new buffer owned by the caller; free it
///   with `kmse_buffer_free` (which wipes it).
/// - `context_out`: may be NULL; receives a new context owned by the caller
///   (free with `kmse_encryption_context_free`): the message's pairs plus
///   the reproduced pairs it did not store.
/// - `header_out`: may be NULL; receives the authenticated header, owned by
///   the caller (free with `kmse_header_free`).
#[no_mangle]
pub unsafe extern "C" fn kmse_decrypt(
    client: *const kmse_client,
    keyring: *const kmse_keyring,
    context: *const kmse_encryption_context,
    ciphertext: *const u8,
    ciphertext_len: usize,
    plaintext_out: *mut *mut kmse_buffer,
    context_out: *mut *mut kmse_encryption_context,
    header_out: *mut *mut kmse_header,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        decrypt_entry(
            "kmse_decrypt",
            client,
            keyring,
            keyring_source,
            "keyring",
            context,
            ciphertext,
            ciphertext_len,
            plaintext_out,
            context_out,
            header_out,
        )
    }
}

/// Like `kmse_decrypt`, with materials from a CMM instead of a keyring.
///
/// - `cmm`: borrowed for the call. Other arguments as for `kmse_decrypt`.
#[no_mangle]
pub unsafe extern "C" fn kmse_decrypt_with_cmm(
    client: *const kmse_client,
    cmm: *const kmse_cmm,
    context: *const kmse_encryption_context,
    ciphertext: *const u8,
    ciphertext_len: usize,
    plaintext_out: *mut *mut kmse_buffer,
    context_out: *mut *mut kmse_encryption_context,
    header_out: *mut *mut kmse_header,
) -> kmse_status {
    // SAFETY: forwarded API contract.
    unsafe {
        decrypt_entry(
            "kmse_decrypt_with_cmm",
            client,
            cmm,
            cmm_source,
            "cmm",
            context,
            ciphertext,
            ciphertext_len,
            plaintext_out,
            context_out,
            header_out,
        )
    }
}
