//! The caching materials manager and its local cache.
//!
//! Reuses data keys so that fewer calls reach the key service: encryption
//! materials are reused for a bounded age, number of messages and number of
//! bytes; decryption materials are reused for the same encrypted data keys
//! and context. Materials of the three `NO_KDF` suites are never cached,
//! since reusing their data key would reuse the AES-GCM key itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cmm::{DefaultMaterialsManager, MaterialsManager};
use crate::crypto::{HashAlg, Hasher};
use crate::error::{Error, Result};
use crate::future::{BoxFuture, MaybeSendSync};
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, DecryptionRequest, EncryptionMaterials, EncryptionRequest,
};

/// A monotonic clock in milliseconds, so tests and hosts without
/// `std::time::Instant` (wasm32) can supply their own.
pub trait Clock: MaybeSendSync {
    /// Milliseconds since an arbitrary, fixed origin; never decreases.
    fn now_millis(&self) -> u64;
}

/// The process's monotonic clock (`std::time::Instant`), counted from one
/// origin for the whole process: every `SystemClock` reads the same time,
/// so managers built at different moments agree on the age of the entries
/// of a cache they share.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let elapsed = ORIGIN.get_or_init(std::time::Instant::now).elapsed();
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}

/// How much one cached data key has encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Usage {
    messages: u64,
    bytes: u64,
}

enum Materials {
    Encrypt(EncryptionMaterials),
    Decrypt(DecryptionMaterials),
}

struct Entry {
    materials: Materials,
    expires_at: u64,
    usage: Usage,
    last_used: u64,
}

/// A capacity-bounded, least-recently-used cache of materials, safe to share
/// between threads and between caching managers (which keep their entries
/// apart by partition ID).
pub struct LocalMaterialsCache {
    capacity: usize,
    entries: Mutex<Entries>,
    tick: AtomicU64,
}

/// The entries by cache ID, and their IDs in order of last use, so that
/// pruning and eviction look at the least recently used without a scan:
/// every operation is O(log n) in the number of entries.
#[derive(Default)]
struct Entries {
    by_id: HashMap<[u8; 48], Entry>,
    /// `last_used` tick to cache ID; ticks are unique.
    by_use: BTreeMap<u64, [u8; 48]>,
}

impl Entries {
    fn insert(&mut self, id: [u8; 48], entry: Entry) {
        self.by_use.insert(entry.last_used, id);
        if let Some(old) = self.by_id.insert(id, entry) {
            self.by_use.remove(&old.last_used);
        }
    }

    fn remove(&mut self, id: &[u8; 48]) {
        if let Some(old) = self.by_id.remove(id) {
            self.by_use.remove(&old.last_used);
        }
    }

    /// Marks `id` used at `tick`.
    fn touch(&mut self, id: &[u8; 48], tick: u64) {
        if let Some(entry) = self.by_id.get_mut(id) {
            self.by_use.remove(&entry.last_used);
            entry.last_used = tick;
            self.by_use.insert(tick, *id);
        }
    }

    /// Drops the expired entries among the `PRUNING_TAIL` least recently used.
    fn prune(&mut self, now: u64) {
        let expired: Vec<[u8; 48]> = self
            .by_use
            .values()
            .take(PRUNING_TAIL)
            .filter(|id| self.by_id.get(*id).is_some_and(|e| e.expires_at <= now))
            .copied()
            .collect();
        for id in &expired {
            self.remove(id);
        }
    }

    /// Drops the least recently used entry.
    fn evict_one(&mut self) -> bool {
        match self.by_use.pop_first() {
            Some((_, id)) => {
                self.by_id.remove(&id);
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for LocalMaterialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMaterialsCache")
            .field("capacity", &self.capacity)
            .field("entries", &self.len())
            .finish()
    }
}

/// Entries checked for expiry on every lookup, least recently used first.
const PRUNING_TAIL: usize = 16;

impl LocalMaterialsCache {
    /// A cache holding at most `capacity` entries (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
            tick: AtomicU64::new(0),
        }
    }

