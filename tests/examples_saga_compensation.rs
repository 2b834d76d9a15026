//! The `saga_compensation` example: shipping fails after two effects wrote to SQLite; their
//! compensations run in reverse and the rows are gone afterwards.

#[allow(dead_code)]
#[path = "../examples/saga_compensation.rs"]
mod saga_compensation;

use onex::{ErrorCode, StepState, WorkflowState};
use saga_compensation::{SKU, Snapshot, place_two_orders};

#[tokio::test]
async fn a_failed_shipment_refunds_and_releases_in_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite3");
    let demo = place_two_orders(&db).await.unwrap();

    // The first order shipped and its rows stay.
    assert_eq!(demo.shipped.output.order_id, 1001);
    assert_eq!(demo.shipped.report.state, WorkflowState::Completed);
    assert_eq!(demo.shipped.report.compensations_run, 0);

    // The second failed at shipping, after reserving and charging.
    let err = &demo.failed;
    assert_eq!(err.failed_step(), Some("shipment"));
    assert_eq!(err.code(), ErrorCode::OperationFailed);
    let report = err.report().unwrap();
    assert_eq!(report.state, WorkflowState::Failed);
    assert_eq!(report.steps_completed, 2);
    assert_eq!(report.steps_failed, 1);
    assert_eq!(report.compensations_run, 2);
    let undo_payment = report
        .step("payment")
        .unwrap()
        .compensation
        .clone()
        .unwrap();
    let undo_reservation = report
        .step("reservation")
        .unwrap()
        .compensation
        .clone()
        .unwrap();
    assert_eq!(undo_payment.state, StepState::Completed);
    assert_eq!(undo_reservation.state, StepState::Completed);
    assert!(
        undo_payment.finished <= undo_reservation.started,
        "the later effect is undone first: {undo_payment:?} then {undo_reservation:?}"
    );
    assert!(report.step("shipment").unwrap().compensation.is_none());

    // The database, read afresh: order 1002's rows are gone, its stock is back.
    let after = Snapshot::read(&db).unwrap();
    assert_eq!(after, demo.after);
    assert_eq!(after.reservations, [1001]);
    assert_eq!(after.payments, [1001]);
    assert_eq!(after.shipments, [1001]);
    assert_eq!(after.available(SKU), Some(demo.initial_stock - 2));
    let journal_of = |order: i64| -> Vec<&str> {
        after
            .journal
            .iter()
            .filter(|(o, _)| *o == order)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    assert_eq!(journal_of(1001), ["reserve", "charge", "ship"]);
    assert_eq!(journal_of(1002), ["reserve", "charge", "refund", "release"]);
}
