//! `encrypt` and `decrypt`.

use std::sync::Arc;

use kms_envelope::{
    Client, Decrypted, EncryptionContext, Keyring, MaterialsManager,
    RequiredEncryptionContextMaterialsManager,
};
use zeroize::Zeroizing;

use crate::cli::{ContextArgs, DecryptArgs, EncryptArgs, IoArgs, KeyArgs, PolicyArgs};
use crate::exit::{CliError, CliResult};
use crate::io::{read_input, write_output};
use crate::keys::{self, PemOptions, Purpose};

fn pem_options(args: &KeyArgs) -> PemOptions<'_> {
    PemOptions {
        padding: args.rsa_padding,
        key_name: args.key_name.as_deref(),
        key_namespace: args.key_namespace.as_deref(),
    }
}

fn client(args: &PolicyArgs) -> Client {
    let mut builder = Client::builder();
    if let Some(policy) = args.commitment_policy {
        builder = builder.commitment_policy(policy);
    }
    if let Some(max) = args.max_encrypted_data_keys {
        builder = builder.max_encrypted_data_keys(max);
    }
    builder.build()
}

/// The `--context` pairs as an encryption context; a key given twice is refused.
pub fn context_from_pairs(pairs: &[(String, String)]) -> CliResult<EncryptionContext> {
    let mut context = EncryptionContext::new();
    for (k, v) in pairs {
        if context.insert(k.as_str(), v.as_str()).is_some() {
            return Err(CliError::bad_arg(format!(
                "--context key '{k}' is given more than once"
            )));
        }
    }
    Ok(context)
}

/// The required-encryption-context manager, when `--required-context-key` is given.
fn required_cmm(
    keyring: &Arc<dyn Keyring>,
    args: &ContextArgs,
) -> CliResult<Option<RequiredEncryptionContextMaterialsManager>> {
    if args.required_keys.is_empty() {
        return Ok(None);
    }
    let cmm = RequiredEncryptionContextMaterialsManager::with_keyring(
        Arc::clone(keyring),
        args.required_keys.iter(),
    )?;
    Ok(Some(cmm))
}

/// Runs `encrypt`.
pub fn encrypt(args: &EncryptArgs) -> CliResult<()> {
    let keyring = keys::build_keyring(&args.keys.keys, &pem_options(&args.keys), Purpose::Encrypt)?;
    let context = context_from_pairs(&args.context.context)?;
    let cmm = required_cmm(&keyring, &args.context)?;
    let client = client(&args.policy);
    let plaintext = Zeroizing::new(read_input(args.io.input.as_deref())?);
    let mut call = client
        .encrypt(&plaintext)
        .encryption_context(context)
        .frame_length(args.frame_length);
    if let Some(suite) = args.suite {
        call = call.algorithm_suite(suite);
    }
    call = match &cmm {
        Some(cmm) => call.materials_manager(cmm as &dyn MaterialsManager),
        None => call.keyring(&*keyring),
    };
    let ciphertext = call.run()?;
    write_output(args.io.output.as_deref(), &ciphertext)
}

/// Runs `decrypt`.
pub fn decrypt(args: &DecryptArgs) -> CliResult<()> {
    let keyring = keys::build_keyring(&args.keys.keys, &pem_options(&args.keys), Purpose::Decrypt)?;
    let reproduced = context_from_pairs(&args.context.context)?;
    let cmm = required_cmm(&keyring, &args.context)?;
    let client = client(&args.policy);
    decrypt_io(&args.io, |ciphertext| {
        let mut call = client.decrypt(ciphertext);
        if !reproduced.is_empty() {
            call = call.encryption_context(reproduced);
        }
        call = match &cmm {
            Some(cmm) => call.materials_manager(cmm as &dyn MaterialsManager),
            None => call.keyring(&*keyring),
        };
        call.run()
    })
}

/// The I/O of `decrypt`: reads the whole input, decrypts it in one shot, and
/// writes the plaintext only once the whole message has been authenticated.
fn decrypt_io(
    io: &IoArgs,
    decrypt: impl FnOnce(&[u8]) -> kms_envelope::Result<Decrypted>,
) -> CliResult<()> {
    let ciphertext = read_input(io.input.as_deref())?;
    let decrypted = decrypt(&ciphertext)?;
    let plaintext = Zeroizing::new(decrypted.plaintext);
    write_output(io.output.as_deref(), &plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_context_keys_are_refused() {
        let pairs = vec![
            ("a".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ];
        assert!(context_from_pairs(&pairs).is_err());
        let pairs = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(context_from_pairs(&pairs).map(|c| c.len()), Ok(2));
    }
}