    /// Number of entries, expired ones included until they are pruned.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.by_id.clear();
        entries.by_use.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_tick(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::Relaxed)
    }

    /// Encryption materials for `id` if the entry is fresh, one more
    /// message of `bytes` stays within the limits and `fits` takes them;
    /// counts that use. Materials that `fits` refuses are left in place,
    /// uncounted, for the callers they fit.
    fn use_encrypt(
        &self,
        id: &[u8; 48],
        now: u64,
        bytes: u64,
        limits: Usage,
        fits: impl Fn(&EncryptionMaterials) -> bool,
    ) -> EncryptLookup {
        let tick = self.next_tick();
        let mut entries = self.lock();
        entries.prune(now);
        let Some(entry) = entries.by_id.get_mut(id) else {
            return EncryptLookup::Miss;
        };
        let within = entry.usage.messages < limits.messages
            && entry.usage.bytes.saturating_add(bytes) <= limits.bytes;
        let fresh = entry.expires_at > now;
        match (&entry.materials, fresh && within) {
            (Materials::Encrypt(m), true) if !fits(m) => EncryptLookup::Unfit,
            (Materials::Encrypt(m), true) => {
                entry.usage.messages += 1;
                entry.usage.bytes += bytes;
                let m = m.clone();
                entries.touch(id, tick);
                EncryptLookup::Hit(m)
            }
            _ => {
                entries.remove(id);
                EncryptLookup::Miss
            }
        }
    }

    fn get_decrypt(&self, id: &[u8; 48], now: u64) -> Option<DecryptionMaterials> {
        let tick = self.next_tick();
        let mut entries = self.lock();
        entries.prune(now);
        let entry = entries.by_id.get(id)?;
        match &entry.materials {
            Materials::Decrypt(m) if entry.expires_at > now => {
                let m = m.clone();
                entries.touch(id, tick);
                Some(m)
            }
            _ => {
                entries.remove(id);
                None
            }
        }
    }

    fn put(&self, id: [u8; 48], materials: Materials, expires_at: u64, usage: Usage) {
        if self.capacity == 0 {
            return;
        }
        let tick = self.next_tick();
        let mut entries = self.lock();
        entries.insert(
            id,
            Entry {
                materials,
                expires_at,
                usage,
                last_used: tick,
            },
        );
        while entries.by_id.len() > self.capacity && entries.evict_one() {}
    }
}

/// What [`LocalMaterialsCache::use_encrypt`] found.
enum EncryptLookup {
    /// Usable materials, counted.
    Hit(EncryptionMaterials),
    /// A live entry whose materials this caller cannot use.
    Unfit,
    /// No live entry (an expired or used-up one is gone now).
    Miss,
}

/// Reuses materials from a [`LocalMaterialsCache`] within limits of age,
/// messages and bytes, asking the underlying manager on a miss.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use kms_envelope::{Client, RawAesKeyring, cmm::CachingMaterialsManager};
/// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[3; 32])?);
/// let cmm = CachingMaterialsManager::builder(Duration::from_secs(300))
///     .keyring(keyring)
///     .max_messages(100)
///     .build()?;
/// let client = Client::new();
/// let a = client.encrypt(b"one").materials_manager(&cmm).run()?;
/// let b = client.encrypt(b"two").materials_manager(&cmm).run()?;
/// // Both messages carry the same wrapped data key.
/// let edk = |m: &[u8]| kms_envelope::MessageHeader::parse(m, None).map(|(h, _)| h.encrypted_data_keys);
/// assert_eq!(edk(&a)?, edk(&b)?);
/// # Ok::<(), kms_envelope::Error>(())
/// ```
pub struct CachingMaterialsManager {
    underlying: Arc<dyn MaterialsManager>,
    depth: usize,
    cache: Arc<LocalMaterialsCache>,
    partition: String,
    max_age_millis: u64,
    limits: Usage,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CachingMaterialsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingMaterialsManager")
            .field("partition", &self.partition)
            .field("max_age_millis", &self.max_age_millis)
            .field("max_messages", &self.limits.messages)
            .field("max_bytes", &self.limits.bytes)
            .field("cache", &self.cache)
            .finish()
    }
}

/// Default limit of messages per cached data key (the specification's 2^32).
/// A builder takes any count from 1 (`caching-cmm.md`: a 64-bit limit),
/// though the official SDKs refuse more than this one.
pub const DEFAULT_MAX_MESSAGES: u64 = 1 << 32;
/// Default limit of bytes per cached data key (2^63 - 1).
pub const DEFAULT_MAX_BYTES: u64 = i64::MAX as u64;
/// Entries of the cache a builder makes when none is given.
pub const DEFAULT_CACHE_CAPACITY: usize = 1000;

