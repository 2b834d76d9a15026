//! [`StartHook`]: what a served run calls once its start is committed to the journal.
//!
//! Plain data carried in [`RunOptions`](super::RunOptions): the serving loop
//! (`runtime/serve.rs`) makes it, the durable start (`durable/start.rs`) fires it.

use std::fmt;
use std::sync::{Arc, Mutex};

/// The callback of one event.
pub(crate) type Started = Box<dyn FnOnce() + Send>;

/// The hook a served run's start calls (see `durable::start::open`): fires its event's
/// `on_started` ([`Event::on_started`](crate::Event::on_started)) once.
#[derive(Clone, Default)]
pub(crate) struct StartHook(Arc<Mutex<Option<Started>>>);

impl StartHook {
    pub(crate) fn new(f: Option<Started>) -> Self {
        StartHook(Arc::new(Mutex::new(f)))
    }

    /// Calls the hook, the first time only.
    pub(crate) fn fire(&self) {
        let f = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(f) = f {
            f();
        }
    }
}

impl fmt::Debug for StartHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartHook")
    }
}
