//! The keys a load has accepted so far, kept mostly out of memory (R-AGG-02 key uniqueness,
//! with memory that stays flat as files grow).
//!
//! A load must refuse a row whose key an earlier row of the same load already has. Keeping
//! every key (or even a 128-bit fingerprint of it) in a hash set made the loader's memory grow
//! with the file: about 280 MB of set for 10M rows, doubled for a moment whenever it grew. So
//! the set is split in two:
//!
//! - in memory, split-block Bloom filters (two bytes per key) answer "certainly new" for
//!   almost every new key, with one cache line per filter;
//! - on disk, an append-only log of every accepted fingerprint (16 bytes per key, in a
//!   temporary file that disappears with the load) is the exact record.
//!
//! A key the filters call "maybe seen" (a real duplicate, or one false positive in about a
//! thousand) is not decided at once: the loader holds the row back and asks
//! [`KeySet::logged_among`] about a whole batch of held rows at a time, one sequential read of
//! the log. A new key must be probed in every filter, one cache miss each, so a load that can
//! estimate its row count (a file of known size, see the sequencer) sizes the first filter for
//! it and probes one; when keys outgrow the filters, another is added with four times the
//! capacity of the last, so an estimate that is too low, or none, costs probes, never
//! correctness.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

/// Keys of the first filter when no larger estimate is given; each further filter holds four
/// times as many as the last.
const FIRST_CAPACITY: usize = 1 << 20;
/// The largest first filter made from an estimate, in keys (128 MB of filter): an estimate is
/// a guess, and a wrong guess must not take memory the load would never use.
const MAX_ESTIMATE: usize = 1 << 26;
/// Filter bits per key: a false positive rate of about 0.1% for split-block filters.
const BITS_PER_KEY: usize = 16;

/// A split-block Bloom filter (the layout Parquet uses): each key sets one bit in each of the
/// eight 32-bit words of one 256-bit block, so a lookup touches a single cache line.
struct Filter {
    blocks: Vec<[u32; 8]>,
    capacity: usize,
    len: usize,
}

const SALT: [u32; 8] = [0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31];

impl Filter {
    fn new(capacity: usize) -> Self {
        let blocks = (capacity * BITS_PER_KEY / 256).next_power_of_two().max(1);
        Self { blocks: vec![[0; 8]; blocks], capacity, len: 0 }
    }

    /// The block and the eight bit masks of a fingerprint. Fingerprints are already uniform
    /// random bits (keyed SipHash), so they are used as the hash directly: the high half picks
    /// the block, the low half the bits.
    fn locate(&self, fp: u128) -> (usize, [u32; 8]) {
        let block = self.block_of(fp);
        let low = fp as u32;
        let mut masks = [0u32; 8];
        for (m, salt) in masks.iter_mut().zip(SALT) {
            *m = 1 << (low.wrapping_mul(salt) >> 27);
        }
        (block, masks)
    }

    fn insert(&mut self, fp: u128) {
        let (b, masks) = self.locate(fp);
        for (w, m) in self.blocks[b].iter_mut().zip(masks) {
            *w |= m;
        }
        self.len += 1;
    }

    /// The block of a fingerprint: its high half, masked to the filter's size.
    fn block_of(&self, fp: u128) -> usize {
        ((fp >> 64) as u64 as usize) & (self.blocks.len() - 1)
    }

    /// Asks the processor to start loading the block of `fp` into the cache, so the probe a
    /// few keys later finds it there: the filters are far larger than the cache, and a load
    /// spent most of its key-set time waiting for one block after another.
    fn prefetch(&self, fp: u128) {
        let block = self.block_of(fp);
        #[cfg(target_arch = "x86_64")]
        {
            let ptr = self.blocks[block].as_ptr().cast::<i8>();
            // SAFETY: a prefetch is only a hint: it reads nothing into the program, cannot fault,
            // and `ptr` points into `self.blocks` anyway. SSE, which it needs, is part of every
            // x86-64 processor.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = block;
    }

    fn may_contain(&self, fp: u128) -> bool {
        let (b, masks) = self.locate(fp);
        self.blocks[b].iter().zip(masks).all(|(w, m)| w & m != 0)
    }
}

/// What [`KeySet::insert_new`] knows about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not accepted before; now recorded.
    New,
    /// Perhaps accepted before; not recorded. Resolve with [`KeySet::logged_among`].
    Maybe,
}

pub struct KeySet {
    filters: Vec<Filter>,
    log: BufWriter<File>,
    logged: u64,
}

impl KeySet {
    pub fn new() -> std::io::Result<Self> {
        Self::with_capacity(0)
    }

    /// A key set whose first filter holds `expected` keys (at least [`FIRST_CAPACITY`], at
    /// most [`MAX_ESTIMATE`]) before another filter is needed.
    pub fn with_capacity(expected: usize) -> std::io::Result<Self> {
        Ok(Self {
            filters: vec![Filter::new(expected.clamp(FIRST_CAPACITY, MAX_ESTIMATE))],
            log: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            logged: 0,
        })
    }

    /// Starts fetching what [`Self::insert_new`] of `fp` will read (see `Filter::prefetch`);
    /// callers with a run of keys call it some keys ahead.
    pub fn prefetch(&self, fp: u128) {
        for f in &self.filters {
            f.prefetch(fp);
        }
    }

