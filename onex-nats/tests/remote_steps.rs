//! Remote steps through the step driver seam: workflows whose chosen steps run on worker
//! processes (`onex-nats-test-worker`) against a real `nats-server`, compared with the
//! same workflows in process.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt;
use onex_nats::{Dispatcher, Layout, RemoteSteps, chrome_trace};
use onex_runtime::{Context, WorkflowError};
use onex_runtime::{
    ExecutionMode, FailureStrategy, NodeError, RunOptions, Runtime, WorkflowReport,
};
use onex_spec::{DynamicWorkflow, NodeRegistry};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{NatsServer, WorkerProcess, connect, wait_for_pullers};

/// The test worker's nodes, in process: the same behaviour, `here` as the worker's name,
/// the same ledger file. `Book`'s compensation (which runs where the run is) appends to
/// `undone`.
fn nodes(ledger: PathBuf, undone: &Arc<Mutex<Vec<i64>>>) -> NodeRegistry {
    #[derive(Deserialize)]
    struct Sleep {
        ms: u64,
        tag: String,
        value: Value,
    }
    #[derive(Deserialize)]
    struct Flaky {
        tag: String,
        failures: usize,
        value: Value,
    }
    let ledger = Arc::new(ledger);
    let append = |ledger: &PathBuf, line: String| -> Result<(), NodeError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ledger)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        Ok(())
    };
    let undone = Arc::clone(undone);
    let mut registry = NodeRegistry::new();
    let (l1, l2, l3) = (Arc::clone(&ledger), Arc::clone(&ledger), ledger);
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .compute_infallible("Inc", |n: &i64| n + 1)
        .effect("Refuse", |_ctx: Context, n: i64| async move {
            Err::<i64, _>(NodeError::permanent(format!("refused {n}")))
        })
        .effect_compensated(
            "Book",
            move |_ctx: Context, n: i64| {
                let ledger = Arc::clone(&l1);
                async move {
                    append(&ledger, format!("book {n} here"))?;
                    Ok::<_, NodeError>(n)
                }
            },
            move |_ctx: Context, n: i64| {
                let undone = Arc::clone(&undone);
                async move {
                    undone.lock().unwrap().push(n);
                    Ok::<_, NodeError>(())
                }
            },
        )
        .effect("Sleep", move |_ctx: Context, input: Sleep| {
            let ledger = Arc::clone(&l2);
            async move {
                append(&ledger, format!("start {} here", input.tag))?;
                tokio::time::sleep(Duration::from_millis(input.ms)).await;
                Ok::<_, NodeError>(input.value)
            }
        })
        .effect("Flaky", move |_ctx: Context, input: Flaky| {
            let ledger = Arc::clone(&l3);
            async move {
                let line = format!("flaky {}", input.tag);
                let seen = std::fs::read_to_string(&*ledger)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| *l == line)
                    .count();
                append(&ledger, line)?;
                if seen < input.failures {
                    return Err(NodeError::transient(format!("failure {}", seen + 1)));
                }
                Ok(input.value)
            }
        });
    registry
}

/// Doubles 21, adds one, books the sum when it is over 40, skips what needs a negative sum,
/// and calls a node that fails twice before it succeeds (retried by the step's policy).
fn shop(tag: &str) -> String {
    format!(
        r#"
workflow_id: shop
steps:
  - step_id: price
    thunks:
      - {{ thunk_id: doubled, target_node_type: Double, operation_data: 21 }}
      - {{ thunk_id: plus, target_node_type: Inc, dependencies: [doubled] }}
  - step_id: pay
    condition: {{ thunk: plus, pointer: "", op: gt, value: 40 }}
    thunks:
      - {{ thunk_id: booked, target_node_type: Book, dependencies: [plus] }}
      - {{ thunk_id: flaky, target_node_type: Flaky, retry_count: 2,
           operation_data: {{ tag: "{tag}", failures: 2, value: 7 }} }}
  - step_id: refund
    condition: {{ thunk: plus, pointer: "", op: lt, value: 0 }}
    thunks:
      - {{ thunk_id: never, target_node_type: Double, dependencies: [plus] }}
output: booked
"#
    )
}

/// Books 5, then a node refuses: the `compensate` strategy undoes the booking.
const REFUSED: &str = r#"
workflow_id: refused
failure_strategy: compensate
steps:
  - step_id: all
    thunks:
      - { thunk_id: booked, target_node_type: Book, operation_data: 5 }
      - { thunk_id: refused, target_node_type: Refuse, dependencies: [booked] }
output: refused
"#;

