//! The output cache of `#[node(compute, cache)]`: a hit needs equal inputs (a hash that
//! collides is a miss), entries of one node are never another's, the cache is bounded by
//! entries and bytes, per node if asked, entries expire, and a capacity of 0 turns it off.

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onex::prelude::*;
use onex::{CachePolicy, RuntimeBuilder};

fn modes() -> [RunOptions; 3] {
    [
        RunOptions::new(),
        RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 3 }),
        RunOptions::new().mode(ExecutionMode::Batch),
    ]
}

/// A hasher under which every input collides with every other.
#[derive(Default)]
struct Collide;

impl Hasher for Collide {
    fn finish(&self) -> u64 {
        42
    }
    fn write(&mut self, _: &[u8]) {}
}

fn colliding() -> RuntimeBuilder {
    Runtime::builder().cache_hasher(BuildHasherDefault::<Collide>::default())
}

// ---- a hit compares the inputs ----

static SQUARES: AtomicUsize = AtomicUsize::new(0);

#[node(compute, cache)]
fn square(x: &u64) -> u64 {
    SQUARES.fetch_add(1, Ordering::SeqCst);
    x * x
}

workflow! {
    workflow Square(x: u64) -> u64 {
        s = square(x);
        return s;
    }
}

#[tokio::test]
async fn inputs_whose_hashes_collide_each_get_their_own_output() {
    for opts in modes() {
        let rt = colliding().build();
        let before = SQUARES.load(Ordering::SeqCst);
        let run = |x| Square::run(&rt, x, opts.clone());
        assert_eq!(run(3).await.unwrap().output, 9);
        assert_eq!(run(4).await.unwrap().output, 16, "not 3's output");
        assert_eq!(run(4).await.unwrap().report.cache_hits, 1);
        assert_eq!(run(3).await.unwrap().output, 9, "not 4's output");
        assert_eq!(SQUARES.load(Ordering::SeqCst) - before, 3);
    }
}

static LABELS: AtomicUsize = AtomicUsize::new(0);

/// Several inputs, one unsized (`&str`), one optional.
#[node(compute, cache)]
fn label(name: &str, n: &u64, suffix: Option<&String>) -> String {
    LABELS.fetch_add(1, Ordering::SeqCst);
    format!("{name}-{n}{}", suffix.map_or("", String::as_str))
}

#[node(compute)]
fn same(n: &u64) -> u64 {
    *n
}

#[node(compute)]
fn maybe_suffix(n: &u64) -> String {
    format!("/{n}")
}

workflow! {
    workflow Label(name: String, n: u64) -> String {
        m = same(n);
        #[step(when = |m| *m > 10)]
        suffix = maybe_suffix(m);
        out = label(name, n, suffix);
        return out;
    }
}

#[tokio::test]
async fn every_input_is_compared_including_unsized_and_skipped_ones() {
    let rt = colliding().build();
    let before = LABELS.load(Ordering::SeqCst);
    let run = |name: &str, n| Label::run(&rt, name.to_string(), n, RunOptions::new());
    assert_eq!(run("a", 1).await.unwrap().output, "a-1");
    assert_eq!(run("b", 1).await.unwrap().output, "b-1");
    assert_eq!(run("b", 2).await.unwrap().output, "b-2");
    assert_eq!(run("b", 12).await.unwrap().output, "b-12/12");
    let again = run("b", 12).await.unwrap();
    assert_eq!(
        (again.output.as_str(), again.report.cache_hits),
        ("b-12/12", 1)
    );
    assert_eq!(LABELS.load(Ordering::SeqCst) - before, 4);
}

// ---- one node's entries are never another's ----

mod first {
    use onex::prelude::*;
    /// Named `Parse`, like the one in `second`.
    #[node(compute, cache)]
    pub fn parse(x: &u64) -> u64 {
        x + 1
    }
}

mod second {
    use onex::prelude::*;
    #[node(compute, cache)]
    pub fn parse(x: &u64) -> u64 {
        x + 2
    }
}

workflow! {
    workflow TwoParsers(x: u64) -> (u64, u64) {
        a = first::parse(x);
        b = second::parse(x);
        both = pair(a, b);
        return both;
    }
}

#[node(compute)]
fn pair(a: &u64, b: &u64) -> (u64, u64) {
    (*a, *b)
}

#[tokio::test]
async fn nodes_of_the_same_name_and_types_do_not_share_entries() {
    // Same node type, same input, same hash: only the node itself tells them apart.
    let rt = colliding().build();
    for _ in 0..2 {
        for opts in modes() {
            let run = TwoParsers::run(&rt, 10, opts).await.unwrap();
            assert_eq!(run.output, (11, 12));
        }
    }
}

// ---- bounds ----

#[node(compute, cache)]
fn counted(x: &u64) -> u64 {
    x + 1
}

workflow! {
    workflow Counted(x: u64) -> u64 {
        c = counted(x);
        return c;
    }
}

