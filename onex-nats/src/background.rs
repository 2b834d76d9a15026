//! [`Background`]: a spawned task that ends with its owner.

use std::future::Future;

/// A task spawned for the lifetime of its owner (a worker's advisory listener, a
/// dispatcher's results watch): aborted when dropped, so that a dropped worker or
/// dispatcher leaves nothing running.
pub(crate) struct Background(tokio::task::JoinHandle<()>);

impl Background {
    pub(crate) fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Background(tokio::spawn(task))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}
