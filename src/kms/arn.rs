//! AWS KMS key ARNs and identifiers (`framework/aws-kms/aws-kms-key-arn.md`).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A parsed AWS KMS ARN: `arn:partition:kms:region:account:type/id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsArn {
    /// Partition, e.g. `aws`.
    pub partition: String,
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Account ID.
    pub account: String,
    /// `key` or `alias`.
    pub resource_type: String,
    /// Key ID (possibly `mrk-...`) or alias name.
    pub resource_id: String,
}

impl KmsArn {
    /// Whether this is a multi-Region key ARN (`key/mrk-...`).
    pub fn is_multi_region_key(&self) -> bool {
        self.resource_type == "key" && self.resource_id.starts_with("mrk-")
    }

    /// The same key in another region.
    pub fn in_region(&self, region: &str) -> KmsArn {
        KmsArn {
            region: region.to_owned(),
            ..self.clone()
        }
    }
}

impl FromStr for KmsArn {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::bad_arg(format!("'{s}' is not a valid AWS KMS ARN: {why}"));
        // Exactly five ':' (`aws-kms-key-arn.md`): a key ID or alias never
        // holds one, so a sixth is no part of the resource ID.
        let parts: Vec<&str> = s.split(':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(bad("it needs exactly six ':'-separated parts"));
        };
        if arn != "arn" {
            return Err(bad("it must start with 'arn'"));
        }
        if partition.is_empty() || region.is_empty() || account.is_empty() {
            return Err(bad("partition, region and account must be non-empty"));
        }
        if service != "kms" {
            return Err(bad("the service must be 'kms'"));
        }
        let (resource_type, resource_id) = resource
            .split_once('/')
            .ok_or_else(|| bad("the resource must be 'key/...' or 'alias/...'"))?;
        if resource_type != "key" && resource_type != "alias" {
            return Err(bad("the resource type must be 'key' or 'alias'"));
        }
        if resource_id.is_empty() {
            return Err(bad("the resource id must be non-empty"));
        }
        Ok(KmsArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
        })
    }
}

impl fmt::Display for KmsArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:kms:{}:{}:{}/{}",
            self.partition, self.region, self.account, self.resource_type, self.resource_id
        )
    }
}

/// Checks that `id` is a KMS key ARN, alias ARN, alias name or key ID
/// (`aws-kms-keyring.md`: the identifier "MUST be a valid identifier").
///
/// # Errors
///
/// [`Error::BadArgument`] if `id`:
/// - is empty;
/// - starts with `arn:` but does not parse as a [`KmsArn`] (exactly six
///   `:`-separated parts, the `kms` service, a non-empty partition, region
///   and account, and a `key/` or `alias/` resource with a non-empty ID);
/// - starts with `alias/` but the name after it is empty or holds more
///   than letters, digits, `:`, `/`, `_` and `-` (the `AliasName` pattern
///   of the AWS KMS API);
/// - is otherwise not a key ID: letters, digits and `-` only, as in
///   `1234abcd-12ab-34cd-56ef-1234567890ab` or `mrk-…`.
pub fn validate_identifier(id: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::bad_arg(format!(
            "'{id}' is not an AWS KMS key identifier (a key ARN, alias ARN, \
             alias/<name> or key ID): {why}"
        ))
    };
    if id.is_empty() {
        return Err(Error::bad_arg("the AWS KMS key identifier is empty"));
    }
    if id.starts_with("arn:") {
        KmsArn::from_str(id)?;
    } else if let Some(name) = id.strip_prefix("alias/") {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-');
        if name.is_empty() {
            return Err(bad("the alias name is empty"));
        }
        if !name.chars().all(allowed) {
            return Err(bad(
                "an alias name holds only letters, digits, ':', '/', '_' and '-'",
            ));
        }
    } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad("a key ID holds only letters, digits and '-'"));
    }
    Ok(())
}