    /// Records `fp` if it is certainly new.
    pub fn insert_new(&mut self, fp: u128) -> std::io::Result<Seen> {
        if self.filters.iter().any(|f| f.may_contain(fp)) {
            return Ok(Seen::Maybe);
        }
        self.insert(fp)?;
        Ok(Seen::New)
    }

    /// Records `fp` as accepted (a held-back key found new).
    pub fn insert(&mut self, fp: u128) -> std::io::Result<()> {
        let last = self.filters.last_mut().expect("one filter at least");
        if last.len >= last.capacity {
            let next = last.capacity * 4;
            self.filters.push(Filter::new(next));
        }
        self.filters.last_mut().expect("just checked").insert(fp);
        self.log.write_all(&fp.to_le_bytes())?;
        self.logged += 1;
        Ok(())
    }

    /// Which of `fps` were recorded: one sequential read of the log.
    pub fn logged_among(&mut self, fps: &HashSet<u128>) -> std::io::Result<HashSet<u128>> {
        let mut found = HashSet::new();
        if fps.is_empty() || self.logged == 0 {
            return Ok(found);
        }
        self.log.flush()?;
        let file = self.log.get_mut();
        file.seek(SeekFrom::Start(0))?;
        let mut remaining = self.logged * 16;
        let mut buf = vec![0u8; 1 << 20];
        while remaining > 0 {
            let want = (remaining as usize).min(buf.len());
            file.read_exact(&mut buf[..want])?;
            for chunk in buf[..want].chunks_exact(16) {
                let fp = u128::from_le_bytes(chunk.try_into().expect("16 bytes"));
                if fps.contains(&fp) {
                    found.insert(fp);
                }
            }
            remaining -= want as u64;
        }
        file.seek(SeekFrom::End(0))?;
        Ok(found)
    }

    /// Bytes of memory the filters hold.
    pub fn filter_bytes(&self) -> usize {
        self.filters.iter().map(|f| f.blocks.len() * 32).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(i: u64) -> u128 {
        // Spread like real fingerprints: the key set relies on uniform bits.
        use std::hash::Hasher;
        let mut a = std::hash::DefaultHasher::new();
        a.write_u64(i);
        let mut b = std::hash::DefaultHasher::new();
        b.write_u64(!i);
        (u128::from(a.finish()) << 64) | u128::from(b.finish())
    }

    // internals, no requirement (key uniqueness: a key accepted once is never "certainly new" again, and
    // the log decides exactly which held-back keys were accepted)
    #[test]
    fn repeated_keys_are_never_new_and_the_log_is_exact() {
        let mut set = KeySet::new().unwrap();
        let n = 3 * FIRST_CAPACITY as u64; // crosses into a second filter
        let keys: Vec<u128> = (0..n).map(fp).collect();
        let mut maybe = 0u64;
        let mut held = HashSet::new();
        for &k in &keys {
            if set.insert_new(k).unwrap() == Seen::Maybe {
                maybe += 1;
                held.insert(k);
            }
        }
        assert!(set.filters.len() >= 2);
        // False positives of new keys are rare (about 0.1%), and none was recorded.
        assert!(maybe < n / 200, "{maybe} false positives of {n}");
        assert!(set.logged_among(&held).unwrap().is_empty());
        for &k in held.iter() {
            set.insert(k).unwrap();
        }
        // Every key seen before is a "maybe", and the log confirms each of them.
        let sample: HashSet<u128> = keys.iter().step_by(997).copied().collect();
        for &k in &sample {
            assert_eq!(set.insert_new(k).unwrap(), Seen::Maybe);
        }
        let unseen: HashSet<u128> = (n..n + 100).map(fp).collect();
        let mut ask = sample.clone();
        ask.extend(&unseen);
        assert_eq!(set.logged_among(&ask).unwrap(), sample);
        // Writing continues after a read.
        set.insert(fp(n + 1000)).unwrap();
        let last: HashSet<u128> = [fp(n + 1000)].into();
        assert_eq!(set.logged_among(&last).unwrap(), last);
    }

    // internals, no requirement (a key set sized from an estimate keeps one filter while the estimate
    // holds, grows past a wrong one, and decides keys exactly either way)
    #[test]
    fn an_estimate_sizes_one_filter_and_a_wrong_one_only_adds_filters() {
        let n = 2 * FIRST_CAPACITY as u64;
        let mut sized = KeySet::with_capacity(n as usize).unwrap();
        let mut small = KeySet::with_capacity(10).unwrap();
        for i in 0..n {
            sized.insert(fp(i)).unwrap();
            small.insert(fp(i)).unwrap();
        }
        assert_eq!(sized.filters.len(), 1);
        assert_eq!(small.filters.len(), 2);
        for set in [&mut sized, &mut small] {
            for i in (0..n).step_by(1009) {
                assert_eq!(set.insert_new(fp(i)).unwrap(), Seen::Maybe);
            }
            let asked: HashSet<u128> = [fp(5), fp(n + 5)].into();
            assert_eq!(set.logged_among(&asked).unwrap(), [fp(5)].into());
        }
        // An absurd estimate is capped.
        assert!(KeySet::with_capacity(usize::MAX).unwrap().filter_bytes() <= MAX_ESTIMATE * BITS_PER_KEY / 8);
    }
}
