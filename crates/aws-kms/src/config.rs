//! Where the client's settings come from: explicit builder values, the
//! standard environment variables, and the shared `credentials` / `config`
//! files (with profiles), in the order the AWS SDKs use.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// AWS credentials: an access key ID, its secret key and, for temporary
/// credentials, a session token. The secret key and token are wiped from
/// memory on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Long-term credentials (an access key).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: None,
        }
    }

    /// Adds a session token (temporary credentials, e.g. from STS).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Zeroizing::new(token.into()));
        self
    }

    /// The access key ID (not a secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    pub(crate) fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref().map(String::as_str)
    }

    /// What keeps these credentials out of a request, if anything: the
    /// access key ID and the session token go into HTTP headers, so each
    /// must be printable ASCII without spaces (a line break pasted along
    /// with a key would otherwise fail every call, far from its cause).
    pub(crate) fn header_problem(&self) -> Option<&'static str> {
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(&self.access_key_id) {
            return Some("the access key ID must be printable ASCII without spaces");
        }
        if self.secret_access_key.is_empty() {
            return Some("the secret access key is empty");
        }
        if self.session_token().is_some_and(|t| !printable(t)) {
            return Some("the session token must be printable ASCII without spaces");
        }
        None
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Where resolved credentials came from (for `Debug` and error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    Explicit,
    Environment,
    Profile(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Explicit => f.write_str("explicit"),
            CredentialSource::Environment => f.write_str("environment"),
            CredentialSource::Profile(p) => write!(f, "profile {p}"),
        }
    }
}

/// The process environment, or a map in tests.
pub(crate) trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &std::path::Path) -> std::io::Result<Zeroizing<String>>;
}

pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn read_file(&self, path: &std::path::Path) -> std::io::Result<Zeroizing<String>> {
        std::fs::read_to_string(path).map(Zeroizing::new)
    }
}

/// One INI file: section name -> (lower-case key -> value).
pub(crate) type Ini = HashMap<String, HashMap<String, Zeroizing<String>>>;

/// Parses the AWS shared-file dialect of INI: `[section]` headers, `key =
/// value` lines, full-line comments (`#` or `;`), inline comments after
/// whitespace, and indented sub-property lines (which are skipped). Keys
/// are case-insensitive; later duplicates win. Lines outside a section and
/// lines without `=` are ignored, as the AWS CLI does.
pub(crate) fn parse_ini(text: &str) -> Ini {
    let mut ini = Ini::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let indented = line.starts_with([' ', '\t']);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if !indented && trimmed.starts_with('[') {
            section = trimmed
                .strip_prefix('[')
                .and_then(|s| s.split_once(']'))
                .map(|(name, _)| name.split_whitespace().collect::<Vec<_>>().join(" "));
            if let Some(name) = &section {
                ini.entry(name.clone()).or_default();
            }
            continue;
        }
        if indented {
            // A sub-property of the previous key (`s3 =\n  addressing_style = path`).
            continue;
        }
        let (Some(name), Some((key, value))) = (&section, trimmed.split_once('=')) else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            continue;
        }
        let value = strip_inline_comment(value.trim());
        ini.get_mut(name)
            .expect("section inserted on its header")
            .insert(key, Zeroizing::new(value.to_owned()));
    }
    ini
}

fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

/// A profile's merged properties: the credentials file's `[name]` section
/// over the config file's `[profile name]` (or `[default]`) section.
#[derive(Default)]
pub(crate) struct Profile {
    pub name: String,
    props: HashMap<String, Zeroizing<String>>,
    /// Whether any file had a section for this profile.
    pub found: bool,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn home(env: &dyn Env) -> Option<PathBuf> {
    env.var("HOME")
        .or_else(|| env.var("USERPROFILE"))
        .map(PathBuf::from)
}

fn expand_home(path: &str, env: &dyn Env) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home(env)
            .map(|h| h.join(rest))
            .unwrap_or_else(|| PathBuf::from(path)),
        None => PathBuf::from(path),
    }
}

