//! What the access path reads on every request, kept in memory: an API key with its holder,
//! and a grant's terms (the grant, its published entry, its pseudonym key and masking).
//!
//! Why: a verify or view answers from the lake's key files in microseconds, and
//! reading the same five metadata rows from the database on every request had become the
//! bulk of its cost (docs/benchmarks.md).
//!
//! Freshness is the invariant that matters, because these rows decide who may see data:
//! - Every entry carries the generation it was read under. Any state-changing request that
//!   goes through this process bumps the generation *after* its handler has committed (the
//!   HTTP layer's gate does), so a revoked key or grant, a suspension, a locked account or an
//!   unpublished entry takes effect on the very next request. A reader takes the generation
//!   *before* it reads the database, so an entry read just before a commit is tagged with the
//!   old generation and is never served after the bump.
//! - Changes made by another process (the CLI, a second server on the same PostgreSQL) are not
//!   announced; they are seen within [`TTL`] plus the time of one read: once an entry is older
//!   than [`TTL`], the first request to find it reads it again while the others keep being
//!   served the entry (for at most [`REFRESH_GRACE`] more), so that the whole load does not
//!   fall on the database at the same instant every second (that herd was the sharing
//!   benchmark's slowest percentile).
//! - Only what was found is cached; a miss (unknown key, unknown grant) is always asked again.
//!   Time-dependent checks (expiry, an emergency's end) run on every request from the cached
//!   rows, never cached as verdicts.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pdp_storage::{ApiKey, User};

use crate::sharing::AccessTerms;

/// How long an entry may be served without reading it again, for changes made by other
/// processes.
pub const TTL: Duration = Duration::from_secs(1);

/// How long an entry past [`TTL`] is still served to others while one request reads it again;
/// if that read has not put a fresh entry by then (it failed, or its task was cancelled), the
/// entry is no longer served and every request reads.
pub const REFRESH_GRACE: Duration = Duration::from_millis(500);

/// The most entries per map; a full map is emptied (entries are cheap to read again).
const MAX_ENTRIES: usize = 10_000;

struct Slot<T> {
    generation: u64,
    at: Instant,
    /// Whether a request has been sent to read the entry again (it is past [`TTL`]).
    refreshing: bool,
    value: T,
}

struct Map<K, T>(Mutex<HashMap<K, Slot<T>>>);

impl<K: Eq + Hash, T: Clone> Map<K, T> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get(&self, k: &K, generation: u64) -> Option<T> {
        self.get_at(k, generation, Instant::now())
    }

    /// The entry as seen at `now`: `None` tells the caller to read the database (and put).
    fn get_at(&self, k: &K, generation: u64, now: Instant) -> Option<T> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let slot = map.get_mut(k).filter(|s| s.generation == generation)?;
        let age = now.saturating_duration_since(slot.at);
        if age < TTL {
            return Some(slot.value.clone());
        }
        if !slot.refreshing {
            // This caller reads it again; the others go on with the entry meanwhile.
            slot.refreshing = true;
            return None;
        }
        (age < TTL + REFRESH_GRACE).then(|| slot.value.clone())
    }

    fn put(&self, k: K, generation: u64, value: T) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(k, Slot { generation, at: Instant::now(), refreshing: false, value });
    }
}

/// The caches of the access path; one per server.
pub struct AccessCache {
    generation: AtomicU64,
    api_keys: Map<i64, Arc<(ApiKey, Arc<User>)>>,
    grants: Map<i64, Arc<AccessTerms>>,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache").field("generation", &self.generation()).finish_non_exhaustive()
    }
}

impl Default for AccessCache {
    fn default() -> Self {
        Self { generation: AtomicU64::new(0), api_keys: Map::new(), grants: Map::new() }
    }
}

impl AccessCache {
    /// The current generation: take it before reading the database for [`Self::put_grant`]
    /// or [`Self::put_api_key`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets everything read so far; called after every committed change.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn api_key(&self, id: i64) -> Option<Arc<(ApiKey, Arc<User>)>> {
        self.api_keys.get(&id, self.generation())
    }

    pub fn put_api_key(&self, id: i64, generation: u64, v: Arc<(ApiKey, Arc<User>)>) {
        self.api_keys.put(id, generation, v);
    }

    pub fn grant(&self, id: i64) -> Option<Arc<AccessTerms>> {
        self.grants.get(&id, self.generation())
    }

    pub fn put_grant(&self, id: i64, generation: u64, v: Arc<AccessTerms>) {
        self.grants.put(id, generation, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers: R-SHR-13 (a suspension or revocation is not hidden by an entry read before it)
    #[test]
    fn an_entry_read_before_a_change_is_not_served_after_it() {
        let m: Map<i64, &str> = Map::new();
        let before = 7;
        m.put(1, before, "old");
        assert_eq!(m.get(&1, before), Some("old"));
        assert_eq!(m.get(&1, before + 1), None, "a bumped generation hides older entries");
        assert_eq!(m.get(&2, before), None, "misses are not cached");

        let c = AccessCache::default();
        let g = c.generation();
        c.invalidate();
        assert_ne!(c.generation(), g);
    }

    /// covers: R-SHR-13 (a change by another process is seen within the TTL plus one read, and
    /// only one request reads it while the entry is being refreshed)
    #[test]
    fn one_request_refreshes_an_old_entry_while_the_others_are_served() {
        let m: Map<i64, &str> = Map::new();
        m.put(1, 0, "v1");
        let put_at = Instant::now();
        assert_eq!(m.get_at(&1, 0, put_at + TTL / 2), Some("v1"), "fresh");
        let old = put_at + TTL;
        assert_eq!(m.get_at(&1, 0, old), None, "the first request past the TTL reads again");
        assert_eq!(m.get_at(&1, 0, old), Some("v1"), "the others are served meanwhile");
        assert_eq!(m.get_at(&1, 0, old + REFRESH_GRACE), None, "a refresh that never came stops the serving");
        assert_eq!(m.get_at(&1, 1, put_at), None, "a bumped generation still hides it at once");
        m.put(1, 0, "v2");
        assert_eq!(m.get(&1, 0), Some("v2"), "the refreshed entry replaces the old one");
    }
}
