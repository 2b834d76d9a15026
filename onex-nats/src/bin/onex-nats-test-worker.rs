//! A worker process for onex-nats's own tests and benchmarks, with test nodes. Not for
//! users: a real worker links the application's nodes.
//!
//! `onex-nats-test-worker url=nats://127.0.0.1:4222 name=w1 [concurrency=32]
//! [ack_wait_ms=30000] [max_deliver=10] [ledger=/path] [prefix=onex]`. It stops gracefully on SIGTERM.
//!
//! Nodes: `Echo` (returns its input), `Sleep` (`{"ms", "tag", "value"}`: appends
//! `start <tag> <worker>` to the ledger, sleeps, returns `value`), `Flaky` (`{"tag",
//! "failures", "value"}`: fails transiently while the ledger holds fewer than `failures`
//! lines `flaky <tag>`, appending one per call), `Big` (`n`: a string of `n` bytes);
//! for workflows (`tests/remote_steps.rs`, which has the same nodes in process): `Double`
//! and `Inc` (on an integer), `Book` (appends `book <n> <worker>`, returns `n`), `Refuse`
//! (fails permanently).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onex_nats::{Layout, Worker};
use onex_runtime::{Context, NodeError};
use onex_spec::NodeRegistry;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Sleep {
    ms: u64,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Flaky {
    tag: String,
    failures: usize,
    #[serde(default)]
    value: Value,
}

/// Lines appended by every worker process of a test, to see who ran what.
struct Ledger(Option<PathBuf>);

impl Ledger {
    fn append(&self, line: &str) -> Result<(), NodeError> {
        let Some(path) = &self.0 else { return Ok(()) };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        // One write per line: appends from several processes do not interleave.
        file.write_all(format!("{line}\n").as_bytes())?;
        Ok(())
    }

    fn count(&self, line: &str) -> usize {
        self.0
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map_or(0, |text| text.lines().filter(|l| *l == line).count())
    }
}

fn registry(worker: &str, ledger: Ledger) -> NodeRegistry {
    let ledger = Arc::new(ledger);
    let worker: Arc<str> = worker.into();
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Echo", |v: &Value| v.clone())
        .compute_infallible("Big", |n: &usize| "x".repeat(*n))
        .compute_infallible("Double", |n: &i64| n * 2)
        .compute_infallible("Inc", |n: &i64| n + 1)
        .effect("Refuse", |_ctx: Context, n: i64| async move {
            Err::<i64, _>(NodeError::permanent(format!("refused {n}")))
        })
        .effect("Book", {
            let ledger = Arc::clone(&ledger);
            let worker = Arc::clone(&worker);
            move |_ctx: Context, n: i64| {
                let ledger = Arc::clone(&ledger);
                let worker = Arc::clone(&worker);
                async move {
                    ledger.append(&format!("book {n} {worker}"))?;
                    Ok::<_, NodeError>(n)
                }
            }
        })
        .effect("Sleep", {
            let ledger = Arc::clone(&ledger);
            move |_ctx: Context, input: Sleep| {
                let ledger = Arc::clone(&ledger);
                let worker = Arc::clone(&worker);
                async move {
                    ledger.append(&format!("start {} {worker}", input.tag))?;
                    tokio::time::sleep(Duration::from_millis(input.ms)).await;
                    Ok::<_, NodeError>(input.value)
                }
            }
        })
        .effect("Flaky", move |_ctx: Context, input: Flaky| {
            let ledger = Arc::clone(&ledger);
            async move {
                let line = format!("flaky {}", input.tag);
                let seen = ledger.count(&line);
                ledger.append(&line)?;
                if seen < input.failures {
                    return Err(NodeError::transient(format!("failure {}", seen + 1)));
                }
                Ok(input.value)
            }
        });
    registry
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "onex_nats=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let arg = |key: &str| args.get(key).map(String::as_str);
    let number = |key: &str, default: u64| {
        arg(key).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{key}={v} is not a number"))
        })
    };
    let url = arg("url").expect("usage: onex-nats-test-worker url=nats://host:port name=...");
    let name = arg("name").unwrap_or("worker").to_string();
    let layout = Layout::new(arg("prefix").unwrap_or("onex"))
        .ack_wait(Duration::from_millis(number("ack_wait_ms", 30_000)))
        .max_deliver(number("max_deliver", 10) as u32);
    let ledger = Ledger(arg("ledger").map(PathBuf::from));
    let client = async_nats::connect(url).await.expect("cannot connect");
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("cannot listen for SIGTERM");
    Worker::new(client, registry(&name, ledger))
        .name(name)
        .layout(layout)
        .concurrency(number("concurrency", 32) as usize)
        .backoff(onex_runtime::Backoff::fixed(Duration::from_millis(50)))
        .run_until(async move {
            sigterm.recv().await;
        })
        .await
        .expect("worker failed");
}
