//! Circuit breakers keyed by the node itself, and a warning for a breaker keyed by a string
//! that no node has (it would guard nothing). In a test binary of its own: tracing caches
//! callsite interest process-wide.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onex::dynamic::NodeRegistry;
use onex::prelude::*;

static CALLS: AtomicU32 = AtomicU32::new(0);

#[node(effect, name = "NodePaymentService")]
async fn charge_card(cents: &u64) -> Result<u64, NodeError> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    Err(NodeError::permanent(format!("card declined for {cents}")))
}

workflow! {
    /// One charge.
    pub workflow Checkout(cents: u64) -> u64 {
        charged = charge_card(cents);
        return charged;
    }
}

const POLICY: CircuitBreaker = CircuitBreaker::new(1, Duration::from_secs(60));

#[tokio::test(start_paused = true)]
async fn a_breaker_keyed_by_the_node_guards_it() {
    let rt = Runtime::builder()
        .circuit_breaker_for::<charge_card>(POLICY)
        .build();
    let first = Checkout::run(&rt, 5, RunOptions::new()).await.unwrap_err();
    assert_eq!(first.code(), ErrorCode::OperationFailed);
    assert_eq!(
        rt.circuit_state("NodePaymentService"),
        Some(CircuitState::Open)
    );
    let second = Checkout::run(&rt, 5, RunOptions::new()).await.unwrap_err();
    assert_eq!(second.code(), ErrorCode::CircuitOpen);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        1,
        "the open circuit made no call"
    );
}

/// What a `fmt` subscriber prints while `f` runs on this thread.
fn logged(f: impl FnOnce()) -> String {
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
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn a_breaker_for_a_type_no_node_has_is_a_warning_with_a_suggestion() {
    let typo = logged(|| {
        Runtime::builder()
            .circuit_breaker("NodePaymentServise", POLICY)
            .build();
    });
    assert!(typo.contains("WARN"), "{typo}");
    assert!(
        typo.contains(
            "circuit breaker for `NodePaymentServise`: no node has this type, so it guards \
             nothing; did you mean `NodePaymentService`?"
        ),
        "{typo}"
    );

    let unrelated = logged(|| {
        Runtime::builder()
            .circuit_breaker("Payments", POLICY)
            .build();
    });
    assert!(
        unrelated.contains("`Payments`: no node has this type, so it guards nothing node_type"),
        "{unrelated}"
    );

    // The type of a compiled node, typed as a string, and of a registry's node are known.
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("NodeDoubler", |n: &i64| n * 2);
    let known = logged(|| {
        Runtime::builder()
            .circuit_breaker("NodePaymentService", POLICY)
            .circuit_breaker("NodeDoubler", POLICY)
            .circuit_breaker_for::<charge_card>(POLICY)
            .build();
    });
    assert_eq!(known, "");
}