/// Whether an identifier names a multi-Region key.
pub fn is_multi_region_identifier(id: &str) -> bool {
    if id.starts_with("arn:") {
        KmsArn::from_str(id).is_ok_and(|a| a.is_multi_region_key())
    } else {
        !id.starts_with("alias/") && id.starts_with("mrk-")
    }
}

/// `aws-kms-mrk-match-for-decrypt.md`: identical identifiers match; two
/// multi-Region key ARNs match when all parts but the region do.
pub fn mrk_match(configured: &str, stored: &str) -> bool {
    if configured == stored {
        return true;
    }
    if !is_multi_region_identifier(configured) || !is_multi_region_identifier(stored) {
        return false;
    }
    match (KmsArn::from_str(configured), KmsArn::from_str(stored)) {
        (Ok(a), Ok(b)) => {
            a.partition == b.partition
                && a.account == b.account
                && a.resource_type == b.resource_type
                && a.resource_id == b.resource_id
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "arn:aws:kms:us-east-1:2222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const MRK_EAST: &str =
        "arn:aws:kms:us-east-1:2222222222222:key/mrk-4321abcd12ab34cd56ef1234567890ab";
    const MRK_WEST: &str =
        "arn:aws:kms:us-west-2:2222222222222:key/mrk-4321abcd12ab34cd56ef1234567890ab";

    #[test]
    fn parses_and_prints() {
        let arn: KmsArn = KEY.parse().unwrap();
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.to_string(), KEY);
        let alias: KmsArn = "arn:aws:kms:us-west-2:111122223333:alias/a/b"
            .parse()
            .unwrap();
        assert_eq!(alias.resource_id, "a/b");
        for bad in [
            "",
            "arn:aws:kms:us-east-1:2222:key",
            "arn:aws:s3:us-east-1:2222:key/x",
            "arn::kms:us-east-1:2222:key/x",
            "arn:aws:kms::2222:key/x",
            "arn:aws:kms:us-east-1::key/x",
            "arn:aws:kms:us-east-1:2222:grant/x",
            "arn:aws:kms:us-east-1:2222:key/",
            "nra:aws:kms:us-east-1:2222:key/x",
        ] {
            assert!(bad.parse::<KmsArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_are_arns_aliases_or_key_ids() {
        for good in [
            KEY,
            MRK_EAST,
            "arn:aws:kms:us-west-2:111122223333:alias/a/b",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-4321abcd12ab34cd56ef1234567890ab",
            "alias/ExampleAlias",
            "alias/aws/s3",
            "alias/a_b-c",
            "alias/x:y",
        ] {
            assert!(validate_identifier(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " ",
            "alias/",
            "alias/a b",
            "alias/x\\y",
            "key/1234abcd",
            "foo/bar/baz",
            "a:b:c",
            "ARN:aws:kms:us-east-1:1:key/x",
            "arn:aws:kms:us-east-1:2222:key/",
            "1234abcd\n",
        ] {
            let err = validate_identifier(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::BadArgument, "{bad}");
        }
    }

    #[test]
    fn multi_region_rules() {
        assert!(is_multi_region_identifier(MRK_EAST));
        assert!(is_multi_region_identifier("mrk-123"));
        assert!(!is_multi_region_identifier("alias/mrk-123"));
        assert!(!is_multi_region_identifier(
            "arn:aws:kms:us-east-1:2222:alias/mrk-123"
        ));
        assert!(!is_multi_region_identifier(KEY));
        assert!(mrk_match(MRK_EAST, MRK_WEST));
        assert!(mrk_match(KEY, KEY));
        assert!(!mrk_match(KEY, &KEY.replace("us-east-1", "us-west-2")));
        assert!(!mrk_match(
            MRK_EAST,
            &MRK_WEST.replace("2222222222222", "3333333333333")
        ));
        assert!(!mrk_match("mrk-4321abcd12ab34cd56ef1234567890ab", MRK_WEST));
    }
}
