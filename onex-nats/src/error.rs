//! [`Error`]: a JetStream operation onex-nats could not do.

/// A JetStream operation that failed while setting up or running a [`Worker`](crate::Worker)
/// or a [`Dispatcher`](crate::Dispatcher): what onex was doing, and the client's error.
///
/// Failures of a single thunk are not `Error`s: they are the thunk's result, a
/// [`NodeError`](onex_runtime::NodeError).
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
/// // A server started without `-js` has no JetStream.
/// if let Err(e) = onex_nats::Dispatcher::new(client).await {
///     eprintln!("{e}"); // creating stream `ONEX_THUNKS`: ...
///     assert_eq!(e.context(), "creating stream `ONEX_THUNKS`");
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct Error {
    context: String,
    source: async_nats::Error,
}

impl Error {
    pub(crate) fn new(context: impl Into<String>, source: impl Into<async_nats::Error>) -> Self {
        Error {
            context: context.into(),
            source: source.into(),
        }
    }

    /// What onex was doing, e.g. ``creating stream `ONEX_THUNKS` ``.
    pub fn context(&self) -> &str {
        &self.context
    }
}
