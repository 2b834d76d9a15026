//! Stuck calls: a synchronous call that never returns holds its thread after its timeout
//! fires. Such calls run on the runtime's bounded blocking pool, so twice the pool's size
//! of them cannot starve compute steps (rayon) or other runs; each is reported as stuck,
//! in its run's report and through `tracing`.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use onex::StragglerOutcome;
use onex::prelude::*;

/// Set when the test lets the hung calls return, so no thread outlives the test.
static RELEASED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

fn release() {
    let (released, wake) = &RELEASED;
    *released.lock().unwrap_or_else(|e| e.into_inner()) = true;
    wake.notify_all();
}

#[node(effect, timeout = 100ms)]
fn hang(x: &u64) -> Result<u64, NodeError> {
    let (released, wake) = &RELEASED;
    let mut released = released.lock().unwrap_or_else(|e| e.into_inner());
    while !*released {
        released = wake.wait(released).unwrap_or_else(|e| e.into_inner());
    }
    Ok(*x)
}

workflow! {
    workflow Hung(x: u64) -> u64 {
        held = hang(x);
        return held;
    }
}

#[node(compute)]
fn spin(x: &u64) -> u64 {
    (0..20_000).fold(*x, |acc, i| acc.wrapping_mul(31).wrapping_add(i))
}

#[node(compute)]
fn mix(a: &u64, b: &u64, c: &u64) -> u64 {
    a ^ b ^ c
}

workflow! {
    workflow Crunch(x: u64) -> u64 {
        a = spin(x);
        b = spin(a);
        c = spin(a);
        d = spin(a);
        out = mix(b, c, d);
        return out;
    }
}

#[node(effect)]
async fn fetch(x: &u64) -> Result<u64, NodeError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(x + 1)
}

#[node(effect)]
fn store(x: &u64) -> Result<u64, NodeError> {
    Ok(x.wrapping_mul(2))
}

workflow! {
    workflow Io(x: u64) -> u64 {
        fetched = fetch(x);
        a = spin(fetched);
        b = spin(fetched);
        stored = store(a);
        other = store(b);
        out = mix(stored, other, fetched);
        return out;
    }
}

/// The `tracing` output, for the warnings.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twice_the_pool_of_hung_calls_starve_no_other_run() {
    let logs = Logs::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();

    const POOL: usize = 2;
    let rt = Runtime::builder().blocking_threads(POOL).build();
    let hung = futures_util::future::join_all(
        (0..2 * POOL as u64).map(|x| Hung::run(&rt, x, RunOptions::new())),
    );
    let hung = tokio::time::timeout(Duration::from_secs(30), hung)
        .await
        .expect("runs with hung calls end at their timeout");
    let mut stuck = 0;
    let mut never_ran = 0;
    for result in &hung {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.code(), ErrorCode::Timeout);
        let report = err.report().unwrap();
        let held = report.step("held").unwrap();
        if report.stuck_calls == 1 {
            let late: Vec<_> = held
                .stragglers()
                .filter_map(|a| a.straggler.clone())
                .collect();
            assert_eq!(late, [StragglerOutcome::Running]);
            stuck += 1;
        } else {
            // Queued behind the hung ones: its timeout passed before it got a thread.
            assert_eq!(held.stragglers().count(), 0);
            assert!(
                err.to_string()
                    .contains("waiting for a thread of the blocking pool"),
                "{err}"
            );
            never_ran += 1;
        }
    }
    assert_eq!((stuck, never_ran), (POOL, POOL));
    let warned = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert_eq!(
        warned.matches("still running after its timeout").count(),
        POOL,
        "{warned}"
    );

    // The hung calls hold every thread of the blocking pool, and none of rayon's.
    let others = async {
        for options in [
            RunOptions::new(),
            RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 4 }),
            RunOptions::new().mode(ExecutionMode::Batch),
        ] {
            let crunched = Crunch::run(&rt, 3, options.clone()).await.unwrap();
            assert_eq!(crunched.report.stuck_calls, 0);
            Io::run(&rt, 3, options).await.unwrap();
        }
        let batch = Crunch::run_batch(&rt, (0..64).collect(), RunOptions::new()).await;
        assert!(batch.iter().all(Result::is_ok));
        let batch = Io::run_batch(&rt, (0..64).collect(), RunOptions::new()).await;
        assert!(batch.iter().all(Result::is_ok));
    };
    tokio::time::timeout(Duration::from_secs(30), others)
        .await
        .expect("compute and effect runs finish while the blocking pool is full");
    release();
}
