//! The blocking pool: where synchronous calls with a timeout run.
//!
//! A synchronous call cannot be stopped when its timeout fires: the thread running it is
//! held until the call returns, which for a hung call is never. So such calls run here, on
//! threads of the [`Runtime`](crate::Runtime)'s own, and not on the rayon pool that compute
//! steps need: stuck calls can hold at most this pool's threads, never compute's.
//!
//! Threads start on demand, up to the pool's size
//! ([`RuntimeBuilder::blocking_threads`](crate::RuntimeBuilder::blocking_threads)), and stop
//! after [`KEEP_ALIVE`] without work. When every thread is busy a call waits in a queue,
//! first come first served, for one to free up, and its timeout counts while it waits: a
//! call whose timeout passes before it started never runs, and fails with `Timeout`.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a thread without work waits for more before it stops.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool of threads for blocking calls. Cheap to share: the runtime holds one.
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    size: usize,
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
}

impl BlockingPool {
    /// A pool of at most `size` threads (at least 1), none started yet.
    pub(crate) fn new(size: usize) -> Self {
        BlockingPool {
            inner: Arc::new(Inner {
                size: size.max(1),
                state: Mutex::new(State::default()),
                work: Condvar::new(),
            }),
        }
    }

    /// The most threads the pool runs.
    pub(crate) fn size(&self) -> usize {
        self.inner.size
    }

    /// Threads running a call now.
    #[cfg(test)]
    pub(crate) fn busy(&self) -> usize {
        let state = self.inner.lock();
        state.threads - state.idle
    }

    /// Runs `job` on a thread of the pool: an idle one, a new one while the pool has room,
    /// or the first to free up.
    pub(crate) fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        let mut state = self.inner.lock();
        state.queue.push_back(Box::new(job));
        if state.idle >= state.queue.len() {
            self.inner.work.notify_one();
            return;
        }
        if state.threads >= self.inner.size {
            tracing::debug!(
                threads = self.inner.size,
                waiting = state.queue.len(),
                "every thread of the blocking pool is busy: the call waits for one"
            );
            return;
        }
        state.threads += 1;
        let inner = Arc::clone(&self.inner);
        let started = std::thread::Builder::new()
            .name("onex-blocking".into())
            .spawn(move || inner.work());
        if let Err(e) = started {
            state.threads -= 1;
            tracing::error!(error = %e, "the blocking pool could not start a thread");
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A thread's life: run queued jobs; stop after `KEEP_ALIVE` without any.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // Jobs contain their own panics (`policy::panic`); this keeps the thread
                // and the pool's count right if one slips through.
                let _ = catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, waited) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if waited.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("size", &self.inner.size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_on_at_most_size_threads_and_queues_the_rest() {
        let pool = BlockingPool::new(2);
        let (release, hold) = mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let (done, finished) = mpsc::channel();
        for i in 0..4 {
            let hold = hold.clone();
            let done = done.clone();
            pool.spawn(move || {
                if i < 2 {
                    let _ = hold.lock().map(|h| h.recv());
                }
                let _ = done.send(i);
            });
        }
        // The first two hold both threads (one of them waits on the lock, the other on the
        // channel): the other two wait in the queue.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(pool.busy(), 2);
        assert!(finished.try_recv().is_err());
        release.send(()).unwrap();
        release.send(()).unwrap();
        let mut seen: Vec<i32> = (0..4)
            .map(|_| finished.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3]);
        assert_eq!(pool.size(), 2);
    }

    #[test]
    fn a_panicking_job_leaves_the_pool_working() {
        let pool = BlockingPool::new(1);
        pool.spawn(|| panic!("a job that slipped its guard"));
        let (tx, rx) = mpsc::channel();
        pool.spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(7));
        assert_eq!(BlockingPool::new(0).size(), 1);
    }
}
