//! From the data key to the content key (and, in v2, the commitment key).

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{hkdf, AesGcmKey, HashAlg};
use crate::error::{AuthFailure, Error, Result};
use crate::format::header::COMMIT_LEN;
use crate::suite::{AlgorithmSuite, Kdf};

/// The per-message keys derived from the data key.
pub(crate) struct MessageKeys {
    /// The AES-GCM key for the header tag and every body frame.
    pub(crate) content: AesGcmKey,
    /// v2 only: the commitment key stored as suite data.
    pub(crate) commitment: Option<Zeroizing<[u8; COMMIT_LEN]>>,
    /// The content key's bytes, for a caller that runs AES-GCM itself
    /// (`crate::external`).
    #[cfg(all(
        feature = "host-crypto",
        any(target_arch = "wasm32", feature = "rustcrypto")
    ))]
    pub(crate) raw_content: Zeroizing<Vec<u8>>,
}

/// Derives the content key (and commitment key) for `message_id`.
pub(crate) fn derive_keys(
    suite: AlgorithmSuite,
    data_key: &[u8],
    message_id: &[u8],
) -> Result<MessageKeys> {
    if data_key.len() != suite.data_key_len() {
        return Err(Error::bad_arg(format!(
            "data key is {} bytes; suite {suite} needs {}",
            data_key.len(),
            suite.data_key_len()
        )));
    }
    let internal = |_| Error::bad_arg("key derivation failed");
    let mut key = Zeroizing::new([0u8; 32]);
    let key = &mut key[..suite.data_key_len()];
    let commitment = match suite.kdf() {
        Kdf::Identity => {
            key.copy_from_slice(data_key);
            None
        }
        Kdf::HkdfV1(hash) => {
            let mut info = [0u8; 18];
            info[..2].copy_from_slice(&suite.id().to_be_bytes());
            let id = info
                .get_mut(2..2 + message_id.len())
                .ok_or_else(|| Error::bad_arg("message ID has the wrong length for this suite"))?;
            id.copy_from_slice(message_id);
            hkdf(hash, &[], data_key, &mut [(&info[..], &mut key[..])]).map_err(internal)?;
            None
        }
        Kdf::HkdfCommitting => {
            let mut info = [0u8; 2 + 9];
            info[..2].copy_from_slice(&suite.id().to_be_bytes());
            info[2..].copy_from_slice(b"DERIVEKEY");
            let mut commit = Zeroizing::new([0u8; COMMIT_LEN]);
            hkdf(
                HashAlg::Sha512,
                message_id,
                data_key,
                &mut [(&info[..], &mut key[..]), (b"COMMITKEY", &mut commit[..])],
            )
            .map_err(internal)?;
            Some(commit)
        }
    };
    let content = AesGcmKey::new(key).map_err(internal)?;
    Ok(MessageKeys {
        content,
        commitment,
        #[cfg(all(
            feature = "host-crypto",
            any(target_arch = "wasm32", feature = "rustcrypto")
        ))]
        raw_content: Zeroizing::new(key.to_vec()),
    })
}

/// Compares the stored commitment with the derived one in constant time.
pub(crate) fn check_commitment(
    stored: Option<&[u8; COMMIT_LEN]>,
    derived: &MessageKeys,
) -> Result<()> {
    match (stored, &derived.commitment) {
        (None, None) => Ok(()),
        (Some(stored), Some(derived)) if bool::from(stored.ct_eq(&derived[..])) => Ok(()),
        _ => Err(Error::AuthenticationFailed(AuthFailure::Commitment)),
    }
}