/// Builds a [`CachingMaterialsManager`].
#[must_use = "call build()"]
pub struct CachingBuilder {
    max_age: Duration,
    underlying: Option<Arc<dyn MaterialsManager>>,
    cache: Option<Arc<LocalMaterialsCache>>,
    partition: Option<String>,
    limits: Usage,
    clock: Option<Arc<dyn Clock>>,
}

/// A fresh random partition ID (a version-4 UUID, as the reference SDKs
/// make): a counter or any other guessable name could be chosen by another
/// manager on the same cache, which would then be handed this one's data
/// keys (the specification: the default "MUST ... uniquely identify" the
/// manager).
fn random_partition_id() -> Result<String> {
    let mut b = [0u8; 16];
    crate::crypto::fill_random(&mut b)
        .map_err(|_| Error::bad_arg("the system random number generator failed"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = |r: &[u8]| r.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex(&b[..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..])
    ))
}

impl CachingBuilder {
    /// Gets materials on a miss from the default manager over `keyring`.
    pub fn keyring(mut self, keyring: Arc<dyn Keyring>) -> Self {
        self.underlying = Some(Arc::new(DefaultMaterialsManager::new(keyring)));
        self
    }

    /// Gets materials on a miss from `manager`.
    pub fn materials_manager(mut self, manager: Arc<dyn MaterialsManager>) -> Self {
        self.underlying = Some(manager);
        self
    }

    /// The cache to use (default: a new one of 1000 entries). Managers that
    /// share a cache share entries only if their partition IDs are equal.
    pub fn cache(mut self, cache: Arc<LocalMaterialsCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The partition ID (default: unique to this manager).
    pub fn partition_id(mut self, partition: impl Into<String>) -> Self {
        self.partition = Some(partition.into());
        self
    }

    /// Most messages one data key may encrypt: at least 1 (`build` refuses
    /// 0); the default is 2^32, the specification's, which the official SDKs
    /// also take as their highest.
    pub fn max_messages(mut self, max: u64) -> Self {
        self.limits.messages = max;
        self
    }

    /// Most bytes one data key may encrypt (default 2^63 - 1).
    pub fn max_bytes(mut self, max: u64) -> Self {
        self.limits.bytes = max;
        self
    }

    /// The clock for entry ages (default: the system's monotonic clock;
    /// required on wasm32, which has none).
    ///
    /// Managers that share a [`LocalMaterialsCache`] must read the same
    /// clock: an entry's expiry is stored in the time of the manager that
    /// made it and checked in the time of the one that reads it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The manager.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgument`] if no keyring or materials manager was set;
    /// the manager set nests [`MAX_NESTING`](super::MAX_NESTING) deep
    /// already; `max_age` is under one millisecond; `max_messages` is 0 or
    /// `max_bytes` is over 2^63 - 1; on wasm32, no
    /// [`clock`](Self::clock) was set; or, when no
    /// [`partition_id`](Self::partition_id) was set, the system random
    /// number generator fails.
    pub fn build(self) -> Result<CachingMaterialsManager> {
        let underlying = self.underlying.ok_or_else(|| {
            Error::bad_arg("a caching manager needs a keyring or a materials manager")
        })?;
        let depth = super::wrapping_depth(&*underlying, "caching manager")?;
        let max_age_millis = u64::try_from(self.max_age.as_millis()).unwrap_or(u64::MAX);
        if max_age_millis == 0 {
            return Err(Error::bad_arg(
                "the cache's maximum age must be at least one millisecond",
            ));
        }
        if self.limits.messages == 0 {
            return Err(Error::bad_arg("max_messages must be at least 1, not 0"));
        }
        if self.limits.bytes > DEFAULT_MAX_BYTES {
            return Err(Error::bad_arg(format!(
                "max_bytes must be at most 2^63 - 1, not {}",
                self.limits.bytes
            )));
        }
        let clock = match self.clock {
            Some(clock) => clock,
            #[cfg(not(target_arch = "wasm32"))]
            None => Arc::new(SystemClock),
            #[cfg(target_arch = "wasm32")]
            None => {
                return Err(Error::bad_arg(
                    "wasm32 has no system clock: supply one with clock()",
                ))
            }
        };
        let partition = match self.partition {
            Some(p) => p,
            None => random_partition_id()?,
        };
        Ok(CachingMaterialsManager {
            underlying,
            depth,
            cache: self
                .cache
                .unwrap_or_else(|| Arc::new(LocalMaterialsCache::new(DEFAULT_CACHE_CAPACITY))),
            partition,
            max_age_millis,
            limits: self.limits,
            clock,
        })
    }
}

impl CachingMaterialsManager {
    /// A builder; `max_age` (at least 1 ms: [`CachingBuilder::build`]
    /// refuses less) bounds how long a data key is reused.
    pub fn builder(max_age: Duration) -> CachingBuilder {
        CachingBuilder {
            max_age,
            underlying: None,
            cache: None,
            partition: None,
            limits: Usage {
                messages: DEFAULT_MAX_MESSAGES,
                bytes: DEFAULT_MAX_BYTES,
            },
            clock: None,
        }
    }