/// What a user reads in a report, without the times and ids that differ between runs.
fn shape(report: &WorkflowReport) -> Vec<String> {
    let mut shape = vec![format!(
        "{} {:?} completed={} failed={} skipped={}",
        report.workflow,
        report.state,
        report.steps_completed,
        report.steps_failed,
        report.steps_skipped
    )];
    shape.extend(report.steps.iter().map(|s| {
        format!(
            "{} {:?} attempts={} failed={:?} skip={:?} compensation={:?} error={:?}",
            s.step,
            s.state,
            s.attempts,
            s.failed_attempts
                .iter()
                .map(|a| a.error.message().to_string())
                .collect::<Vec<_>>(),
            s.skip_reason,
            s.compensation.as_ref().map(|c| c.state),
            s.error.as_ref().map(NodeError::message),
        )
    }));
    shape
}

/// A server, worker processes on it, and an orchestrator's dispatcher.
struct Rig {
    server: NatsServer,
    client: async_nats::Client,
    layout: Layout,
    workers: Vec<WorkerProcess>,
    dispatcher: Dispatcher,
}

impl Rig {
    async fn start(test: &str, layout: Layout, workers: &[&str], args: &[&str]) -> Option<Rig> {
        let server = NatsServer::start(test)?;
        let client = connect(&server).await;
        let workers: Vec<_> = workers
            .iter()
            .map(|name| WorkerProcess::start(&server, name, args))
            .collect();
        wait_for_pullers(&client, &layout, workers.len()).await;
        let dispatcher = Dispatcher::with_layout(client.clone(), layout.clone())
            .await
            .unwrap()
            .timeout(Duration::from_secs(60));
        Some(Rig {
            server,
            client,
            layout,
            workers,
            dispatcher,
        })
    }

    fn registry(&self, undone: &Arc<Mutex<Vec<i64>>>) -> NodeRegistry {
        nodes(self.server.ledger_path(), undone)
    }

    fn load(&self, yaml: &str) -> DynamicWorkflow {
        self.registry(&Arc::default()).load_yaml(yaml).unwrap()
    }

    fn ledger_with(&self, prefix: &str) -> Vec<String> {
        let mut lines: Vec<String> = self
            .server
            .ledger()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect();
        lines.sort();
        lines
    }
}

