//! Pass cases for `workflow!`: fan-out merged by a reducer, a conditional fast track, a
//! nested workflow, a `map` whose width is known only at run time, optional inputs, caching.
//! Each runs in every execution mode and must give the same output.

use std::sync::atomic::{AtomicUsize, Ordering};

use onex::prelude::*;
use onex::{NodeKind, StepState};

fn modes() -> [RunOptions; 3] {
    [
        RunOptions::new(),
        RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 3 }),
        RunOptions::new().mode(ExecutionMode::Batch),
    ]
}

fn wave_names(g: &onex::Graph) -> Vec<Vec<&str>> {
    g.waves()
        .map(|w| w.iter().map(|&s| g.step(s).name.as_ref()).collect())
        .collect()
}

// ---- fan-out over three sources, merged by a reducer ----

#[node(effect)]
async fn read_source(ctx: &Context, id: &u32) -> Result<Vec<u64>, NodeError> {
    let _ = ctx.workflow();
    Ok((0..u64::from(*id) * 10).collect())
}

#[node(compute)]
fn concat(a: &[u64], b: &[u64], c: &[u64]) -> Vec<u64> {
    a.iter().chain(b).chain(c).copied().collect()
}

#[node(reducer, merge = merge_sum)]
fn sum(acc: &mut u64, x: &u64) {
    *acc += x;
}

fn merge_sum(into: &mut u64, from: u64) {
    *into += from;
}

workflow! {
    /// Three sources read in one wave, concatenated, then folded.
    workflow FanOut(a: u32, b: u32, c: u32) -> u64 {
        total = sum(all);
        all = concat(src_a, src_b, src_c);
        #[step(priority = 2)]
        src_a = read_source(a);
        src_b = read_source(b);
        #[step(priority = -1)]
        src_c = read_source(c);
        return total;
    }
}

#[tokio::test]
async fn fan_out_merged_by_a_reducer() {
    assert_eq!(
        wave_names(FanOut::graph()),
        // Within a wave: priority first (-1, 0, 2), then index.
        vec![vec!["src_c", "src_b", "src_a"], vec!["all"], vec!["total"]]
    );
    let expected: u64 = [10u64, 20, 30].iter().map(|n| n * (n - 1) / 2).sum();
    let rt = Runtime::default();
    for opts in modes() {
        let run = FanOut::run(&rt, 1, 2, 3, opts).await.unwrap();
        assert_eq!(run.output, expected);
    }
    let runs = FanOut::run_batch(&rt, vec![(1, 1, 1), (2, 2, 2)], RunOptions::new()).await;
    let outs: Vec<u64> = runs.into_iter().map(|r| r.unwrap().output).collect();
    assert_eq!(outs, vec![3 * 45, 3 * 190]);
}

// ---- a conditional fast track ----

#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    pub score: f64,
}

#[node(compute)]
fn assess(xs: &[u64]) -> Quality {
    Quality {
        score: if xs.len() > 3 { 0.95 } else { 0.5 },
    }
}

#[node(compute)]
fn fast_track(xs: &[u64]) -> String {
    format!("fast:{}", xs.len())
}

#[node(compute)]
fn report(xs: &[u64], fast: Option<&String>) -> String {
    match fast {
        Some(f) => f.clone(),
        None => format!("slow:{}", xs.len()),
    }
}

workflow! {
    workflow Branchy(xs: Vec<u64>) -> String {
        quality = assess(xs);
        #[step(when = |quality| quality.score >= 0.9)]
        fast = fast_track(xs);
        out = report(xs, fast);
        return out;
    }
}