    /// The partition ID.
    pub fn partition_id(&self) -> &str {
        &self.partition
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<LocalMaterialsCache> {
        &self.cache
    }

    /// SHA-384 of `parts` joined by zero bytes, after resource 01 and the scope.
    /// A host hash that failed (an empty digest) is an error, not an ID.
    fn cache_id(&self, scope: u8, suffix: &[&[u8]]) -> Result<[u8; 48]> {
        let mut h = Hasher::new(HashAlg::Sha384);
        h.update(&[0x01, 0x00, scope, 0x00]);
        h.update(self.partition.as_bytes());
        for part in suffix {
            h.update(&[0x00]);
            h.update(part);
        }
        <[u8; 48]>::try_from(h.finish().as_slice())
            .map_err(|_| Error::bad_arg("the SHA-384 of the cache ID failed"))
    }

    async fn encrypt(&self, request: EncryptionRequest) -> Result<EncryptionMaterials> {
        let identity = request.algorithm_suite.is_some_and(|s| !s.has_kdf());
        // Without a known length the byte limit cannot be enforced.
        let Some(bytes) = request.max_plaintext_length.filter(|_| !identity) else {
            return self.underlying.get_encryption_materials(request).await;
        };
        // A message larger than the byte limit is neither served from the
        // cache nor stored there, and leaves the entries to the messages
        // that fit.
        if bytes > self.limits.bytes {
            return self.underlying.get_encryption_materials(request).await;
        }
        let ec = request.encryption_context.serialize()?;
        let suite_id = request.algorithm_suite.map(|s| s.id().to_be_bytes());
        let mut parts: Vec<&[u8]> = match &suite_id {
            None => vec![&[0x00]],
            Some(id) => vec![&[0x01], id],
        };
        parts.push(&ec);
        // The specification's identifier has no required keys. They shape
        // the materials (which pairs the message leaves out), so they are
        // added when present: otherwise an entry made for one set of
        // required keys could serve a caller who asked for another.
        let mut required = Vec::new();
        for k in &request.required_encryption_context_keys {
            required.extend_from_slice(&(k.len() as u64).to_be_bytes());
            required.extend_from_slice(k.as_bytes());
        }
        if !required.is_empty() {
            parts.extend([&b"required"[..], &required]);
        }
        let id = self.cache_id(0x01, &parts)?;
        let now = self.clock.now_millis();
        let policy = request.commitment_policy;
        // The cache ID leaves the commitment policy out (the specification's
        // formula), and without a requested suite the default suite follows
        // the policy: an entry made under another policy is no answer here,
        // and is left for the callers it fits.
        let fits = |m: &EncryptionMaterials| policy.allows_encrypt(m.algorithm_suite());
        let cached_elsewhere = match self.cache.use_encrypt(&id, now, bytes, self.limits, fits) {
            EncryptLookup::Hit(m) => return Ok(m),
            EncryptLookup::Unfit => true,
            EncryptLookup::Miss => false,
        };
        let materials = self.underlying.get_encryption_materials(request).await?;
        if !cached_elsewhere && materials.algorithm_suite().has_kdf() {
            let expires = now.saturating_add(self.max_age_millis);
            let usage = Usage { messages: 1, bytes };
            self.cache
                .put(id, Materials::Encrypt(materials.clone()), expires, usage);
        }
        Ok(materials)
    }

    async fn decrypt(&self, request: DecryptionRequest) -> Result<DecryptionMaterials> {
        if !request.algorithm_suite.has_kdf() {
            return self.underlying.decrypt_materials(request).await;
        }
        let mut edks: Vec<Vec<u8>> = request
            .encrypted_data_keys
            .iter()
            .map(|e| {
                let mut b = Vec::new();
                for field in [e.provider_id.as_bytes(), &e.provider_info, &e.ciphertext] {
                    b.extend_from_slice(&(field.len() as u16).to_be_bytes());
                    b.extend_from_slice(field);
                }
                b
            })
            .collect();
        edks.sort();
        let ec = request.encryption_context.serialize()?;
        let suite = request.algorithm_suite.id().to_be_bytes();
        let edks = edks.concat();
        // The specification's identifier covers the header's context only. The
        // reproduced context also shapes the materials (its extra pairs are
        // authenticated), so it is added when present: otherwise a cached
        // entry could satisfy a caller who reproduced a different context.
        let reproduced = match &request.reproduced_encryption_context {
            Some(r) => Some(r.serialize()?),
            None => None,
        };
        let id = match &reproduced {
            None => self.cache_id(0x02, &[&suite, &edks, &ec])?,
            Some(r) => self.cache_id(0x02, &[&suite, &edks, &ec, b"reproduced", r])?,
        };
        let now = self.clock.now_millis();
        if let Some(m) = self.cache.get_decrypt(&id, now) {
            return Ok(m);
        }
        let materials = self.underlying.decrypt_materials(request).await?;
        let expires = now.saturating_add(self.max_age_millis);
        self.cache.put(
            id,
            Materials::Decrypt(materials.clone()),
            expires,
            Usage::default(),
        );
        Ok(materials)
    }
}

impl MaterialsManager for CachingMaterialsManager {
    fn get_encryption_materials<'a>(
        &'a self,
        request: EncryptionRequest,
    ) -> BoxFuture<'a, Result<EncryptionMaterials>> {
        Box::pin(self.encrypt(request))
    }

