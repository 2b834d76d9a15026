//! The `durable_orders` example, killed with SIGKILL in the middle of its orders and run
//! again with `--resume`: every run in the journal finishes, and the ledger (the effects'
//! outside world) shows no effect applied twice. The example runs in a child process: this
//! test binary itself, running only `child` (feature `sqlite`).

#[allow(dead_code)]
#[path = "../examples/durable_orders.rs"]
mod durable_orders;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use rusqlite::Connection;

/// The environment variable that makes `child` run the example with these arguments.
const ARGS: &str = "DURABLE_ORDERS_ARGS";

/// Not a test of its own: the example's `main`, in a process the tests start and kill.
#[test]
fn child() {
    let Ok(args) = std::env::var(ARGS) else {
        return;
    };
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let args = args.split(' ').map(str::to_owned);
    let code = match tokio.block_on(durable_orders::run(args)) {
        Ok(code) => code == std::process::ExitCode::SUCCESS,
        Err(e) => panic!("durable_orders: {e}"),
    };
    std::process::exit(if code { 0 } else { 1 });
}

/// The example with `args`, as a child process.
fn example(dir: &Path, args: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(ARGS, args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

fn finished(output: Output) -> String {
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}");
    text
}

fn count(ledger: &Connection, sql: &str) -> i64 {
    ledger.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn killed_midway_then_resumed_every_order_finishes_and_no_effect_applies_twice() {
    let dir = tempfile::tempdir().unwrap();
    let args = "--orders 10 --delay-ms 300";

    // Killed once order 5 holds its stock: it is in `charge` (which will decline its
    // card), others are done, in flight, or not started.
    let mut placing = example(dir.path(), args).spawn().unwrap();
    let mut lines = BufReader::new(placing.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the example prints its orders")
            .unwrap();
        if line == "order-5: stock held" {
            break;
        }
    }
    placing.kill().unwrap();
    placing.wait().unwrap();

    let resumed = finished(
        example(dir.path(), &format!("{args} --resume"))
            .output()
            .unwrap(),
    );
    assert!(resumed.contains("resumed order-5: failed"), "{resumed}");
    assert!(resumed.contains(", 0 unfinished"), "{resumed}");
    assert!(resumed.contains("no effect ran twice"), "{resumed}");

    // The orders that never started are placed; the others attach to their runs.
    let placed = finished(example(dir.path(), args).output().unwrap());
    assert!(
        placed.contains("journal: 10 runs: 8 completed, 2 failed, 0 unfinished"),
        "{placed}"
    );

    let ledger = Connection::open(dir.path().join("durable-orders-ledger.db")).unwrap();
    assert_eq!(
        count(&ledger, "SELECT COUNT(DISTINCT order_id) FROM holds"),
        10
    );
    assert_eq!(count(&ledger, "SELECT COUNT(*) FROM holds"), 10);
    assert_eq!(count(&ledger, "SELECT COUNT(*) FROM payments"), 8);
    assert_eq!(
        count(
            &ledger,
            "SELECT COUNT(*) FROM payments WHERE order_id % 5 = 0"
        ),
        0
    );
    // The declined orders (5 and 10) had their holds released, once each: order 5's by
    // its resumed run, which `recover_with` compensates.
    let released: String = ledger
        .query_row(
            "SELECT group_concat(order_id) FROM (SELECT order_id FROM releases ORDER BY 1)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(released, "5,10");
}
