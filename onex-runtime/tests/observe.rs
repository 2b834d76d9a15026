//! The pictures of a real run: its timeline, its table and its graph, drawn from what the
//! executor recorded rather than from a hand-made report.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onex_runtime::*;
use serde_json::Value;
use support::FlowBuilder;

fn flow() -> Arc<support::Flow> {
    let tries = Arc::new(AtomicUsize::new(0));
    FlowBuilder::new("observed")
        .compute("root", &[], |v| Ok(v[0] + 1))
        .effect("flaky", &["root"], move |v| {
            let tries = tries.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(NodeError::transient("blip"))
                } else {
                    Ok(v[0])
                }
            }
        })
        .policy(
            StepPolicy::DEFAULT
                .retries(2)
                .backoff(Backoff::fixed(Duration::from_millis(5)).no_jitter()),
        )
        .effect("slow", &["root"], |v| async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(v[0])
        })
        .compute("never", &["root"], |v| Ok(v[0]))
        .when(&["root"], |v| v[0] > 100)
        .compute("sink", &["flaky", "slow"], |v| Ok(v[0] + v[1]))
        .build("sink")
        .expect("a valid flow")
}

#[tokio::test]
async fn a_parallel_run_with_a_retry_and_a_skip_renders() {
    let flow = flow();
    let run = Runtime::default()
        .run(
            flow.clone(),
            1,
            RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 3 }),
        )
        .await
        .expect("the run succeeds");
    let report = run.report;

    // The timeline: one event per attempt, the skip as an instant, lanes never overlapping.
    let trace: Value = serde_json::from_str(&report.to_chrome_trace()).expect("valid JSON");
    let events = trace["traceEvents"].as_array().expect("an event list");
    let of = |step: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["args"]["step"] == step && e["ph"] != "M")
            .collect()
    };
    let flaky = of("flaky");
    assert_eq!(flaky.len(), 2, "{flaky:#?}");
    assert_eq!(flaky[0]["name"], "flaky attempt 1 failed");
    assert_eq!(flaky[1]["name"], "flaky");
    assert!(flaky[0]["ts"].as_f64() < flaky[1]["ts"].as_f64());
    assert_eq!(of("never")[0]["ph"], "i");
    assert_eq!(of("slow").len(), 1);
    assert_ne!(
        of("slow")[0]["tid"],
        flaky[0]["tid"],
        "concurrent steps share a lane"
    );

    let mut lanes: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let ts = e["ts"].as_f64().expect("ts");
        let end = ts + e["dur"].as_f64().expect("dur");
        lanes
            .entry(e["tid"].as_u64().expect("tid"))
            .or_default()
            .push((ts, end));
    }
    for spans in lanes.values_mut() {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(spans.windows(2).all(|p| p[0].1 <= p[1].0), "{spans:?}");
    }

    // The table: a line per step and the summary.
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 1, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("flaky ") && l.ends_with("recovered after 1 failed attempt")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("never ") && l.ends_with("condition was false")),
        "{text}"
    );
    assert!(lines[6].starts_with("observed completed in "), "{text}");

    // The graph: the conditional step is marked.
    let chart = flow.graph().to_mermaid();
    assert!(
        chart.contains("{{\"never<br/>compute<br/>when\"}}"),
        "{chart}"
    );
    assert!(flow.graph().to_dot().contains("never\\ncompute\\nwhen"));
}
