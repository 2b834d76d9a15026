//! [`holder_id`]: who this process is to the journal's leases.

use std::sync::OnceLock;

/// This process's lease holder id, `host:pid:nonce`: unique per process (the nonce tells
/// apart two processes that reuse a pid, say in two containers with one hostname), and
/// readable in `runs show` and traces.
///
/// ```
/// let id = onex::durable::holder_id();
/// assert!(id.contains(&std::process::id().to_string()));
/// assert_eq!(id, onex::durable::holder_id(), "one id per process");
/// ```
pub fn holder_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = host_name().unwrap_or_else(|| "host".to_owned());
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        format!("{host}:{}:{}", std::process::id(), &nonce[..8])
    })
}

/// This machine's name, from `HOSTNAME` or `/etc/hostname`; `None` when neither says one.
/// What names a process to others: a lease holder here, a NATS worker in onex-nats.
///
/// ```
/// if let Some(host) = onex::durable::host_name() {
///     assert!(!host.is_empty() && host.trim() == host);
/// }
/// ```
pub fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}
