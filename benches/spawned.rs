// The `spawned` driver, included by the chain and fan-out benches: the time of a whole run
// (a peer's graph built, then run) inside a task spawned on a 2-worker multi-thread tokio
// runtime, the way an application calls onex, rather than `block_on` from the main thread.

/// A multi-thread tokio runtime of 2 workers.
fn spawned() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a 2-worker multi-thread runtime")
}

/// `work` run as a task of `rt`, waited for from the main thread.
fn in_task<F>(rt: &tokio::runtime::Runtime, work: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(work)).expect("the task ends")
}
