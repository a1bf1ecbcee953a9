//! AWS KMS keyrings from `--kms-key`, `--kms-discovery` and `--kms-account`,
//! over the native client (`kms-envelope-aws`).
//!
//! The client resolves credentials, region and endpoint like the AWS SDKs
//! (environment variables, then the shared config files); `--kms-endpoint`
//! and `--kms-region` override the endpoint and region. KMS failures are
//! core [`kms_envelope::Error::Kms`] errors carrying the service's code
//! (`NotFoundException`, `AccessDeniedException`, ...), which end the
//! command with exit status 9.

use std::sync::Arc;

use kms_envelope::kms::{AwsKmsKeyring, DiscoveryFilter, KmsClient};
use kms_envelope::Keyring;
use kms_envelope_aws::AwsKmsClient;

use crate::cli::{KmsArgs, KmsDiscoveryArgs};
use crate::exit::{CliError, CliResult};
use crate::keys::Purpose;

/// The KMS client for these settings.
fn client(args: &KmsArgs) -> CliResult<Arc<dyn KmsClient>> {
    let mut builder = AwsKmsClient::builder();
    if let Some(url) = &args.kms_endpoint {
        builder = builder.endpoint(url.as_str());
    }
    if let Some(region) = &args.kms_region {
        builder = builder.region(region.as_str());
    }
    Ok(Arc::new(builder.build()?))
}

/// The KMS keyrings, in order: one per `--kms-key` (strict on encrypt,
/// strict and multi-Region aware on decrypt), then the discovery keyring.
/// Builds no client (and needs no credentials) when there is none.
pub fn keyrings(
    args: &KmsArgs,
    discovery: Option<&KmsDiscoveryArgs>,
    purpose: Purpose,
) -> CliResult<Vec<Arc<dyn Keyring>>> {
    let discover = discovery.filter(|d| d.kms_discovery);
    if args.kms_keys.is_empty() && discover.is_none() {
        return Ok(Vec::new());
    }
    let client = client(args)?;
    let mut keyrings: Vec<Arc<dyn Keyring>> = Vec::new();
    for key in &args.kms_keys {
        let keyring = match purpose {
            Purpose::Encrypt => AwsKmsKeyring::new(key.as_str(), client.clone()),
            Purpose::Decrypt => AwsKmsKeyring::new_mrk_aware(key.as_str(), client.clone()),
        }
        .map_err(|e| CliError::from(e).context(format!("--kms-key '{key}'")))?;
        keyrings.push(Arc::new(keyring));
    }
    if let Some(d) = discover {
        let filter = if d.kms_accounts.is_empty() {
            None
        } else {
            Some(
                DiscoveryFilter::new(d.kms_partition.as_str(), d.kms_accounts.iter().cloned())
                    .map_err(|e| CliError::from(e).context("--kms-account"))?,
            )
        };
        keyrings.push(Arc::new(AwsKmsKeyring::discovery(client, filter)));
    }
    Ok(keyrings)
}
