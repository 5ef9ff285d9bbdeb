//! The process's allocator and its settings, shared by the `pdp` binary and the lake's
//! benchmarks, so a benchmark measures what the server does. Linking this crate makes mimalloc
//! the global allocator of the whole program.

/// mimalloc rather than the system allocator: the access path allocates many small, short-lived
/// values per request, where glibc malloc cost a quarter of the CPU, and glibc keeps memory
/// that a large load or export freed (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option number of the purge delay (`mi_option_purge_delay` in its `mimalloc.h`;
/// the Rust bindings name no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system after 10 s instead of mimalloc's default of 1 s.
/// mimalloc starts the delay when the first free range of an arena is scheduled and, when it
/// expires, hands back every range scheduled by then, including those freed a moment ago. A
/// load frees and reallocates row blocks, batches and row-group buffers all the time, so with
/// 1 s it gave its working memory back about once a second and took it again as fresh pages
/// the kernel had to zero: 25 000 page faults and 5 to 10 % of a 10M-row load's CPU, against
/// 2 000 faults at 10 s (docs/benchmarks.md). 10 s is also jemalloc's default decay; the memory
/// still goes back once the work is over. `MIMALLOC_PURGE_DELAY` (milliseconds) overrides it.
/// Called first thing in `main`.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` only stores a number in mimalloc's option table, which its
        // allocator reads when it next decides what to purge; it may be called at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10_000) }
    }
}
