//! A journal process for onex-nats's own tests: opens the `KvJournal` of the default layout
//! and starts runs, to race another such process. Not for users.
//!
//! `onex-nats-test-journal url=nats://127.0.0.1:4222 holder=a runs=50 go=/path/go`: opens
//! the journal, creates `<go>.<holder>.ready`, waits for the file `<go>` to appear (it holds
//! a Unix time in milliseconds, T), then calls `start_run` on `r<n>` at T + 10 ms × n for n
//! in `0..runs`, so that both processes start each run at the same moment, printing one
//! line per run: `r3 created`, `r3 leased <holder>`, or `r3 error <message>`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onex_nats::{KvJournal, Layout};
use onex_runtime::journal::{Journal, JournalError, NewRun, Started};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|arg| {
            arg.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let arg = |name: &str| {
        args.get(name)
            .unwrap_or_else(|| panic!("missing argument {name}=..."))
            .clone()
    };
    let (holder, go) = (arg("holder"), PathBuf::from(arg("go")));
    let runs: usize = arg("runs").parse().expect("runs=<number>");
    let client = async_nats::connect(arg("url")).await.expect("a client");
    let journal = KvJournal::open(client, &Layout::default())
        .await
        .expect("the journal opens");
    std::fs::write(go.with_extension(format!("{holder}.ready")), b"").expect("the ready file");
    let start = loop {
        if let Ok(text) = std::fs::read_to_string(&go)
            && let Ok(millis) = text.trim().parse::<u64>()
        {
            break UNIX_EPOCH + Duration::from_millis(millis);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    for n in 0..runs {
        let at = start + Duration::from_millis(10 * n as u64);
        if let Ok(wait) = at.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        let run_id = format!("r{n}");
        let started = journal
            .start_run(
                NewRun::new(&run_id, "Race", vec![]),
                &holder,
                Duration::from_secs(600),
            )
            .await;
        match started {
            Ok(Started::Created(_)) => println!("{run_id} created"),
            Ok(other) => println!("{run_id} error started as {other:?}"),
            Err(JournalError::RunLeased { holder, .. }) => println!("{run_id} leased {holder}"),
            Err(e) => println!("{run_id} error {e}"),
        }
    }
}
