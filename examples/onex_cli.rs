//! A workflow-spec command line over the example ETL nodes.
//!
//! ```text
//! cargo run --example onex_cli --features cli -- validate examples/specs/etl.yaml
//! cargo run --example onex_cli --features cli -- run examples/specs/etl.yaml --mode batch
//! cargo run --example onex_cli --features cli -- graph examples/specs/two_sources.json
//! ```

#[path = "common/etl_nodes.rs"]
mod etl_nodes;

fn main() -> std::process::ExitCode {
    onex::cli::main(etl_nodes::registry())
}
