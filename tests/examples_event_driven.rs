//! The `event_driven` example: five events, one of them twice, charge four orders once each.

#[allow(dead_code)]
#[path = "../examples/event_driven.rs"]
mod event_driven;

use std::sync::atomic::Ordering;

use event_driven::{CHARGED, events, serve_orders};
use onex::journal::MemoryJournal;

#[tokio::test]
async fn an_order_delivered_twice_is_charged_once() {
    let served = serve_orders(MemoryJournal::new(), events(), std::future::pending()).await;
    assert!(served.errors.is_empty(), "{:?}", served.errors);
    assert_eq!(served.runs + served.duplicates, 5);
    assert_eq!(CHARGED.load(Ordering::SeqCst), 4);
}
