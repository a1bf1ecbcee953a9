//! Differential test of kms-envelope against aws-esdk 1.2.4, the official
//! Rust AWS Encryption SDK (see README.md beside this crate).
//!
//! For random suites, frame lengths, plaintexts, encryption contexts and raw
//! AES/RSA keyrings, both SDKs encrypt the same input; every message is
//! decrypted by both, unchanged and after random changes (truncations, bit
//! flips, inserted, deleted, duplicated or overwritten bytes, data appended,
//! a wrong key); crafted messages in forms neither SDK writes are decrypted
//! by both too. Both must accept or refuse alike and, when both accept,
//! return the same plaintext and context. Disagreements are saved as JSON
//! files (replayed by `tests/differential_replay.rs` in the main crate) and
//! fail the run; documented deviations (message-format.md section 18) are
//! classified and counted instead.
//!
//! Environment: DIFF_SEED (default 20260301), DIFF_CASES (default 3000),
//! DIFF_SECONDS (optional time budget), DIFF_MUTATIONS (changes per message,
//! default 3), DIFF_CRAFTED (percent of cases with a crafted message, default
//! 50), DIFF_ONLY (run one case number, verbosely), DIFF_SAVE_DIR (default
//! tests/differential/saved), DIFF_SAVE_DEVIATIONS=1 (also save one example
//! of each documented deviation per message format version).

mod case;
mod craft;
mod peers;
mod record;
mod rng;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_esdk::material_providers::types::keyring::KeyringRef;
use kms_envelope::{AlgorithmSuite, CommitmentPolicy, Keyring, MessageHeader};

use crate::case::{Case, Mutation};
use crate::craft::Form;
use crate::peers::{policy_for, Esdk, KeySpec, Ours, Outcome, RsaKeys};
use crate::record::{Operation, Record};
use crate::rng::Rng;

/// Documented deviation: message-format.md section 18 item 6.
const NET_V400: &str = "message-format.md section 18 item 6: ESDK-NET 4.0.0 message \
     (aws-esdk retries header authentication the NET 4.0.0 way by default; kms-envelope, \
     a conforming reader, refuses it)";

struct Config {
    seed: u64,
    cases: u64,
    seconds: Option<f64>,
    mutations: usize,
    crafted_percent: u64,
    only: Option<u64>,
    save_dir: PathBuf,
    save_deviations: bool,
}

fn env_num<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={v:?} is not a valid number")),
        _ => Ok(None),
    }
}

impl Config {
    fn from_env() -> Result<Self, String> {
        Ok(Self {
            seed: env_num("DIFF_SEED")?.unwrap_or(20_260_301),
            cases: env_num("DIFF_CASES")?.unwrap_or(3000),
            seconds: env_num("DIFF_SECONDS")?,
            mutations: env_num("DIFF_MUTATIONS")?.unwrap_or(3),
            crafted_percent: env_num::<u64>("DIFF_CRAFTED")?.unwrap_or(50).min(100),
            only: env_num("DIFF_ONLY")?,
            save_dir: std::env::var_os("DIFF_SAVE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/saved"))),
            save_deviations: std::env::var("DIFF_SAVE_DEVIATIONS").is_ok_and(|v| v == "1"),
        })
    }
}

/// What a decrypt should give when both SDKs agree.
#[derive(Clone, Copy)]
enum Expect<'a> {
    Accept(&'a [u8]),
    Reject,
    Unknown,
}