/// Loads the profile named by `name`, else `AWS_PROFILE`, else `default`,
/// from `AWS_CONFIG_FILE` (default `~/.aws/config`) and
/// `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`). Missing
/// files are not an error; unreadable ones are.
pub(crate) fn load_profile(env: &dyn Env, name: Option<&str>) -> Result<Profile, String> {
    let name = name
        .map(str::to_owned)
        .or_else(|| env.var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let mut profile = Profile {
        name: name.clone(),
        ..Profile::default()
    };
    let files = [
        (
            env.var("AWS_CONFIG_FILE"),
            "~/.aws/config",
            if name == "default" {
                vec!["default".to_owned(), "profile default".to_owned()]
            } else {
                vec![format!("profile {name}")]
            },
        ),
        (
            env.var("AWS_SHARED_CREDENTIALS_FILE"),
            "~/.aws/credentials",
            vec![name.clone()],
        ),
    ];
    for (configured, default, sections) in files {
        let path = expand_home(configured.as_deref().unwrap_or(default), env);
        let text = match env.read_file(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut ini = parse_ini(&text);
        for section in sections {
            if let Some(props) = ini.remove(&section) {
                profile.found = true;
                profile.props.extend(props);
            }
        }
    }
    Ok(profile)
}

/// Credentials: explicit, else `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`
/// (+ `AWS_SESSION_TOKEN`), else the profile's `aws_access_key_id` +
/// `aws_secret_access_key` (+ `aws_session_token`).
pub(crate) fn resolve_credentials(
    explicit: Option<Credentials>,
    env: &dyn Env,
    profile: &Profile,
) -> Result<(Credentials, CredentialSource), String> {
    if let Some(c) = explicit {
        return Ok((c, CredentialSource::Explicit));
    }
    match (
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => {
            let mut c = Credentials::new(id, secret);
            if let Some(token) = env.var("AWS_SESSION_TOKEN") {
                c = c.with_session_token(token);
            }
            return Ok((c, CredentialSource::Environment));
        }
        (Some(_), None) => {
            return Err("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into())
        }
        _ => {}
    }
    match (
        profile.get("aws_access_key_id"),
        profile.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => {
            let mut c = Credentials::new(id, secret);
            if let Some(token) = profile.get("aws_session_token") {
                c = c.with_session_token(token);
            }
            Ok((c, CredentialSource::Profile(profile.name.clone())))
        }
        (Some(_), None) => Err(format!(
            "profile '{}' has aws_access_key_id but no aws_secret_access_key",
            profile.name
        )),
        _ => {
            let unsupported = [
                "role_arn",
                "credential_process",
                "sso_session",
                "sso_start_url",
            ]
            .into_iter()
            .find(|k| profile.get(k).is_some());
            Err(match unsupported {
                Some(k) => format!(
                    "profile '{}' uses {k}, which this client does not support; export \
                     credentials first (e.g. `eval \"$(aws configure export-credentials \
                     --profile {} --format env)\"`) or pass them to the builder",
                    profile.name, profile.name
                ),
                None if profile.found => format!(
                    "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set \
                     and profile '{}' has no aws_access_key_id/aws_secret_access_key",
                    profile.name
                ),
                None => format!(
                    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
                     configure profile '{}' in ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE)",
                    profile.name
                ),
            })
        }
    }
}

/// Region: explicit, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
/// profile's `region`.
pub(crate) fn resolve_region(
    explicit: Option<String>,
    env: &dyn Env,
    profile: &Profile,
) -> Option<String> {
    explicit
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| profile.get("region").map(str::to_owned))
}

/// Endpoint override: explicit, else `AWS_ENDPOINT_URL_KMS`, else
/// `AWS_ENDPOINT_URL`, else the profile's `endpoint_url`; `None` means the
/// regional AWS endpoint. All but the explicit one are ignored when
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
pub(crate) fn resolve_endpoint(
    explicit: Option<String>,
    env: &dyn Env,
    profile: &Profile,
) -> Option<String> {
    if explicit.is_some() {
        return explicit;
    }
    if env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    env.var("AWS_ENDPOINT_URL_KMS")
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .or_else(|| profile.get("endpoint_url").map(str::to_owned))
}

/// Whether `region` can name a regional endpoint: one DNS label, 1 to 63
/// ASCII letters, digits and `-`, neither first nor last a `-` (botocore's
/// rule for region names). A region from a message's key ARN is the
/// sender's choice: anything else (a `.`, `/`, `@` or `:`) would steer the
/// call, with its signature and session token, to another host.
pub(crate) fn is_region_name(region: &str) -> bool {
    let bytes = region.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// The regional AWS KMS endpoint for `region` in `partition` (`None`: the
/// partition the region's name implies). `region` must pass
/// [`is_region_name`].
pub(crate) fn default_endpoint(region: &str, partition: Option<&str>) -> String {
    let partition = partition.unwrap_or(if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    });
    let suffix = match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        _ => "amazonaws.com",
    };
    format!("https://kms.{region}.{suffix}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn region_names_are_single_dns_labels() {
        for good in [
            "us-east-1",
            "cn-north-1",
            "us-isob-east-1",
            "eu-central-2",
            "a",
            "X9",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "-us-east-1",
            "us-east-1-",
            "x@127.0.0.1/",
            "evil.example/",
            "us-east-1.evil.example",
            "us-east-1:443",
            "us east 1",
            "us-east-1\n",
            "\u{e9}u-west-1",
            long.as_str(),
        ] {
            assert!(!is_region_name(bad), "{bad:?}");
        }
    }

    #[derive(Default)]
    pub(crate) struct MapEnv {
        pub vars: HashMap<String, String>,
        pub files: HashMap<PathBuf, String>,
    }

    impl MapEnv {
        pub fn var(mut self, k: &str, v: &str) -> Self {
            self.vars.insert(k.into(), v.into());
            self
        }
        pub fn file(mut self, path: &str, text: &str) -> Self {
            self.files.insert(path.into(), text.into());
            self
        }
    }

    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned().filter(|v| !v.is_empty())
        }
        fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<String>> {
            self.files
                .get(path)
                .map(|t| Zeroizing::new(t.clone()))
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
    }

    #[test]
    fn ini_dialect() {
        let ini = parse_ini(
            "top = ignored\n\
             # comment\n\
             ; another\n\
             [default]\n\
             aws_access_key_id = AKIDDEFAULT\n\
             AWS_Secret_Access_Key=se/cr+et==  # inline comment\n\
             region = us-east-2;not-a-comment\n\
             s3 =\n\
             \x20 addressing_style = path\n\
             \n\
             [  profile   dev  ]   \n\
             region = eu-west-1\n\
             empty =\n\
             no equals sign\n\
             region = eu-west-3\n",
        );
        let get = |s: &str, k: &str| ini.get(s).and_then(|p| p.get(k)).map(|v| v.as_str());
        assert_eq!(get("default", "aws_access_key_id"), Some("AKIDDEFAULT"));
        assert_eq!(get("default", "aws_secret_access_key"), Some("se/cr+et=="));
        assert_eq!(get("default", "region"), Some("us-east-2;not-a-comment"));
        assert_eq!(get("default", "s3"), Some(""));
        assert_eq!(get("default", "addressing_style"), None);
        assert_eq!(get("default", "top"), None);
        assert_eq!(get("profile dev", "region"), Some("eu-west-3"));
        assert_eq!(get("profile dev", "empty"), Some(""));
        assert_eq!(ini.len(), 2);
        assert!(parse_ini("").is_empty());
        assert!(parse_ini("[unterminated\nk = v\n").is_empty());
    }

    const CONFIG: &str = "[default]\nregion = us-west-1\n\
        [profile dev]\nregion = eu-central-1\naws_access_key_id = AKIDCONFIG\n\
        aws_secret_access_key = configsecret\nendpoint_url = http://localhost:4566\n\
        [dev]\nregion = ignored-without-profile-prefix\n\
        [profile sso]\nsso_session = corp\n";
    const CREDS: &str = "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n\
        [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\naws_session_token = devtoken\n";

    fn files() -> MapEnv {
        MapEnv::default()
            .var("HOME", "/home/u")
            .file("/home/u/.aws/config", CONFIG)
            .file("/home/u/.aws/credentials", CREDS)
    }

    fn creds(
        env: &MapEnv,
        explicit: Option<Credentials>,
    ) -> Result<(String, CredentialSource), String> {
        let profile = load_profile(env, None)?;
        resolve_credentials(explicit, env, &profile).map(|(c, s)| (c.access_key_id().to_owned(), s))
    }

    #[test]
    fn credential_resolution_order() {
        // Default profile from the credentials file.
        assert_eq!(
            creds(&files(), None).unwrap(),
            (
                "AKIDFILE".into(),
                CredentialSource::Profile("default".into())
            )
        );
        // The environment beats the files.
        let env = files()
            .var("AWS_ACCESS_KEY_ID", "AKIDENV")
            .var("AWS_SECRET_ACCESS_KEY", "envsecret");
        assert_eq!(
            creds(&env, None).unwrap(),
            ("AKIDENV".into(), CredentialSource::Environment)
        );
        // Explicit beats everything.
        assert_eq!(
            creds(&env, Some(Credentials::new("AKIDX", "x"))).unwrap(),
            ("AKIDX".into(), CredentialSource::Explicit)
        );
        // AWS_PROFILE: the credentials file's [dev] beats config's [profile dev].
        let env = files().var("AWS_PROFILE", "dev");
        let profile = load_profile(&env, None).unwrap();
        let (c, source) = resolve_credentials(None, &env, &profile).unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEV");
        assert_eq!(c.secret_access_key(), "devsecret");
        assert_eq!(c.session_token(), Some("devtoken"));
        assert_eq!(source, CredentialSource::Profile("dev".into()));
        assert_eq!(
            resolve_region(None, &env, &profile).as_deref(),
            Some("eu-central-1")
        );
        // Without the credentials file, config's [profile dev] keys are used.
        let env = MapEnv::default()
            .var("AWS_CONFIG_FILE", "/etc/aws.conf")
            .var("AWS_SHARED_CREDENTIALS_FILE", "/nowhere")
            .var("AWS_PROFILE", "dev")
            .file("/etc/aws.conf", CONFIG);
        assert_eq!(creds(&env, None).unwrap().0, "AKIDCONFIG");
        // Custom file paths, and a half-set environment is an error.
        let env = MapEnv::default()
            .var("AWS_SHARED_CREDENTIALS_FILE", "/c")
            .file("/c", CREDS);
        assert_eq!(creds(&env, None).unwrap().0, "AKIDFILE");
        let env = env.var("AWS_ACCESS_KEY_ID", "AKIDENV");
        assert!(creds(&env, None)
            .unwrap_err()
            .contains("AWS_SECRET_ACCESS_KEY"));
        // Nothing anywhere; an unsupported profile kind says so.
        let err = creds(&MapEnv::default(), None).unwrap_err();
        assert!(err.contains("no AWS credentials"), "{err}");
        let err = creds(&files().var("AWS_PROFILE", "sso"), None).unwrap_err();
        assert!(err.contains("sso_session"), "{err}");
        let err = creds(&files().var("AWS_PROFILE", "missing"), None).unwrap_err();
        assert!(err.contains("profile 'missing'"), "{err}");
    }

    #[test]
    fn session_token_from_the_environment_and_no_secret_in_debug() {
        let env = MapEnv::default()
            .var("AWS_ACCESS_KEY_ID", "AKID")
            .var("AWS_SECRET_ACCESS_KEY", "TOPSECRET")
            .var("AWS_SESSION_TOKEN", "TOKENVALUE");
        let profile = load_profile(&env, None).unwrap();
        let (c, _) = resolve_credentials(None, &env, &profile).unwrap();
        assert_eq!(c.session_token(), Some("TOKENVALUE"));
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID"), "{shown}");
        assert!(
            !shown.contains("TOPSECRET") && !shown.contains("TOKENVALUE"),
            "{shown}"
        );
    }

    #[test]
    fn region_resolution_order() {
        let env = files();
        let profile = load_profile(&env, None).unwrap();
        assert_eq!(
            resolve_region(None, &env, &profile).as_deref(),
            Some("us-west-1")
        );
        let env = env.var("AWS_DEFAULT_REGION", "ap-south-1");
        assert_eq!(
            resolve_region(None, &env, &profile).as_deref(),
            Some("ap-south-1")
        );
        let env = env.var("AWS_REGION", "sa-east-1");
        assert_eq!(
            resolve_region(None, &env, &profile).as_deref(),
            Some("sa-east-1")
        );
        assert_eq!(
            resolve_region(Some("eu-north-1".into()), &env, &profile).as_deref(),
            Some("eu-north-1")
        );
        let empty = MapEnv::default();
        let profile = load_profile(&empty, None).unwrap();
        assert_eq!(resolve_region(None, &empty, &profile), None);
    }

    #[test]
    fn endpoint_resolution_order() {
        let env = files().var("AWS_PROFILE", "dev");
        let profile = load_profile(&env, None).unwrap();
        let ep = |env: &MapEnv, explicit: Option<&str>| {
            resolve_endpoint(explicit.map(Into::into), env, &profile)
        };
        assert_eq!(ep(&env, None).as_deref(), Some("http://localhost:4566"));
        let env = env.var("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
        assert_eq!(ep(&env, None).as_deref(), Some("http://127.0.0.1:1"));
        let env = env.var("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:2");
        assert_eq!(ep(&env, None).as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(ep(&env, Some("http://x:3")).as_deref(), Some("http://x:3"));
        let env = env.var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert_eq!(ep(&env, None), None);
        assert_eq!(ep(&env, Some("http://x:3")).as_deref(), Some("http://x:3"));

        assert_eq!(
            default_endpoint("us-east-1", None),
            "https://kms.us-east-1.amazonaws.com"
        );
        assert_eq!(
            default_endpoint("cn-north-1", None),
            "https://kms.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            default_endpoint("cn-north-1", Some("aws-cn")),
            "https://kms.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            default_endpoint("us-gov-west-1", Some("aws-us-gov")),
            "https://kms.us-gov-west-1.amazonaws.com"
        );
        // The partitions' DNS suffixes (botocore's endpoints.json).
        for (region, host) in [
            ("us-iso-east-1", "kms.us-iso-east-1.c2s.ic.gov"),
            ("us-isob-east-1", "kms.us-isob-east-1.sc2s.sgov.gov"),
            ("eu-isoe-west-1", "kms.eu-isoe-west-1.cloud.adc-e.uk"),
            ("us-isof-south-1", "kms.us-isof-south-1.csp.hci.ic.gov"),
        ] {
            assert_eq!(default_endpoint(region, None), format!("https://{host}"));
        }
    }
}