/// Calls of `off_counted`, which only the test below runs (tests run concurrently).
static OFF_CALLS: AtomicUsize = AtomicUsize::new(0);

#[node(compute, cache)]
fn off_counted(x: &u64) -> u64 {
    OFF_CALLS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

workflow! {
    workflow OffCounted(x: u64) -> u64 {
        c = off_counted(x);
        return c;
    }
}

#[tokio::test]
async fn a_capacity_of_zero_turns_caching_off() {
    let rt = Runtime::builder().cache_capacity(0).build();
    for _ in 0..3 {
        let run = OffCounted::run(&rt, 1, RunOptions::new()).await.unwrap();
        assert_eq!((run.output, run.report.cache_hits), (2, 0));
    }
    assert_eq!(OFF_CALLS.load(Ordering::SeqCst), 3);
    assert_eq!(rt.cached_outputs(), 0);
}

const MB: usize = 1 << 20;

#[node(compute, cache)]
fn blob(seed: &u64) -> Vec<u8> {
    vec![*seed as u8; MB]
}

workflow! {
    workflow Blob(seed: u64) -> Vec<u8> {
        b = blob(seed);
        return b;
    }
}

#[tokio::test]
async fn the_cache_is_bounded_by_bytes_as_well_as_entries() {
    let rt = Runtime::builder()
        .cache_policy(CachePolicy::DEFAULT.max_bytes(4 * MB))
        .build();
    for seed in 0..20 {
        Blob::run(&rt, seed, RunOptions::new()).await.unwrap();
        assert!(rt.cached_bytes() <= 4 * MB, "{} bytes", rt.cached_bytes());
    }
    // Each entry weighs its megabyte: three fit, not 20 (nor 1,024).
    assert_eq!(rt.cached_outputs(), 3);
    assert!(rt.cached_bytes() >= 3 * MB);
    let hit = Blob::run(&rt, 19, RunOptions::new()).await.unwrap();
    assert_eq!(hit.report.cache_hits, 1, "the most recent entry stayed");
}

#[tokio::test]
async fn a_node_with_a_policy_of_its_own_keeps_its_entries_apart() {
    let rt = Runtime::builder()
        .cache_capacity(2)
        .cache_policy_for("Blob", CachePolicy::DEFAULT.max_entries(1))
        .build();
    for x in 0..3 {
        Counted::run(&rt, x, RunOptions::new()).await.unwrap();
        Blob::run(&rt, x, RunOptions::new()).await.unwrap();
    }
    // `Counted` keeps 2 entries under the shared bound; `Blob` 1 under its own.
    assert_eq!(rt.cached_outputs(), 3);
    let blob = Blob::run(&rt, 2, RunOptions::new()).await.unwrap();
    assert_eq!(blob.report.cache_hits, 1);
    let blob = Blob::run(&rt, 1, RunOptions::new()).await.unwrap();
    assert_eq!(blob.report.cache_hits, 0, "evicted by `Blob`'s own bound");
    let counted = Counted::run(&rt, 1, RunOptions::new()).await.unwrap();
    assert_eq!(
        counted.report.cache_hits, 1,
        "not evicted by `Blob`'s entries"
    );

    let off = Runtime::builder()
        .cache_policy_for("Blob", CachePolicy::OFF)
        .build();
    Blob::run(&off, 1, RunOptions::new()).await.unwrap();
    Counted::run(&off, 1, RunOptions::new()).await.unwrap();
    assert_eq!(off.cached_outputs(), 1, "only `Counted`'s");
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_their_time_to_live() {
    let rt = Runtime::builder()
        .cache_policy_for("Counted", CachePolicy::DEFAULT.ttl(Duration::from_secs(60)))
        .build();
    let hits = async || {
        Counted::run(&rt, 7, RunOptions::new())
            .await
            .unwrap()
            .report
            .cache_hits
    };
    assert_eq!(hits().await, 0);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(hits().await, 1, "alive at 59 s");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(hits().await, 0, "expired at 60 s, computed again");
    assert_eq!(hits().await, 1, "and stored again");
}

// ---- user code in the cache path ----

/// Inputs whose `Hash` panics.
#[derive(Clone, PartialEq, Eq)]
pub struct Touchy(u64);

impl std::hash::Hash for Touchy {
    fn hash<H: Hasher>(&self, _: &mut H) {
        panic!("Touchy cannot be hashed");
    }
}

#[node(compute, cache)]
fn touchy(x: &Touchy) -> u64 {
    x.0
}

workflow! {
    workflow TouchyFlow(x: Touchy) -> u64 {
        t = touchy(x);
        return t;
    }
}

#[tokio::test]
async fn a_panic_in_an_inputs_hash_costs_the_caching_not_the_run() {
    let rt = Runtime::default();
    for opts in modes() {
        let run = TouchyFlow::run(&rt, Touchy(5), opts).await.unwrap();
        assert_eq!((run.output, run.report.cache_hits), (5, 0));
    }
    assert_eq!(rt.cached_outputs(), 0);
}
