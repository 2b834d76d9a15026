//! The `fan_out_fan_in` example: three sources in one wave, the merged stock, and a `map`
//! whose width follows the data.

#[allow(dead_code)]
#[path = "../examples/fan_out_fan_in.rs"]
mod fan_out_fan_in;

use fan_out_fan_in::*;
use onex::prelude::*;

fn request(catalog: &str, partition_size: usize) -> Request {
    Request {
        catalog: catalog.into(),
        partition_size,
    }
}

/// The valuation computed without the workflow. Every SKU is in the warehouse, every 2nd
/// also in the stores, every 3rd also online: the units must be summed across sources.
fn expected(skus: usize) -> Valuation {
    let (mut units, mut value) = (0u64, 0u64);
    for i in 0..skus {
        let copies = 1 + u64::from(i % 2 == 0) + u64::from(i % 3 == 0);
        let u = (i as u64 % 7 + 1) * copies;
        units += u;
        value += u * unit_price_cents(&format!("SKU-{i:04}"));
    }
    Valuation {
        partitions: skus.div_ceil(8),
        skus,
        units,
        value_cents: value,
    }
}

#[tokio::test]
async fn three_sources_merge_and_the_map_is_as_wide_as_the_data() {
    let g = Inventory::graph();
    let wave0: Vec<&str> = g
        .waves()
        .next()
        .unwrap()
        .iter()
        .map(|&s| g.step(s).name.as_ref())
        .collect();
    assert_eq!(wave0.len(), 3);
    for source in ["warehouse", "stores", "online"] {
        assert!(wave0.contains(&source), "{wave0:?}");
    }
    assert!(g.step(g.find("priced").unwrap()).map);

    let rt = Runtime::default();
    for (catalog, skus) in [("spring", 40), ("summer", 95)] {
        let run = run_inventory(&rt, request(catalog, 8)).await.unwrap();
        assert_eq!(run.valuation, expected(skus), "{catalog}");
        assert_eq!(run.map_width, skus.div_ceil(8), "{catalog}");
        let r = &run.report;
        assert_eq!(r.state, WorkflowState::Completed);
        // One thunk per call: 7 plain steps plus one per partition.
        assert_eq!(r.thunks_emitted.len(), 7 + run.map_width);
        assert_eq!(r.thunks_of("priced").len(), run.map_width);
        // The three fetches ran side by side, and so did the pricing calls.
        assert!(r.parallel_executions >= 3 + run.map_width, "{r}");
    }

    // A bad request fails in the sources, before anything is merged.
    let err = run_inventory(&rt, request("winter", 8)).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}
