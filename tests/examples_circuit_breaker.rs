//! The `circuit_breaker` example: the circuit opens, rejects without calling the service,
//! half-opens after the cool-down, re-opens on a failed probe and closes on a good one.

#[allow(dead_code)]
#[path = "../examples/circuit_breaker.rs"]
mod circuit_breaker;

use std::collections::BTreeSet;
use std::time::Duration;

use circuit_breaker::{FAILURE_THRESHOLD, simulate};
use onex::ErrorCode;
use onex::policy::CircuitState;

// A current-thread runtime makes the interleaving of the concurrent runs deterministic: a
// refused call fails before the next run reaches the breaker, so exactly
// `FAILURE_THRESHOLD` calls get through before it opens.
#[tokio::test]
async fn the_circuit_opens_rejects_half_opens_and_closes() {
    // Long enough that the circuit cannot half-open between two back-to-back phases even
    // on a loaded machine, short enough to keep the test fast.
    let sim = simulate(Duration::from_millis(150)).await;

    assert_eq!(
        sim.transitions,
        [
            CircuitState::Closed { failures: 0 },
            CircuitState::Open,
            CircuitState::HalfOpen,
            CircuitState::Open,
            CircuitState::HalfOpen,
            CircuitState::Closed { failures: 0 },
        ]
    );
    let states: Vec<CircuitState> = sim.phases.iter().map(|p| p.state_after).collect();
    assert_eq!(
        states,
        [
            CircuitState::Closed { failures: 0 },
            CircuitState::Open,
            CircuitState::Open,
            CircuitState::Open,
            CircuitState::Closed { failures: 0 },
            CircuitState::Closed { failures: 0 },
        ]
    );

    let before: Vec<CircuitState> = sim.phases.iter().map(|p| p.state_before).collect();
    assert_eq!(
        before,
        [
            CircuitState::Closed { failures: 0 },
            CircuitState::Closed { failures: 0 },
            CircuitState::Open,
            CircuitState::HalfOpen,
            CircuitState::HalfOpen,
            CircuitState::Closed { failures: 0 },
        ]
    );

    let [healthy, outage, open, failed_probe, good_probe, recovered] = &sim.phases[..] else {
        panic!("six phases, got {}", sim.phases.len());
    };
    assert_eq!(healthy.charged(), [1, 2, 3, 4, 5, 6, 7, 8]);
    // The outage: the first FAILURE_THRESHOLD calls fail at the service, the rest are
    // rejected by the breaker.
    assert_eq!(outage.failed_at_service(), [9, 10, 11]);
    assert_eq!(outage.failed_at_service().len(), FAILURE_THRESHOLD as usize);
    assert_eq!(outage.rejected(), [12, 13, 14, 15, 16]);
    // While open, nothing reaches the service.
    assert_eq!(open.rejected().len(), 8);
    assert!(open.service_calls.is_empty());
    // Half-open admits one probe; it fails and the circuit opens again.
    assert_eq!(failed_probe.service_calls, [25]);
    assert_eq!(failed_probe.rejected().len(), 7);
    // After the next cool-down the probe succeeds; the others were turned away while it
    // was in flight.
    assert_eq!(good_probe.charged(), [33]);
    assert_eq!(good_probe.service_calls, [33]);
    assert_eq!(good_probe.rejected().len(), 7);
    assert_eq!(recovered.charged().len(), 8);

    // Rejected runs never called the service, and their step made no attempt.
    for phase in &sim.phases {
        let called: BTreeSet<u64> = phase.service_calls.iter().copied().collect();
        for outcome in &phase.outcomes {
            if outcome.rejected() {
                assert!(!called.contains(&outcome.order_id), "{outcome:?}");
                assert_eq!(outcome.charge_attempts(), 0);
                let error = outcome.result.as_ref().unwrap_err();
                assert_eq!(error.code(), ErrorCode::CircuitOpen);
            } else {
                assert!(called.contains(&outcome.order_id), "{outcome:?}");
                assert_eq!(outcome.charge_attempts(), 1);
            }
        }
    }
}
