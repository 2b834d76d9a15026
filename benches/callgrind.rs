//! Fixed runs for instruction counts (`scripts/callgrind.sh`), which stay stable on a loaded
//! machine where wall-clock times do not.
//!
//! `callgrind WORKLOAD RUNS` builds a runtime, makes one warm-up run of `WORKLOAD`, waits
//! for the end of the runtime's clock calibration (a loop bounded by time, whose
//! instruction count varies), then starts callgrind's instrumentation (valgrind runs with
//! `--instr-atstart=no`), makes `RUNS` runs and dumps the counts: the dump divided by
//! `RUNS` is the cost of one run, on every thread. Outside valgrind the requests do nothing.
//!
//! Workloads: the criterion benches' onex rows — `chain_on`, `chain_off` (1,000 steps,
//! Sequential, current-thread), `fanout_parallel_on`, `fanout_parallel_off`,
//! `fanout_batch_on`, `fanout_batch_off` (1 → 1,000 → 1, current-thread), and
//! `batch_on`, `batch_off` (`run_batch` of 10,000 inputs through 4 steps), `batch_lean`
//! (`run_batch_lean` of the same) and `batch_rayon` (the same four functions by hand in a
//! rayon `par_iter` chain).

use std::hint::black_box;

use onex::prelude::*;

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

mod chain {
    use super::*;
    include!("gen/chain1000.rs");
}

mod fanout {
    use super::*;
    include!("gen/fanout1000.rs");
}

include!("pipeline.rs");

const BATCH: i64 = 10_000;

async fn once(rt: &Runtime, workload: &str) -> u64 {
    let (mode, records) = match workload {
        "chain_on" | "chain_off" => (ExecutionMode::Sequential, workload == "chain_on"),
        "fanout_parallel_on" | "fanout_parallel_off" => (
            ExecutionMode::Parallel { max_parallel: 8 },
            workload.ends_with("_on"),
        ),
        "fanout_batch_on" | "fanout_batch_off" => (ExecutionMode::Batch, workload.ends_with("_on")),
        "batch_on" | "batch_off" => (ExecutionMode::Sequential, workload == "batch_on"),
        "batch_lean" | "batch_rayon" => (ExecutionMode::Sequential, false),
        other => panic!("unknown workload `{other}`"),
    };
    let opts = RunOptions::new().mode(mode).records(records);
    if workload.starts_with("chain") {
        chain::Chain1000::run(rt, black_box(0), opts)
            .await
            .expect("chain")
            .output
    } else if workload.starts_with("fanout") {
        fanout::Fanout1000::run(rt, black_box(0), opts)
            .await
            .expect("fanout")
            .output
    } else {
        let inputs = (0..BATCH)
            .map(|i| Reading {
                sensor: (i % 97) as u32,
                raw: (i * 7919) % 20_000 - 10_000,
            })
            .collect::<Vec<_>>();
        if workload == "batch_rayon" {
            use rayon::prelude::*;
            let keys: Vec<u64> = inputs
                .into_par_iter()
                .map(|r| bucket(&clamp(&calibrate(&parse(&r)))))
                .collect();
            return keys.into_iter().sum();
        }
        if workload == "batch_lean" {
            let out = Pipeline::run_batch_lean(rt, inputs, opts).await;
            assert_eq!(out.report.failed(), 0, "every record runs");
            return out.outputs.into_iter().sum();
        }
        Pipeline::run_batch(rt, inputs, opts)
            .await
            .into_iter()
            .map(|r| r.expect("a record").output)
            .sum()
    }
}

/// Callgrind's client requests, as `valgrind/callgrind.h` makes them: a no-op sequence of
/// instructions that valgrind recognises.
#[cfg(target_arch = "x86_64")]
fn callgrind_request(request: u64) {
    let args: [u64; 6] = [request, 0, 0, 0, 0, 0];
    let mut result: u64 = 0;
    // SAFETY: the sequence only rotates `rdi` by 3 + 13 + 61 + 51 = 128 bits (back to its
    // value) and swaps `rbx` with itself; under valgrind it is a request reading `args`.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            options(nostack),
        );
    }
    let _ = result;
}

#[cfg(not(target_arch = "x86_64"))]
fn callgrind_request(_: u64) {}

/// `VG_USERREQ_TOOL_BASE('C', 'T')`.
const CALLGRIND: u64 = (b'C' as u64) << 24 | (b'T' as u64) << 16;
const DUMP_STATS: u64 = CALLGRIND;
const START_INSTRUMENTATION: u64 = CALLGRIND + 4;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let workload = args.next().expect("usage: callgrind WORKLOAD RUNS");
    let runs: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .expect("RUNS, a number");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let rt = Runtime::default();
    let first = tokio.block_on(once(&rt, &workload));
    // The runtime calibrates its clock on a thread of its own; quanta's calibration is
    // global, so this waits for it to end, and the pause lets that thread hand the clock
    // to the runtime (runs until then read the system clock, at another cost).
    drop(quanta::Clock::new());
    std::thread::sleep(std::time::Duration::from_millis(200));
    callgrind_request(START_INSTRUMENTATION);
    for _ in 0..runs {
        assert_eq!(tokio.block_on(once(&rt, &workload)), first);
    }
    callgrind_request(DUMP_STATS);
}
