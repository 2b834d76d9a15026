//! `KvJournal` passes the journal conformance suite against a real `nats-server -js`, with
//! the default options (file storage) and stressed in memory storage: values split into
//! 16 KiB chunks (so every large input, output and error goes through the chunk path), and
//! at most 2 entries buffered in a run's head (so most commits write entries to their own
//! keys in an atomic batch, and many fold the buffer into them).

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use onex_nats::{KvJournal, KvJournalOptions, Layout};
use onex_runtime::journal::ManualClock;
use onex_runtime::journal::conformance::JournalFactory;
use support::NatsServer;

/// Journals in buckets of one server, one bucket per store. The clients run on a runtime
/// of their own, since a store is made outside of any async context the check runs in.
struct Nats {
    server: NatsServer,
    tokio: tokio::runtime::Runtime,
    stores: AtomicUsize,
    layout: Mutex<Option<Layout>>,
    options: fn() -> KvJournalOptions,
    memory: bool,
}

impl Nats {
    /// A server for one check, or `None` (the check is skipped) when there is none.
    fn start(options: fn() -> KvJournalOptions, memory: bool) -> Option<Nats> {
        let server = NatsServer::start("KvJournal conformance")?;
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the clients");
        Some(Nats {
            server,
            tokio,
            stores: AtomicUsize::new(0),
            layout: Mutex::new(None),
            options,
            memory,
        })
    }

    fn open(&self, layout: &Layout, clock: ManualClock) -> KvJournal {
        let url = self.server.url();
        let options = (self.options)().clock(clock);
        std::thread::scope(|s| {
            s.spawn(|| {
                self.tokio.block_on(async {
                    let client = async_nats::connect(url).await.expect("a client");
                    KvJournal::open_with(client, layout, options)
                        .await
                        .expect("the journal opens")
                })
            })
            .join()
            .expect("opening the journal")
        })
    }
}

impl JournalFactory for Nats {
    type Journal = KvJournal;

    fn create(&self, clock: ManualClock) -> KvJournal {
        let n = self.stores.fetch_add(1, Ordering::Relaxed);
        let mut layout = Layout::new(format!("check{n}"));
        if self.memory {
            layout = layout.in_memory();
        }
        *self.layout.lock().unwrap() = Some(layout.clone());
        self.open(&layout, clock)
    }

    fn reopen(&self, _journal: &KvJournal, clock: ManualClock) -> KvJournal {
        let layout = self
            .layout
            .lock()
            .unwrap()
            .clone()
            .expect("a store was made");
        self.open(&layout, clock)
    }
}

mod defaults {
    use super::*;
    onex_runtime::journal_conformance_tests!({
        let Some(nats) = Nats::start(KvJournalOptions::new, false) else {
            return;
        };
        nats
    });
}

mod chunked_small_buffer_in_memory {
    use super::*;

    fn options() -> KvJournalOptions {
        KvJournalOptions::new().max_value(16 * 1024).max_buffered(2)
    }

    onex_runtime::journal_conformance_tests!({
        let Some(nats) = Nats::start(options, true) else {
            return;
        };
        nats
    });
}