#[tokio::test]
async fn conditional_fast_track() {
    let g = Branchy::graph();
    let fast = g.find("fast").unwrap();
    let out = g.find("out").unwrap();
    assert!(g.step(fast).conditional);
    assert_eq!(&*g.step(fast).deps, &[g.find("quality").unwrap()]);
    assert_eq!(
        &*g.step(out).optional_deps,
        &[fast],
        "`Option<&String>` makes it optional"
    );
    let rt = Runtime::default();
    for opts in modes() {
        let run = Branchy::run(&rt, vec![1, 2, 3, 4], opts.clone())
            .await
            .unwrap();
        assert_eq!(run.output, "fast:4");
        let run = Branchy::run(&rt, vec![1], opts).await.unwrap();
        assert_eq!(run.output, "slow:1");
        assert_eq!(run.report.steps[fast].state, StepState::Skipped);
    }
}

// ---- a nested workflow ----

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

#[node(compute)]
fn add(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    pub workflow Inner(x: u64) -> u64 {
        d = double(x);
        return d;
    }
}

workflow! {
    pub workflow Outer(x: u64) -> u64 {
        first = double(x);
        sub = Inner(first);
        out = add(sub, first);
        return out;
    }
}

#[tokio::test]
async fn nested_workflow() {
    let g = Outer::graph();
    let sub = g.step(g.find("sub").unwrap());
    assert_eq!(sub.kind, NodeKind::Orchestrator);
    assert_eq!(sub.node_type, "Inner");
    assert!(sub.is_async);
    let rt = Runtime::default();
    for opts in modes() {
        // first = 10, sub = 20, out = 30
        assert_eq!(Outer::run(&rt, 5, opts).await.unwrap().output, 30);
    }
}

#[tokio::test]
async fn runs_and_batches_can_be_spawned_on_the_runtime() {
    // The executors sit behind boxed futures; those must stay `Send` so a run can be
    // handed to `tokio::spawn`, as any other future in a service.
    let rt = Runtime::default();
    let (a, b) = (rt.clone(), rt.clone());
    let one = tokio::spawn(async move { Outer::run(&a, 5, RunOptions::new()).await });
    let many =
        tokio::spawn(async move { Outer::run_batch(&b, vec![1, 2, 3], RunOptions::new()).await });
    assert_eq!(one.await.unwrap().unwrap().output, 30);
    let outputs: Vec<u64> = many
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().output)
        .collect();
    assert_eq!(outputs, [6, 12, 18]);
}

// ---- `map` over a list known only at run time ----

#[node(compute)]
fn ids(n: &usize) -> Vec<u64> {
    (0..*n as u64).collect()
}

static FETCHES: AtomicUsize = AtomicUsize::new(0);

#[node(effect, name = "NodeItemFetcherEffect")]
async fn fetch_item(id: &u64, scale: &u64) -> Result<u64, NodeError> {
    FETCHES.fetch_add(1, Ordering::Relaxed);
    Ok(id * scale)
}

workflow! {
    workflow Mapped(n: usize, scale: u64) -> u64 {
        list = ids(n);
        fetched = map fetch_item(list, scale);
        total = sum(fetched);
        return total;
    }
}

#[tokio::test]
async fn map_over_a_runtime_list() {
    let g = Mapped::graph();
    assert!(g.step(g.find("fetched").unwrap()).map);
    let rt = Runtime::default();
    for opts in modes() {
        FETCHES.store(0, Ordering::Relaxed);
        let run = Mapped::run(&rt, 7, 3, opts).await.unwrap();
        assert_eq!(run.output, 3 * 21);
        assert_eq!(FETCHES.load(Ordering::Relaxed), 7, "one call per element");
    }
    assert_eq!(
        Mapped::run(&rt, 0, 3, RunOptions::new())
            .await
            .unwrap()
            .output,
        0
    );
}

#[tokio::test]
async fn a_map_step_reports_its_attempts_per_call() {
    let rt = Runtime::default();
    for opts in modes() {
        let run = Mapped::run(&rt, 3, 1, opts).await.unwrap();
        let fetched = run.report.step("fetched").unwrap();
        assert_eq!((fetched.calls, fetched.attempts), (3, 3));
        assert_eq!(fetched.max_attempts, 1, "each call made one attempt");
        assert_eq!(fetched.output_attempt, None, "one per call, each its last");
        assert_eq!(run.report.step("list").unwrap().output_attempt, Some(1));
        let table = run.report.to_string();
        let row = table.lines().find(|l| l.starts_with("fetched")).unwrap();
        assert!(row.contains(" 1 each "), "{table}");
        let json = serde_json::to_value(&run.report).unwrap();
        assert_eq!(json["steps"][1]["max_attempts"], 1);
    }
}

