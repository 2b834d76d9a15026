//! Runs and steps are tracing spans; retries, skips and run ends are events. In a test
//! binary of its own: tracing caches callsite interest process-wide, so a test running
//! without a subscriber on another thread could hide these callsites.

mod support;

use std::sync::{Arc, Mutex};

use onex_runtime::*;

/// A writer collecting what a `fmt` subscriber prints.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn runs_and_steps_are_tracing_spans_with_retry_and_skip_events() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let run = Runtime::default()
        .run(support::retry_then_skip(), 1, RunOptions::new())
        .await
        .unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let id = run.report.workflow_id.to_string();
    assert!(
        text.contains(&format!("workflow{{workflow=observed workflow_id={id}")),
        "{text}"
    );
    assert!(
        text.contains("step=fetch node_type=fetch item=0 attempt=1"),
        "{text}"
    );
    assert!(text.contains("retrying step"), "{text}");
    assert!(text.contains("step skipped"), "{text}");
    assert!(text.contains("workflow finished"), "{text}");
}