/// Counters by section and key, printed at the end.
#[derive(Default)]
struct Stats(BTreeMap<&'static str, BTreeMap<String, u64>>);

impl Stats {
    fn bump(&mut self, section: &'static str, key: impl Into<String>) {
        *self
            .0
            .entry(section)
            .or_default()
            .entry(key.into())
            .or_default() += 1;
    }

    fn get(&self, section: &'static str, key: &str) -> u64 {
        self.0
            .get(section)
            .and_then(|m| m.get(key))
            .copied()
            .unwrap_or(0)
    }
}

/// A keyring in both SDKs.
struct Keyrings {
    spec: KeySpec,
    ours: Box<dyn Keyring>,
    esdk: KeyringRef,
}

struct Runner {
    cfg: Config,
    ours: Ours,
    esdk: Esdk,
    rsa: Arc<RsaKeys>,
    stats: Stats,
    disagreements: Vec<String>,
    failures: Vec<String>,
    /// Documented deviations saved so far, by message format version.
    deviations_saved: BTreeSet<(&'static str, u8)>,
    verbose: bool,
    /// The suite of the case being run.
    suite: AlgorithmSuite,
}

fn hex_suite(suite: AlgorithmSuite) -> String {
    format!("0x{:04X}", suite.id())
}

impl Runner {
    /// Saves `rec` for replay, then prints and keeps `summary` with where it was saved.
    fn disagree(&mut self, rec: &Record<'_>, summary: String) {
        let saved = rec
            .save(&self.cfg.save_dir, "disagreement", &self.rsa)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| format!("(not saved: {e})"));
        let line = format!("{summary}\n    saved: {saved}");
        println!("DISAGREEMENT {line}");
        self.disagreements.push(line);
    }

    async fn keyrings(&self, spec: &KeySpec) -> Result<Keyrings, String> {
        let ours = Ours::keyring(spec, &self.rsa);
        let esdk = self.esdk.keyring(spec).await;
        match (ours, esdk) {
            (Ok(ours), Ok(esdk)) => Ok(Keyrings {
                spec: spec.clone(),
                ours,
                esdk,
            }),
            (o, e) => Err(format!(
                "keyring {spec:?}: kms-envelope {}, aws-esdk {}",
                o.err().unwrap_or_else(|| "ok".into()),
                e.err().unwrap_or_else(|| "ok".into())
            )),
        }
    }

    /// Decrypts `message` with both SDKs and compares.
    #[allow(clippy::too_many_arguments)]
    async fn check_decrypt(
        &mut self,
        index: u64,
        what: String,
        policy: CommitmentPolicy,
        keyrings: &Keyrings,
        message: &[u8],
        reproduced: Option<&BTreeMap<String, String>>,
        expect: Expect<'_>,
    ) -> &'static str {
        self.stats.bump("decrypts by suite", hex_suite(self.suite));
        let ours = self
            .ours
            .decrypt(keyrings.ours.as_ref(), policy, message, reproduced);
        let esdk = self
            .esdk
            .decrypt(&keyrings.esdk, policy, message, reproduced, true)
            .await;
        if self.verbose {
            println!(
                "  {what}\n    kms-envelope: {}\n    aws-esdk:     {}",
                ours.short(),
                esdk.short()
            );
        }
        let problem = match (&ours, &esdk) {
            (
                Outcome::Ok {
                    plaintext: p1,
                    context: c1,
                },
                Outcome::Ok {
                    plaintext: p2,
                    context: c2,
                },
            ) => {
                if p1 != p2 {
                    Some("both accept, with different plaintexts".to_string())
                } else if c1 != c2 {
                    Some(format!(
                        "both accept, with different contexts: kms-envelope {c1:?}, aws-esdk {c2:?}"
                    ))
                } else {
                    self.stats.bump("decrypt outcomes", "both accept");
                    match expect {
                        Expect::Accept(pt) if pt != p1.as_slice() => {
                            self.failures.push(format!(
                                "case {index}: {what}: both returned a wrong plaintext"
                            ));
                        }
                        Expect::Reject => {
                            self.failures.push(format!(
                                "case {index}: {what}: both accept a message that must fail"
                            ));
                        }
                        _ => {}
                    }
                    None
                }
            }
            (Outcome::Err { .. }, Outcome::Err { .. }) => {
                self.stats.bump("decrypt outcomes", "both refuse");
                if let Expect::Accept(_) = expect {
                    self.failures.push(format!(
                        "case {index}: {what}: both refuse a valid message: kms-envelope {}; aws-esdk {}",
                        ours.short(),
                        esdk.short()
                    ));
                }
                None
            }
            (Outcome::Ok { .. }, _) => Some("kms-envelope accepts, aws-esdk refuses".to_string()),
            (_, Outcome::Ok { .. }) => Some("aws-esdk accepts, kms-envelope refuses".to_string()),
        };
        let Some(problem) = problem else {
            return if ours.is_ok() {
                "both accept"
            } else {
                "both refuse"
            };
        };

        // Documented deviations.
        let mut deviation = None;
        if esdk.is_ok() && !ours.is_ok() {
            let strict = self
                .esdk
                .decrypt(&keyrings.esdk, policy, message, reproduced, false)
                .await;
            if !strict.is_ok() {
                deviation = Some(NET_V400);
            }
        }
        let rec = Record {
            what: format!("{what}: {problem}"),
            seed: self.cfg.seed,
            case: index,
            deviation,
            policy,
            keyring: &keyrings.spec,
            operation: Operation::Decrypt {
                message,
                reproduced,
            },
            ours: &ours,
            esdk: &esdk,
        };
        match deviation {
            Some(d) => {
                self.stats.bump("documented deviations", d);
                if self.cfg.save_deviations
                    && self
                        .deviations_saved
                        .insert((d, self.suite.message_format_version()))
                {
                    match rec.save(&self.cfg.save_dir, "deviation-18-6", &self.rsa) {
                        Ok(path) => println!(
                            "saved an example of a documented deviation: {}",
                            path.display()
                        ),
                        Err(e) => self
                            .failures
                            .push(format!("cannot save {}: {e}", self.cfg.save_dir.display())),
                    }
                }
            }
            None => self.disagree(
                &rec,
                format!(
                    "case {index}: {what}: {problem}\n    kms-envelope: {}\n    aws-esdk:     {}",
                    ours.short(),
                    esdk.short()
                ),
            ),
        }
        if deviation.is_some() {
            "documented deviation"
        } else {
            "disagreement"
        }
    }

    async fn run_case(&mut self, index: u64) -> Result<(), String> {
        let mut rng = Rng::for_case(self.cfg.seed, index);
        let case: Case = case::generate(&mut rng, AlgorithmSuite::ALL[(index % 11) as usize]);
        let suite = case.suite;
        self.suite = suite;
        let policy = policy_for(suite);
        let s = hex_suite(suite);
        if self.verbose {
            println!(
                "case {index}: suite {s}, frame length {}, plaintext {} bytes, context {:?}, keyring {:?}, reproduced {:?}",
                case.frame_length,
                case.plaintext.len(),
                case.context,
                case.keyring,
                case.reproduced
            );
        }
        self.stats.bump("cases by suite", s.clone());
        self.stats.bump("cases by keyring", case.keyring.kind());
        self.stats.bump("cases by frame length", case.frame_bucket);
        self.stats
            .bump("cases by plaintext length", case.length_class);
        self.stats.bump(
            "cases by context",
            match case.context.len() {
                0 => "empty".to_string(),
                n => format!("{n} pairs"),
            },
        );
        self.stats.bump(
            "cases by decrypt context",
            format!("{:?}", case.reproduced_kind),
        );

        let keyrings = self.keyrings(&case.keyring).await?;

        // Both encrypt the same input.
        let mine = self.ours.encrypt(
            keyrings.ours.as_ref(),
            suite,
            case.frame_length,
            &case.context,
            &case.plaintext,
        );
        let theirs = self
            .esdk
            .encrypt(
                &keyrings.esdk,
                suite,
                case.frame_length,
                &case.context,
                &case.plaintext,
            )
            .await;
        // Inputs both must or may refuse: a reserved key, frame length 0, a
        // context near the size limit.
        let context_size: usize = case
            .context
            .iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum();
        let reserved = case.context.keys().any(|k| k.starts_with("aws-crypto-"));
        let may_refuse = reserved || case.frame_length == 0 || context_size > 65535 - 100;
        match (&mine, &theirs) {
            (Outcome::Ok { .. }, Outcome::Ok { .. }) => {
                self.stats.bump("encrypt outcomes", "both accept");
                if reserved || case.frame_length == 0 {
                    self.failures.push(format!(
                        "case {index}: both encrypt with a reserved context key or frame length 0"
                    ));
                }
            }
            (Outcome::Err { .. }, Outcome::Err { .. }) => {
                self.stats.bump("encrypt outcomes", "both refuse");
                if !may_refuse {
                    self.failures.push(format!(
                        "case {index}: both refuse to encrypt: {}; {}",
                        mine.short(),
                        theirs.short()
                    ));
                }
            }
            _ => {
                let rec = Record {
                    what: "encrypt: only one SDK accepts".into(),
                    seed: self.cfg.seed,
                    case: index,
                    deviation: None,
                    policy,
                    keyring: &keyrings.spec,
                    operation: Operation::Encrypt {
                        suite,
                        frame_length: case.frame_length,
                        plaintext: &case.plaintext,
                        context: &case.context,
                    },
                    ours: &mine,
                    esdk: &theirs,
                };
                self.disagree(
                    &rec,
                    format!(
                        "case {index}: encrypt suite {s}: kms-envelope {}; aws-esdk {}",
                        mine.short(),
                        theirs.short()
                    ),
                );
            }
        }

        // Each message: both decrypt it, unchanged and changed.
        let reproduced = case.reproduced.as_ref();
        let benign = case.reproduced_kind.is_benign();
        for (writer, outcome) in [("kms-envelope", &mine), ("aws-esdk", &theirs)] {
            let Outcome::Ok {
                plaintext: message, ..
            } = outcome
            else {
                continue;
            };
            self.stats.bump("messages by writer", writer);
            let expect = if benign {
                Expect::Accept(&case.plaintext)
            } else {
                Expect::Reject
            };
            self.check_decrypt(
                index,
                format!(
                    "message from {writer}, suite {s}, reproduced context {:?}",
                    case.reproduced_kind
                ),
                policy,
                &keyrings,
                message,
                reproduced,
                expect,
            )
            .await;

            let header_len = MessageHeader::parse(message, None)
                .map(|(_, n)| n)
                .map_err(|e| {
                    format!("case {index}: cannot parse the header of a message from {writer}: {e}")
                })?;
            let context_for_mutants = if benign { reproduced } else { None };
            for _ in 0..self.cfg.mutations {
                let m = case::mutation(&mut rng, message.len(), header_len);
                self.stats.bump("changes", m.kind());
                if m == Mutation::WrongKey {
                    let spec = case::wrong_key(&mut rng, &case.keyring);
                    let wrong = self.keyrings(&spec).await?;
                    self.check_decrypt(
                        index,
                        format!("message from {writer}, suite {s}, decrypted with a wrong keyring {spec:?}"),
                        policy,
                        &wrong,
                        message,
                        context_for_mutants,
                        Expect::Reject,
                    )
                    .await;
                    continue;
                }
                let changed = m.apply(message);
                let expect = if changed == *message {
                    Expect::Accept(&case.plaintext)
                } else {
                    Expect::Reject
                };
                self.check_decrypt(
                    index,
                    format!("message from {writer}, suite {s}, changed: {m:?}"),
                    policy,
                    &keyrings,
                    &changed,
                    context_for_mutants,
                    expect,
                )
                .await;
            }
        }

        // A crafted message.
        if rng.chance(self.cfg.crafted_percent) {
            let forms: Vec<Form> = Form::ALL
                .into_iter()
                .filter(|f| f.applies_to(suite))
                .collect();
            let form = *rng.pick(&forms);
            let mut plaintext = case.plaintext.clone();
            let fl = case.frame_length.max(1) as usize;
            if form == Form::EmptyFinalFrame && fl <= 4096 {
                let frames = rng.range(1, 4);
                plaintext = rng.bytes(fl * frames);
            }
            if form == Form::OversizedFinalFrame && plaintext.len() <= fl && fl < 4096 {
                let extra = rng.range(1, 64);
                plaintext = rng.bytes(fl + extra);
            }
            // The context without reserved keys; a context near the size
            // limit is left out (the crafted forms add to it).
            let context: BTreeMap<String, String> = case
                .context
                .iter()
                .filter(|(k, _)| !k.starts_with("aws-crypto-") && context_size < 60_000)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let spec = craft::Spec {
                suite,
                frame_length: case.frame_length,
                plaintext: &plaintext,
                context: &context,
                form,
            };
            let message = craft::write(&spec, keyrings.ours.as_ref(), &mut rng)
                .await
                .map_err(|e| format!("case {index}: crafting {form:?}: {e}"))?;
            self.stats.bump("crafted forms", format!("{form:?}"));
            let expect = match form {
                Form::Plain
                | Form::EmptyFinalFrame
                | Form::NonFramed
                | Form::FfFrameIvs
                | Form::RandomFrameIvs
                | Form::NonZeroHeaderIv
                | Form::LegacyEmptyContext
                | Form::UnsortedContext
                | Form::DecoyEdk => Expect::Accept(&plaintext),
                Form::OversizedFinalFrame if plaintext.len() <= fl => Expect::Accept(&plaintext),
                Form::NetV400 => Expect::Unknown,
                _ => Expect::Reject,
            };
            let verdict = self
                .check_decrypt(
                    index,
                    format!("crafted message, form {form:?}, suite {s}"),
                    policy,
                    &keyrings,
                    &message,
                    None,
                    expect,
                )
                .await;
            self.stats
                .bump("crafted outcomes", format!("{form:?} {verdict}"));
        }
        Ok(())
    }

    fn summary(&self, cases: u64, elapsed: Duration) {
        println!();
        println!("== differential test: kms-envelope vs aws-esdk 1.2.4");
        println!(
            "seed {} (DIFF_SEED), {cases} cases, {:.1} s",
            self.cfg.seed,
            elapsed.as_secs_f64()
        );
        for (section, counts) in &self.stats.0 {
            let total: u64 = counts.values().sum();
            let items: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            println!("{section} ({total}): {}", items.join(", "));
        }
        let decrypts = self.stats.get("decrypt outcomes", "both accept")
            + self.stats.get("decrypt outcomes", "both refuse");
        println!(
            "decrypts compared: {} (agreeing {decrypts}), disagreements: {}, unexpected common outcomes: {}",
            decrypts + self.disagreements.len() as u64 + self.stats.0.get("documented deviations").map_or(0, |m| m.values().sum()),
            self.disagreements.len(),
            self.failures.len()
        );
    }
}

