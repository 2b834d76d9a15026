//! The `etl_pipeline` example on 20,000 records: the destination must hold exactly the
//! totals SQL computes straight from the generated source.

#[allow(dead_code)]
#[path = "../examples/etl_pipeline.rs"]
mod etl_pipeline;

use etl_pipeline::*;
use onex::prelude::*;
use rusqlite::Connection;

const RECORDS: u64 = 20_000;
const CHUNK: u64 = 2_000;

/// The expected aggregates, computed by SQLite from the source alone: the same rules as
/// `process`, written independently as a query.
fn expected(source: &std::path::Path) -> Vec<GroupRow> {
    let conn = Connection::open(source).unwrap();
    let regions = REGIONS.map(|r| format!("'{r}'")).join(",");
    let categories = CATEGORIES.map(|c| format!("'{c}'")).join(",");
    let sql = format!(
        "SELECT region, category, COUNT(*), SUM(quantity), SUM(amount_cents * quantity)
           FROM raw_events
          WHERE status = 'completed' AND amount_cents >= 0 AND quantity > 0
            AND region IN ({regions}) AND category IN ({categories})
          GROUP BY region, category ORDER BY region, category"
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |row| {
        Ok(GroupRow {
            region: row.get(0)?,
            category: row.get(1)?,
            orders: row.get(2)?,
            units: row.get(3)?,
            revenue_cents: row.get(4)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn setup() -> (tempfile::TempDir, Databases) {
    let dir = tempfile::tempdir().unwrap();
    let (source, destination) = (
        dir.path().join("source.db"),
        dir.path().join("destination.db"),
    );
    create_source(&source, RECORDS, 7).unwrap();
    create_destination(&destination).unwrap();
    (dir, Databases::open(source, destination).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_holds_the_totals_of_the_source() {
    let (_dir, dbs) = setup();
    let rt = runtime(dbs.clone());
    let chunks = chunks(RECORDS, CHUNK);
    assert_eq!(chunks.len(), 10);
    let outcome = run_etl(&rt, chunks, 4, None).await.unwrap();

    // 10 chunks in rounds of 4: 4 + 4 + 2.
    assert_eq!(outcome.rounds, 3);
    assert_eq!(outcome.reports.len(), 10);
    for report in &outcome.reports {
        assert_eq!(report.state, WorkflowState::Completed);
        assert_eq!(report.steps_completed, 5);
        assert_eq!(report.steps_failed + report.steps_skipped, 0);
        // One thunk per step, in topological order.
        let nodes: Vec<&str> = report
            .thunks_emitted
            .iter()
            .map(|t| t.target_node_type.as_ref())
            .collect();
        assert_eq!(
            nodes,
            [
                "NodeChunkValidatorCompute",
                "NodeDataFetcherEffect",
                "NodeSalesCleanerCompute",
                "NodeSalesAggregatorReducer",
                "NodeSalesWriterEffect"
            ]
        );
        assert_eq!(report.step("saved").map(|s| s.attempts), Some(1));
        assert!(report.load_balanced_operations >= 5, "batched: {report}");
    }
    assert!(outcome.saved.iter().all(|s| s.applied));

    let want = expected(&dbs.source);
    assert_eq!(want.len(), REGIONS.len() * CATEGORIES.len());
    assert_eq!(read_destination(&dbs.destination).unwrap(), want);
    assert_eq!(loaded_chunks(&dbs.destination).unwrap(), 10);
    let kept: i64 = want.iter().map(|g| g.orders).sum();
    assert_eq!(
        outcome.saved.iter().map(|s| s.totals.orders()).sum::<i64>(),
        kept
    );
    // The generator plants bad rows; some must have been dropped, most kept.
    assert!(kept < RECORDS as i64 && kept > RECORDS as i64 / 2, "{kept}");

    // Running a chunk again changes nothing: the ledger makes `save` idempotent.
    let again = Etl::run(&rt, chunks_again(), RunOptions::new())
        .await
        .unwrap();
    assert!(!again.output.applied);
    assert_eq!(read_destination(&dbs.destination).unwrap(), want);

    // The chrome trace of the batch is one timeline with a process per run.
    let trace = onex::chrome_trace(&outcome.reports);
    let pids: std::collections::BTreeSet<u64> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["pid"].as_u64())
        .collect();
    assert_eq!(pids.len(), 10);
}

fn chunks_again() -> Chunk {
    chunks(RECORDS, CHUNK)[3]
}

#[tokio::test]
async fn the_compensation_takes_a_saved_chunk_out_again() {
    let (_dir, dbs) = setup();
    let rt = runtime(dbs.clone());
    let chunk = chunks(RECORDS, CHUNK)[0];
    let run = Etl::run(&rt, chunk, RunOptions::new()).await.unwrap();
    assert!(run.output.applied);
    assert_eq!(loaded_chunks(&dbs.destination).unwrap(), 1);
    let before: i64 = read_destination(&dbs.destination)
        .unwrap()
        .iter()
        .map(|g| g.orders)
        .sum();
    assert_eq!(before, run.output.totals.orders());

    // Nodes stay plain functions: call the compensation as a saga would.
    let ctx = Context::detached(&rt, "Etl");
    unsave(&ctx, &run.output).unwrap();
    let rows = read_destination(&dbs.destination).unwrap();
    assert!(rows.iter().all(|g| g.orders == 0 && g.revenue_cents == 0));
    assert_eq!(loaded_chunks(&dbs.destination).unwrap(), 0);

    // With the ledger entry gone, the chunk loads again.
    let rerun = Etl::run(&rt, chunk, RunOptions::new()).await.unwrap();
    assert!(rerun.output.applied);
}

#[tokio::test]
async fn an_invalid_chunk_fails_validation_before_any_io() {
    let (_dir, dbs) = setup();
    let rt = runtime(dbs);
    let bad = Chunk {
        index: 99,
        first_id: 10,
        end_id: 10,
    };
    let err = Etl::run(&rt, bad, RunOptions::new()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.failed_step(), Some("valid"));
    let report = err.report().unwrap();
    assert_eq!(report.state, WorkflowState::Failed);
    assert_eq!(report.steps_completed, 0);
}

#[test]
fn the_plan_is_five_thunks_and_the_first_records_its_chunk() {
    let chunk = chunks(RECORDS, CHUNK)[1];
    let plan = Etl::plan(&chunk);
    assert_eq!(plan.len(), 5);
    assert_eq!(
        plan[0].operation_data,
        serde_json::json!({"index": 1, "first_id": 2001, "end_id": 4001})
    );
    // `saved` depends on `valid` and `totals`: two thunk dependencies.
    assert_eq!(plan[4].dependencies.len(), 2);
    assert_eq!(Etl::graph().waves().len(), 5);
}

#[test]
fn process_drops_what_the_rules_reject() {
    let event = |status: &str, region: &str, amount_cents, quantity| RawEvent {
        id: 1,
        region: region.into(),
        category: "toys".into(),
        amount_cents,
        quantity,
        status: status.into(),
    };
    let sales = process(&[
        event("completed", "north", 250, 2),
        event("cancelled", "north", 250, 2),
        event("completed", "atlantis", 250, 2),
        event("completed", "north", -1, 2),
        event("completed", "north", 250, 0),
    ]);
    assert_eq!(
        sales,
        [Sale {
            region: "north",
            category: "toys",
            units: 2,
            revenue_cents: 500
        }]
    );
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

#[test]
fn the_command_line_reads_a_count_the_flags_and_help() {
    assert_eq!(
        parse_args(args(&[]), None),
        Ok(Command::Run {
            records: DEFAULT_RECORDS
        })
    );
    assert_eq!(
        parse_args(args(&["200_000"]), Some("5".into())),
        Ok(Command::Run { records: 200_000 })
    );
    assert_eq!(
        parse_args(args(&[]), Some("20000".into())),
        Ok(Command::Run { records: 20_000 })
    );
    // `--mermaid` prints the graph and nothing else, whatever else is asked.
    assert_eq!(parse_args(args(&["--mermaid"]), None), Ok(Command::Mermaid));
    assert_eq!(
        parse_args(args(&["20000", "--mermaid"]), None),
        Ok(Command::Mermaid)
    );
    for help in ["--help", "-h"] {
        assert_eq!(
            parse_args(args(&["--mermaid", help]), None),
            Ok(Command::Help)
        );
    }
    // The usage names every flag the parser takes.
    for flag in ["--mermaid", "--help", "-h", "RECORDS", "ETL_RECORDS"] {
        assert!(USAGE.contains(flag), "{flag}");
    }
}

#[test]
fn a_bad_command_line_says_what_is_wrong() {
    assert_eq!(
        parse_args(args(&["--mermiad"]), None),
        Err("unknown option `--mermiad`".to_owned())
    );
    assert_eq!(
        parse_args(args(&["10", "20"]), None),
        Err("unexpected argument `20`".to_owned())
    );
    let e = parse_args(args(&["lots"]), None).unwrap_err();
    assert!(e.starts_with("`lots` is not a number of records"), "{e}");
}