fn remote_runtime(remote: &RemoteSteps) -> Runtime {
    Runtime::builder().step_driver(remote.clone()).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_with_remote_steps_gives_the_output_and_report_of_an_in_process_run() {
    let Some(rig) = Rig::start("a_spec_with_remote_steps", Layout::default(), &["a"], &[]).await
    else {
        return;
    };
    let local = rig.load(&shop("local"));
    let here = local
        .run(&Runtime::default(), local.run_options())
        .await
        .unwrap();
    assert_eq!(here.output, json!(43));
    let expected = shape(&here.report);
    assert!(
        expected
            .iter()
            .any(|l| l.starts_with("flaky Completed attempts=3")),
        "{expected:#?}"
    );

    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Double", "Book", "Flaky"]);
    let modes = [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 4 },
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        let tag = format!("typed{i}");
        let wf = rig.load(&shop(&tag));
        let run = wf
            .run(&remote_runtime(&remote), wf.run_options().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, json!(43), "{mode:?}");
        assert_eq!(shape(&run.report), expected, "{mode:?}");
        // Each attempt of the flaky step was a thunk a worker ran.
        let spans = remote.worker_spans(run.report.workflow_id);
        let mut ran: Vec<(String, u32, String)> = spans
            .iter()
            .map(|s| (s.step.clone(), s.attempt, s.worker.clone()))
            .collect();
        ran.sort();
        let a = |step: &str, attempt| (step.to_string(), attempt, "a".to_string());
        assert_eq!(
            ran,
            [
                a("booked", 1),
                a("doubled", 1),
                a("flaky", 1),
                a("flaky", 2),
                a("flaky", 3)
            ],
            "{mode:?}"
        );
    }
    // The worker booked twice (once per run); here only the in-process run did.
    assert_eq!(
        rig.ledger_with("book"),
        ["book 43 a", "book 43 a", "book 43 here"]
    );

    // All of a run's steps, through the run option.
    let wf = rig.load(&shop("all"));
    let run = wf
        .run(
            &remote_runtime(&RemoteSteps::new(rig.dispatcher.clone())),
            wf.run_options().remote(true),
        )
        .await
        .unwrap();
    assert_eq!(run.output, json!(43));
    assert_eq!(shape(&run.report), expected);
    assert_eq!(rig.ledger_with("book").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_compensates_in_the_orchestrator_what_workers_did() {
    let Some(rig) = Rig::start("a_failed_run_compensates", Layout::default(), &["a"], &[]).await
    else {
        return;
    };
    let run = |rt: Runtime, options: fn(RunOptions) -> RunOptions| {
        let undone = Arc::new(Mutex::new(Vec::new()));
        let wf = rig.registry(&undone).load_yaml(REFUSED).unwrap();
        async move {
            let error = wf.run(&rt, options(wf.run_options())).await.unwrap_err();
            let WorkflowError::StepFailed {
                step,
                error,
                report,
            } = error
            else {
                panic!("not a step failure: {error}");
            };
            (step, error, shape(&report), undone.lock().unwrap().clone())
        }
    };
    let here = run(Runtime::default(), |o| o).await;
    assert_eq!(here.0, "refused");
    assert_eq!(here.1.message(), "refused 5");
    assert_eq!(here.3, [5], "the booking was undone");

    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Book", "Refuse"]);
    let there = run(remote_runtime(&remote), |o| o).await;
    assert_eq!(there, here);
    let all = run(remote_runtime(&remote), |o| o.remote(true)).await;
    assert_eq!(all, here);
    assert_eq!(
        rig.ledger_with("book"),
        ["book 5 a", "book 5 a", "book 5 here"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_spans_of_a_run_come_back_with_its_trace_context_and_show_in_its_trace() {
    let Some(rig) = Rig::start("the_worker_spans_of_a_run", Layout::default(), &["a"], &[]).await
    else {
        return;
    };
    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Double"]);
    let wf = rig.load(&shop("traced"));
    let run = wf
        .run(&remote_runtime(&remote), wf.run_options())
        .await
        .unwrap();
    let spans = remote.worker_spans(run.report.workflow_id);
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0];
    assert_eq!((span.step.as_str(), span.worker.as_str()), ("doubled", "a"));
    let trace_id = run.report.workflow_id.simple().to_string();
    let parent = span
        .traceparent
        .as_deref()
        .expect("the worker saw a traceparent");
    assert!(
        parent.starts_with(&format!("00-{trace_id}-")),
        "the run is the trace: {parent}"
    );
    // On the orchestrator's clock the node ran within its step.
    let step = run.report.step("doubled").unwrap();
    let offset = span
        .started_at
        .duration_since(run.report.started_at)
        .unwrap();
    assert!(offset >= step.started.unwrap() && offset + span.duration <= step.finished.unwrap());

    let trace = chrome_trace(&run.report, &spans);
    let events = trace["traceEvents"].as_array().unwrap();
    let worker = events
        .iter()
        .find(|e| e["name"] == "process_name" && e["args"]["name"] == "worker a")
        .expect("a track for worker a");
    let on_worker: Vec<&Value> = events
        .iter()
        .filter(|e| e["pid"] == worker["pid"] && e["ph"] == "X")
        .collect();
    assert_eq!(on_worker.len(), 1);
    assert_eq!(on_worker[0]["name"], "doubled");
    assert_eq!(on_worker[0]["args"]["thunk_id"], span.thunk_id.to_string());
    assert!(
        remote.worker_spans(run.report.workflow_id).is_empty(),
        "taken once"
    );
}

/// Sleeps on a worker, then adds one here.
fn sleepy(ms: u64, tag: &str, value: i64) -> String {
    format!(
        r#"
workflow_id: sleepy
steps:
  - step_id: s
    thunks:
      - {{ thunk_id: slept, target_node_type: Sleep,
           operation_data: {{ ms: {ms}, tag: "{tag}", value: {value} }} }}
      - {{ thunk_id: plus, target_node_type: Inc, dependencies: [slept] }}
output: plus
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_step_of_a_killed_worker_is_redelivered_and_applied_once() {
    let layout = Layout::default().ack_wait(Duration::from_secs(1));
    let args = ["ack_wait_ms=1000"];
    let Some(mut rig) = Rig::start("a_remote_step_of_a_killed_worker", layout, &["a"], &args).await
    else {
        return;
    };
    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Sleep"]);
    let wf = rig.load(&sleepy(2_000, "k", 7));
    let rt = remote_runtime(&remote);
    let running = tokio::spawn(async move { wf.run(&rt, wf.run_options()).await });
    for _ in 0.. {
        if rig.server.ledger().iter().any(|l| l == "start k a") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rig.workers[0].kill();
    rig.workers
        .push(WorkerProcess::start(&rig.server, "b", &args));

    let run = running.await.unwrap().unwrap();
    assert_eq!(run.output, json!(8));
    assert_eq!(rig.server.ledger(), ["start k a", "start k b"]);
    // A worker that died is not an attempt of the step.
    assert_eq!(run.report.step("slept").unwrap().attempts, 1);
    let spans = remote.worker_spans(run.report.workflow_id);
    assert_eq!(
        spans
            .iter()
            .map(|s| (s.worker.as_str(), s.delivery))
            .collect::<Vec<_>>(),
        [("b", 2)]
    );
    let js = jetstream::new(rig.client.clone());
    let kv = js.get_key_value(rig.layout.results_bucket()).await.unwrap();
    let history = kv.history(spans[0].thunk_id.to_string()).await.unwrap();
    assert_eq!(history.count().await, 1, "one result written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_step_no_worker_can_run_fails_with_a_clear_error_after_max_deliver() {
    let layout = Layout::default().max_deliver(3);
    let Some(rig) = Rig::start(
        "a_remote_step_no_worker_can_run",
        layout,
        &["a"],
        &["max_deliver=3"],
    )
    .await
    else {
        return;
    };
    // `Ghost` is known here (the spec loads) but to no worker.
    let mut registry = rig.registry(&Arc::default());
    registry.compute_infallible("Ghost", |n: &i64| *n);
    let wf = registry
        .load_yaml(
            "
workflow_id: haunted
steps:
  - step_id: s
    thunks:
      - { thunk_id: boo, target_node_type: Ghost, operation_data: 1 }
output: boo
",
        )
        .unwrap();
    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Ghost"]);
    let error = wf
        .run(&remote_runtime(&remote), wf.run_options())
        .await
        .unwrap_err();
    let WorkflowError::StepFailed { step, error, .. } = error else {
        panic!("not a step failure: {error}");
    };
    assert_eq!(step, "boo");
    let message = error.message();
    assert!(
        message.contains("no worker runs node type `Ghost`")
            && message.contains("delivered 3 times")
            && message.contains("the last worker, `a`"),
        "{message}"
    );
    assert!(!error.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_server_restarts_mid_run_completes() {
    let layout = Layout::default().ack_wait(Duration::from_secs(2));
    let args = ["ack_wait_ms=2000", "concurrency=8"];
    let Some(mut rig) = Rig::start("a_run_whose_server_restarts", layout, &["a", "b"], &args).await
    else {
        return;
    };
    // 40 independent remote sleeps, 8 at a time.
    let mut yaml = String::from("workflow_id: many\nsteps:\n  - step_id: s\n    thunks:\n");
    for i in 0..40 {
        yaml += &format!(
            "      - {{ thunk_id: n{i}, target_node_type: Sleep, \
             operation_data: {{ ms: 50, tag: \"n{i}\", value: {i} }} }}\n"
        );
    }
    yaml += "output: n39\n";
    let wf = rig.load(&yaml);
    let remote = RemoteSteps::new(rig.dispatcher.clone()).node_types(["Sleep"]);
    let rt = remote_runtime(&remote);
    let options = wf
        .run_options()
        .mode(ExecutionMode::Parallel { max_parallel: 8 })
        .failure_strategy(FailureStrategy::FailFast);
    let running = tokio::spawn(async move { wf.run(&rt, options).await });
    while rig.server.ledger().len() < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rig.server.restart();
    assert!(rig.server.ledger().len() < 40, "the restart came mid-run");
    let run = running
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}\n{}", rig.server.report()));
    assert_eq!(run.report.steps_completed, 40);
    for i in 0..40 {
        assert_eq!(run.report.step(&format!("n{i}")).unwrap().attempts, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_sends_its_node_types_to_the_workers_of_its_own_layout() {
    // Worker `a` serves the default layout, worker `p` the partition `cpu`.
    let Some(mut rig) = Rig::start("a_partition", Layout::default(), &["a"], &[]).await else {
        return;
    };
    let cpu = Layout::new("cpu");
    rig.workers
        .push(WorkerProcess::start(&rig.server, "p", &["prefix=cpu"]));
    wait_for_pullers(&rig.client, &cpu, 1).await;
    let cpu = Dispatcher::with_layout(rig.client.clone(), cpu)
        .await
        .unwrap()
        .timeout(Duration::from_secs(60));
    let remote = RemoteSteps::new(rig.dispatcher.clone())
        .node_types(["Book"])
        .partition(cpu, ["Double"]);
    let wf = rig.load(&shop("partitioned"));
    let run = wf
        .run(&remote_runtime(&remote), wf.run_options())
        .await
        .unwrap();
    assert_eq!(run.output, json!(43));
    let mut ran: Vec<(String, String)> = remote
        .worker_spans(run.report.workflow_id)
        .into_iter()
        .map(|s| (s.step, s.worker))
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        [
            ("booked".to_string(), "a".to_string()),
            ("doubled".to_string(), "p".to_string())
        ]
    );
}