// ---- the report's table: execution order, real durations ----

#[node(compute)]
fn nap(x: &u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(2));
    *x
}

#[node(compute)]
fn join_naps(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    workflow Naps(x: u64) -> u64 {
        both = join_naps(first, second);
        second = nap(x);
        first = nap(x);
        return both;
    }
}

#[tokio::test]
async fn the_table_lists_steps_as_they_ran_with_their_own_durations() {
    let rt = Runtime::default();
    // One at a time: the two naps of wave 0 run inline, one after the other.
    let opts = RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 1 });
    let run = Naps::run(&rt, 1, opts).await.unwrap();
    let report = &run.report;
    let (first, second) = (
        report.step("first").unwrap(),
        report.step("second").unwrap(),
    );
    let (earlier, later) = if first.started <= second.started {
        (first, second)
    } else {
        (second, first)
    };
    assert!(
        later.started >= earlier.finished,
        "a call made after another starts when it does, not when its wave began: {report}"
    );
    for record in &report.steps {
        assert!(
            record.duration() > Some(std::time::Duration::ZERO),
            "{report}"
        );
    }
    let table = report.to_string();
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .take(3)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, [&*earlier.step, &*later.step, "both"], "{table}");
}

// ---- caching ----

static SQUARES: AtomicUsize = AtomicUsize::new(0);

#[node(compute, cache)]
fn square(x: &u64) -> u64 {
    SQUARES.fetch_add(1, Ordering::Relaxed);
    x * x
}

workflow! {
    workflow Cached(x: u64) -> u64 {
        s = square(x);
        return s;
    }
}

#[tokio::test]
async fn cached_steps_hash_their_inputs() {
    assert!(Cached::graph().step(0).policy.cache);
    let rt = Runtime::default();
    let before = SQUARES.load(Ordering::Relaxed);
    for _ in 0..3 {
        assert_eq!(
            Cached::run(&rt, 9, RunOptions::new()).await.unwrap().output,
            81
        );
    }
    assert_eq!(
        SQUARES.load(Ordering::Relaxed) - before,
        1,
        "cached per runtime"
    );
}

// ---- compensation: sync and async undo fns, run in reverse on failure ----

static UNDONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[node(effect, compensate = unreserve)]
async fn reserve(ctx: &Context, n: &u64) -> Result<u64, NodeError> {
    let _ = ctx;
    Ok(*n)
}

async fn unreserve(_ctx: &Context, written: &u64) -> Result<(), NodeError> {
    UNDONE.lock().unwrap().push(format!("unreserve {written}"));
    Ok(())
}

#[node(effect, compensate = uncharge)]
fn charge(n: &u64) -> Result<u64, NodeError> {
    Ok(n * 100)
}

fn uncharge(_ctx: &Context, written: &u64) -> Result<(), NodeError> {
    UNDONE.lock().unwrap().push(format!("uncharge {written}"));
    Ok(())
}

#[node(effect)]
fn ship(_charged: &u64) -> Result<u64, NodeError> {
    Err(NodeError::permanent("no courier"))
}

workflow! {
    workflow Order(n: u64) -> u64 {
        reserved = reserve(n);
        charged = charge(reserved);
        shipped = ship(charged);
        return shipped;
    }
}

#[tokio::test]
async fn compensations_undo_completed_effects_in_reverse() {
    let g = Order::graph();
    assert!(g.step(0).compensated && g.step(1).compensated && !g.step(2).compensated);
    let rt = Runtime::default();
    let err = Order::run(
        &rt,
        7,
        RunOptions::new().failure_strategy(FailureStrategy::Compensate),
    )
    .await
    .unwrap_err();
    assert_eq!(err.report().map(|r| r.compensations_run), Some(2));
    assert_eq!(
        *UNDONE.lock().unwrap(),
        vec!["uncharge 700".to_string(), "unreserve 7".to_string()]
    );
}

