//! Orders of encryption-context keys other than the specification's, for
//! reading messages whose raw AES wrapping authenticated the context in such
//! an order.
//!
//! The specification serializes an encryption context with its keys in
//! byte-wise (UTF-8) order, and a raw AES keyring authenticates that
//! serialization when it wraps a data key. The raw AES keyrings of the AWS
//! Encryption SDK for JavaScript (`RawAesKeyringNode` of
//! `@aws-crypto/client-node`, and the browser one) sort the keys with
//! `String.prototype.localeCompare` instead unless they are built with
//! `utf8Sorting: true` (their issues #428 and #1581). The two orders differ
//! for many everyday contexts: a key starting with an upper-case letter
//! (`Tenant` sorts before `aws-crypto-public-key`, which every signed suite
//! adds, by bytes, and after it by locale), an underscore beside a hyphen
//! or a digit (`aws_region` beside `aws-crypto-public-key`, `key_1` beside
//! `key1`), a non-ASCII letter. A data key wrapped in the locale's order
//! does not unwrap in the specification's.
//!
//! [`RawAesKeyring::with_legacy_order`](crate::RawAesKeyring::with_legacy_order)
//! makes a keyring try one more order when a wrapped key does not unwrap in
//! the specification's. Both serializations hold the same pairs, so the
//! context authenticated is the same; only messages that were written in
//! that order are read. Keyrings always write the specification's order.

use std::cmp::Ordering;

use crate::future::MaybeSendSync;

/// An order of encryption-context keys that a writer used instead of the
/// specification's byte-wise one (see the [module docs](self)).
///
/// ```
/// use std::cmp::Ordering;
/// use kms_envelope::keyring::ContextKeyOrder;
///
/// /// Keys compared ignoring ASCII case: an illustration, not any SDK's order.
/// struct CaseBlind;
/// impl ContextKeyOrder for CaseBlind {
///     fn compare(&self, a: &str, b: &str) -> Ordering {
///         a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())
///     }
/// }
/// assert_eq!(CaseBlind.compare("Tenant", "aws-crypto-public-key"), Ordering::Greater);
/// ```
pub trait ContextKeyOrder: MaybeSendSync {
    /// How key `a` sorts against key `b`. Keys it finds equal keep their
    /// byte-wise order. It must be a total order, as for
    /// [`slice::sort_by`]: an inconsistent one may panic.
    fn compare(&self, a: &str, b: &str) -> Ordering;
}

/// JavaScript's `a.localeCompare(b)` under the root collation of the
/// Unicode Collation Algorithm (CLDR), which is what Node and browsers use
/// for the `en` locales, `C`/`POSIX` and no locale at all: the order that
/// `@aws-crypto/client-node` / `client-browser` raw AES keyrings without
/// `utf8Sorting: true` wrapped data keys in. Writers that ran under a
/// locale with its own collation rules ordered some keys differently
/// (Swedish and German `ä`, and in Danish, Czech or Lithuanian plain ASCII
/// keys too); add a [`ContextKeyOrder`] of that locale for their messages.
/// Some keys holding Han characters may not match either: ICU4X orders
/// them by block and then code point, where Node's ICU orders them by
/// radical and stroke (一 中 山 𠀀 against 一 𠀀 中 山). The main
/// ideograph block is itself in radical-stroke order but for its later
/// additions, so there the two differ for about 0.3% of pairs (57 of
/// 20,000 random pairs against Node 20, e.g. U+4E2C beside U+9FA6); the
/// JavaScript package, which uses its host's collator, reads them all. Collation by ICU4X
/// (`icu_collator`, compiled data); cargo feature `js-legacy-order`.
///
/// ```
/// use std::cmp::Ordering;
/// use kms_envelope::keyring::{ContextKeyOrder, JsLocaleCompare};
///
/// let order = JsLocaleCompare::new()?;
/// // Upper-case letters sort after their lower-case ones and before the next
/// // letter; accented letters next to their base letter.
/// assert_eq!(order.compare("Tenant", "aws-crypto-public-key"), Ordering::Greater);
/// assert_eq!(order.compare("é", "f"), Ordering::Less);
/// # Ok::<(), kms_envelope::Error>(())
/// ```
#[cfg(feature = "js-legacy-order")]
pub struct JsLocaleCompare {
    collator: icu_collator::CollatorBorrowed<'static>,
}

#[cfg(feature = "js-legacy-order")]
impl JsLocaleCompare {
    /// The root collation with JavaScript's default options (tertiary
    /// strength, punctuation not ignored, no numeric ordering).
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`](crate::Error::BadArgument) if ICU4X cannot
    /// make the root collator from its compiled data (not expected).
    pub fn new() -> crate::Result<Self> {
        let collator = icu_collator::Collator::try_new(
            Default::default(),
            icu_collator::options::CollatorOptions::default(),
        )
        .map_err(|e| crate::Error::bad_arg(format!("the root collation is unavailable: {e}")))?;
        Ok(Self { collator })
    }
}

#[cfg(feature = "js-legacy-order")]
impl ContextKeyOrder for JsLocaleCompare {
    fn compare(&self, a: &str, b: &str) -> Ordering {
        self.collator.compare(a, b)
    }
}

#[cfg(feature = "js-legacy-order")]
impl std::fmt::Debug for JsLocaleCompare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsLocaleCompare")
    }
}
