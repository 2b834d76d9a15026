//! `#[node(.., remote)]`: nodes registered at link time for worker processes, run by name
//! from JSON as a worker runs a thunk (`NodeRegistry::linked`), and the same nodes still
//! steps of a `workflow!`.

use onex::NodeKind;
use onex::dynamic::NodeRegistry;
use onex::prelude::*;
use serde_json::{Value, json};

#[node(compute, remote)]
fn scale(x: &i64, factor: Option<&i64>) -> i64 {
    x * factor.copied().unwrap_or(1)
}

#[node(effect, remote, retries = 2, name = "NodeLabel")]
async fn label(ctx: &Context, n: &i64) -> Result<String, NodeError> {
    if *n < 0 {
        return Err(NodeError::permanent(format!("negative: {n}")));
    }
    Ok(format!("{} #{n}", ctx.workflow()))
}

#[node(reducer, remote)]
fn total(acc: &mut i64, x: &i64) {
    *acc += x;
}

#[node(compute)]
fn not_remote(x: &i64) -> i64 {
    *x
}

workflow! {
    /// Uses the remote nodes as plain steps.
    workflow Local(x: i64) -> String {
        s = scale(x, x);
        l = label(s);
        return l;
    }
}

async fn call(registry: &NodeRegistry, node: &str, input: Value) -> Result<Value, NodeError> {
    let ctx = Context::detached(&Runtime::default(), "remote");
    registry.invoke(&ctx, node, input).expect(node).await
}

#[tokio::test]
async fn linked_nodes_are_the_remote_ones_with_their_kinds() {
    let registry = NodeRegistry::linked();
    for (node, kind) in [
        ("Scale", NodeKind::Compute),
        ("NodeLabel", NodeKind::Effect),
        ("Total", NodeKind::Reducer),
    ] {
        assert_eq!(registry.kind(node), Some(kind), "{node}");
    }
    assert!(!registry.contains("NotRemote"));
    assert_eq!(registry.input_type("Scale"), Some("i64, Option<i64>"));
}

#[tokio::test]
async fn a_linked_node_runs_from_json_as_a_step_would() {
    let registry = NodeRegistry::linked();
    // Several inputs travel as an array; an absent optional one as null.
    assert_eq!(call(&registry, "Scale", json!([7, 6])).await, Ok(json!(42)));
    assert_eq!(
        call(&registry, "Scale", json!([7, null])).await,
        Ok(json!(7))
    );
    // One input travels as itself; an effect gets its context.
    assert_eq!(
        call(&registry, "NodeLabel", json!(3)).await,
        Ok(json!("remote #3"))
    );
    let error = call(&registry, "NodeLabel", json!(-1)).await.unwrap_err();
    assert_eq!(error.message(), "negative: -1");
    // A reducer folds its list.
    assert_eq!(
        call(&registry, "Total", json!([1, 2, 3])).await,
        Ok(json!(6))
    );
}

#[tokio::test]
async fn input_that_does_not_fit_is_an_invalid_input_error_naming_the_node() {
    let registry = NodeRegistry::linked();
    let error = call(&registry, "Scale", json!("seven")).await.unwrap_err();
    assert_eq!(error.code(), onex::ErrorCode::InvalidInput);
    assert!(!error.is_transient());
    assert!(
        error.message().contains("the input of node `Scale`"),
        "{error}"
    );
}

#[tokio::test]
async fn remote_nodes_are_still_steps() {
    let run = Local::run(&Runtime::default(), 3, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(run.output, "Local #9");
    assert_eq!(not_remote(&1), 1);
}