static UNHELD: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

#[node(effect, compensate = unhold)]
fn hold(n: &u64) -> Result<u64, NodeError> {
    Ok(*n)
}

async fn unhold(_ctx: &Context, held: &u64) -> Result<(), NodeError> {
    UNHELD.lock().unwrap().push(*held);
    Ok(())
}

#[node(effect, compensate = unbook_panicking)]
fn book(n: &u64) -> Result<u64, NodeError> {
    Ok(n + 1)
}

fn unbook_panicking(_ctx: &Context, booked: &u64) -> Result<(), NodeError> {
    panic!("cannot unbook {booked}");
}

workflow! {
    workflow Trip(n: u64) -> u64 {
        held = hold(n);
        booked = book(held);
        shipped = ship(booked);
        return shipped;
    }
}

#[tokio::test]
async fn a_panicking_sync_compensation_is_recorded_and_the_others_still_run() {
    let err = Trip::run(
        &Runtime::default(),
        3,
        RunOptions::new().failure_strategy(FailureStrategy::Compensate),
    )
    .await
    .unwrap_err();
    let report = err.report().unwrap();
    let booked = report.step("booked").unwrap().compensation.clone().unwrap();
    assert_eq!(booked.state, StepState::Failed);
    assert_eq!(
        booked.error.unwrap().message(),
        "step `booked` panicked: cannot unbook 4"
    );
    assert_eq!(
        *UNHELD.lock().unwrap(),
        [3],
        "the other compensation still ran"
    );
    assert_eq!(report.compensations_run, 2);
}

// ---- captured inputs and a reducer merged in parallel chunks ----

workflow! {
    workflow Summed(xs: Vec<u64>) -> u64 {
        total = sum(xs);
        return total;
    }
}

#[tokio::test]
async fn batch_reducer_merges_chunks_and_capture_serializes_inputs() {
    let xs: Vec<u64> = (1..=100_000).collect();
    let rt = Runtime::default();
    let run = Summed::run(
        &rt,
        xs.clone(),
        RunOptions::new()
            .mode(ExecutionMode::Batch)
            .capture_inputs(true),
    )
    .await
    .unwrap();
    assert_eq!(run.output, 5_000_050_000);
    let thunk = &run.report.thunks_emitted[0];
    assert_eq!(thunk.thunk_type, ThunkType::Reduce);
    assert_eq!(thunk.operation_data.as_array().map(Vec::len), Some(100_000));
    let plan = Summed::plan(&vec![1, 2]);
    assert_eq!(plan[0].operation_data, serde_json::json!([1, 2]));
}

// ---- nodes from another module, named by path ----

mod nodes {
    use onex::prelude::*;

    #[node(compute)]
    pub fn triple(x: &u64) -> u64 {
        x * 3
    }
}

workflow! {
    workflow Pathed(x: u64) -> u64 {
        t = nodes::triple(x);
        return t;
    }
}

#[tokio::test]
async fn nodes_named_by_path() {
    assert_eq!(Pathed::graph().step(0).node_type, "Triple");
    let rt = Runtime::default();
    assert_eq!(
        Pathed::run(&rt, 2, RunOptions::new()).await.unwrap().output,
        6
    );
}

// ---- every value a run stores is dropped once ----

static LIVE: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

/// A step output that counts the live ones.
struct Tracked(u64);