    fn decrypt_materials<'a>(
        &'a self,
        request: DecryptionRequest,
    ) -> BoxFuture<'a, Result<DecryptionMaterials>> {
        Box::pin(self.decrypt(request))
    }

    fn nesting_depth(&self) -> usize {
        self.depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlgorithmSuite, EncryptionContext};

    fn decrypt_entry() -> Materials {
        Materials::Decrypt(DecryptionMaterials::new(
            AlgorithmSuite::default(),
            EncryptionContext::new(),
        ))
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let cache = LocalMaterialsCache::new(2);
        let (a, b, c) = ([1; 48], [2; 48], [3; 48]);
        cache.put(a, decrypt_entry(), 100, Usage::default());
        cache.put(b, decrypt_entry(), 100, Usage::default());
        assert!(cache.get_decrypt(&a, 0).is_some());
        cache.put(c, decrypt_entry(), 100, Usage::default());
        assert!(
            cache.get_decrypt(&b, 0).is_none(),
            "b was least recently used"
        );
        assert!(cache.get_decrypt(&a, 0).is_some() && cache.get_decrypt(&c, 0).is_some());
        // Expired entries among the least recently used go at the next lookup.
        cache.put(b, decrypt_entry(), 5, Usage::default());
        cache.get_decrypt(&a, 0);
        cache.get_decrypt(&c, 0);
        assert_eq!(cache.len(), 2);
        assert!(cache.get_decrypt(&[9; 48], 10).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_use_order_index_always_matches_the_entries() {
        let cache = LocalMaterialsCache::new(8);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = [(x % 24) as u8; 48];
            let now = step / 16;
            match (x >> 8) % 4 {
                0 => cache.put(id, decrypt_entry(), now + (x >> 16) % 64, Usage::default()),
                1 => {
                    cache.get_decrypt(&id, now);
                }
                2 => {
                    cache.use_encrypt(
                        &id,
                        now,
                        1,
                        Usage {
                            messages: 4,
                            bytes: 100,
                        },
                        |_| x & 1 == 0,
                    );
                }
                _ => cache.lock().remove(&id),
            }
            let entries = cache.lock();
            assert_eq!(entries.by_id.len(), entries.by_use.len(), "step {step}");
            assert!(entries.by_id.len() <= 8);
            for (tick, id) in &entries.by_use {
                assert_eq!(entries.by_id.get(id).map(|e| e.last_used), Some(*tick));
            }
        }
    }
}