async fn run() -> Result<bool, String> {
    let cfg = Config::from_env()?;
    let rsa = Arc::new(RsaKeys::load()?);
    let esdk = Esdk::new(rsa.clone())?;
    let verbose = cfg.only.is_some();
    let mut runner = Runner {
        ours: Ours::new(),
        esdk,
        rsa,
        stats: Stats::default(),
        disagreements: Vec::new(),
        failures: Vec::new(),
        deviations_saved: BTreeSet::new(),
        verbose,
        suite: AlgorithmSuite::default(),
        cfg,
    };
    println!(
        "differential: seed {} (set DIFF_SEED to change), {} cases{}, {} changes per message, crafted messages in {}% of cases",
        runner.cfg.seed,
        runner.cfg.cases,
        runner.cfg.seconds.map(|s| format!(" or {s} s")).unwrap_or_default(),
        runner.cfg.mutations,
        runner.cfg.crafted_percent
    );
    let start = Instant::now();
    let indices: Vec<u64> = match runner.cfg.only {
        Some(i) => vec![i],
        None => (0..runner.cfg.cases).collect(),
    };
    let mut done = 0u64;
    for index in indices {
        if let Some(limit) = runner.cfg.seconds {
            if start.elapsed().as_secs_f64() > limit {
                println!("time budget of {limit} s reached");
                break;
            }
        }
        if let Err(e) = runner.run_case(index).await {
            runner.failures.push(e);
        }
        done += 1;
        if done.is_multiple_of(250) {
            println!(
                "{done} cases, {:.0} s, {} disagreements",
                start.elapsed().as_secs_f64(),
                runner.disagreements.len()
            );
        }
    }
    runner.summary(done, start.elapsed());
    // Coverage: every suite, keyring kind and framing bucket many times.
    if runner.cfg.only.is_none() && runner.cfg.seconds.is_none() && done >= 1100 {
        for suite in AlgorithmSuite::ALL {
            let n = runner.stats.get("cases by suite", &hex_suite(suite));
            if n < 100 {
                runner
                    .failures
                    .push(format!("suite {} only covered {n} times", hex_suite(suite)));
            }
        }
    }
    for f in &runner.failures {
        println!("FAILURE {f}");
    }
    if !runner.disagreements.is_empty() {
        println!("\n{} disagreements:", runner.disagreements.len());
        for d in &runner.disagreements {
            println!("  {d}");
        }
    }
    let ok = runner.disagreements.is_empty() && runner.failures.is_empty();
    println!("differential: {}", if ok { "passed" } else { "FAILED" });
    Ok(ok)
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("differential: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("differential: {e}");
            ExitCode::FAILURE
        }
    }
}