impl Tracked {
    fn new(v: u64) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Tracked(v)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[node(compute)]
fn tracked_list(n: &u64) -> Vec<Tracked> {
    (0..*n).map(Tracked::new).collect()
}

#[node(compute)]
fn tracked_bump(t: &Tracked) -> Tracked {
    Tracked::new(t.0 + 1)
}

#[node(compute)]
fn tracked_total(ts: &[Tracked]) -> Result<Tracked, NodeError> {
    let total = ts.iter().map(|t| t.0).sum();
    if total > 100 {
        return Err(NodeError::permanent("too much"));
    }
    Ok(Tracked::new(total))
}

workflow! {
    workflow Tracking(n: u64) -> Tracked {
        list = tracked_list(n);
        bumped = map tracked_bump(list);
        total = tracked_total(bumped);
        last = tracked_bump(total);
        return last;
    }
}

#[tokio::test]
async fn every_value_a_run_stores_is_dropped_once() {
    let rt = Runtime::default();
    for opts in modes() {
        let run = Tracking::run(&rt, 4, opts.clone()).await;
        let out = run.map(|r| r.output.0).map_err(|e| e.to_string());
        assert_eq!(out, Ok(11), "1 + 2 + 3 + 4, plus 1");
        assert_eq!(LIVE.load(Ordering::SeqCst), 0, "slots and output dropped");
        let run = Tracking::run(&rt, 4, opts.clone()).await.unwrap();
        assert_eq!(LIVE.load(Ordering::SeqCst), 1, "only the output is left");
        drop(run);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);
        // A failed run drops what its completed steps stored.
        assert!(Tracking::run(&rt, 20, opts).await.is_err());
        assert_eq!(LIVE.load(Ordering::SeqCst), 0, "a failed run leaks nothing");
    }
}

// A node of more parameters than there are named parameter indices (`Arg1`..`Arg32`).

#[node(compute)]
#[allow(clippy::too_many_arguments)]
fn weigh(
    p1: &u64,
    p2: &u64,
    p3: &u64,
    p4: &u64,
    p5: &u64,
    p6: &u64,
    p7: &u64,
    p8: &u64,
    p9: &u64,
    p10: &u64,
    p11: &u64,
    p12: &u64,
    p13: &u64,
    p14: &u64,
    p15: &u64,
    p16: &u64,
    p17: &u64,
    p18: &u64,
    p19: &u64,
    p20: &u64,
    p21: &u64,
    p22: &u64,
    p23: &u64,
    p24: &u64,
    p25: &u64,
    p26: &u64,
    p27: &u64,
    p28: &u64,
    p29: &u64,
    p30: &u64,
    p31: &u64,
    p32: &u64,
    p33: &u64,
    p34: &u64,
) -> u64 {
    [
        p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p20,
        p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32, p33, p34,
    ]
    .iter()
    .zip(1..)
    .map(|(p, weight)| *p * weight)
    .sum()
}

#[node(compute)]
fn offset0(x: &u64) -> u64 {
    x + 2
}

#[node(compute)]
fn offset1(x: &u64) -> u64 {
    x + 1
}

workflow! {
    /// Thirty-four steps into one node.
    workflow Wide(x: u64) -> u64 {
        v1 = offset1(x);
        v2 = offset0(x);
        v3 = offset1(x);
        v4 = offset0(x);
        v5 = offset1(x);
        v6 = offset0(x);
        v7 = offset1(x);
        v8 = offset0(x);
        v9 = offset1(x);
        v10 = offset0(x);
        v11 = offset1(x);
        v12 = offset0(x);
        v13 = offset1(x);
        v14 = offset0(x);
        v15 = offset1(x);
        v16 = offset0(x);
        v17 = offset1(x);
        v18 = offset0(x);
        v19 = offset1(x);
        v20 = offset0(x);
        v21 = offset1(x);
        v22 = offset0(x);
        v23 = offset1(x);
        v24 = offset0(x);
        v25 = offset1(x);
        v26 = offset0(x);
        v27 = offset1(x);
        v28 = offset0(x);
        v29 = offset1(x);
        v30 = offset0(x);
        v31 = offset1(x);
        v32 = offset0(x);
        v33 = offset1(x);
        v34 = offset0(x);
        total = weigh(v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27, v28, v29, v30, v31, v32, v33, v34);
        return total;
    }
}

#[tokio::test]
async fn a_node_takes_more_parameters_than_there_are_named_indices() {
    let rt = Runtime::default();
    let run = Wide::run(&rt, 0, RunOptions::new()).await.expect("runs");
    // Parameter i gets 1 (odd i) or 2 (even i), times i.
    let expected: u64 = (1..=34).map(|i| if i % 2 == 1 { i } else { 2 * i }).sum();
    assert_eq!(run.output, expected);
}

// What a recorded thunk says its node was given: each input serialized, an absent one
// (its step skipped, the parameter optional) as `null`.

#[node(compute)]
fn pair(first: &u64, second: Option<&u64>) -> u64 {
    first + second.copied().unwrap_or(0)
}

#[node(compute)]
fn half(x: &u64) -> u64 {
    x / 2
}

#[node(compute)]
fn same(x: &u64) -> u64 {
    *x
}

workflow! {
    /// `halved` runs only for even inputs; `both` runs either way.
    workflow Paired(x: u64) -> u64 {
        seen = same(x);
        #[step(when = |seen| seen % 2 == 0)]
        halved = half(seen);
        both = pair(seen, halved);
        return both;
    }
}

#[tokio::test]
async fn thunks_carry_their_inputs_and_null_for_an_absent_one() {
    let rt = Runtime::default();
    let opts = || RunOptions::new().capture_inputs(true);
    let data = |run: &WorkflowRun<u64>| {
        let thunk = run
            .report
            .thunks_emitted
            .iter()
            .find(|t| t.target_node_type == "Pair");
        thunk.map(|t| t.operation_data.clone())
    };
    let even = Paired::run(&rt, 8, opts()).await.expect("runs");
    assert_eq!(even.output, 12);
    assert_eq!(data(&even), Some(serde_json::json!([8, 4])));
    let odd = Paired::run(&rt, 7, opts()).await.expect("runs");
    assert_eq!(odd.output, 7);
    assert_eq!(data(&odd), Some(serde_json::json!([7, null])));
}

// ---- names the generated code also gives its own locals ----

workflow! {
    /// Steps and inputs named like locals of the generated code, read by a condition.
    workflow Namesakes(input: u64, call: u64) -> u64 {
        s = same(input);
        step = same(call);
        #[step(when = |s, step| s + step > 0)]
        v = pair(s, step);
        return v;
    }
}

#[tokio::test]
async fn steps_and_inputs_may_take_any_name() {
    let rt = Runtime::default();
    for opts in modes() {
        let run = Namesakes::run(&rt, 2, 3, opts).await.expect("runs");
        assert_eq!(run.output, 5);
    }
    assert_eq!(Namesakes::plan(&2, &3).len(), 3);
}

// ---- node names: the fn name in UpperCamelCase unless `name = ".."` says otherwise ----
#[node(effect)]
async fn fetch_rows(n: &u64) -> Result<Vec<u64>, NodeError> {
    Ok((0..*n).collect())
}

#[node(compute, name = "NodeRowCounterCompute")]
fn count_rows(rows: &[u64]) -> usize {
    rows.len()
}

workflow! {
    workflow Rows(n: u64) -> usize {
        rows = fetch_rows(n);
        count = count_rows(rows);
        return count;
    }
}

#[tokio::test]
async fn a_node_is_named_after_its_fn_in_upper_camel_case_in_the_report() {
    let rt = Runtime::default();
    let run = Rows::run(&rt, 3, RunOptions::new()).await.expect("runs");
    assert_eq!(run.output, 3);
    let node_type = |step: &str| run.report.step(step).map(|r| r.node_type.to_string());
    assert_eq!(node_type("rows").as_deref(), Some("FetchRows"));
    assert_eq!(node_type("count").as_deref(), Some("NodeRowCounterCompute"));
    let thunk_types: Vec<&str> = run
        .report
        .thunks_emitted
        .iter()
        .map(|t| &*t.target_node_type)
        .collect();
    assert_eq!(thunk_types, ["FetchRows", "NodeRowCounterCompute"]);
}
