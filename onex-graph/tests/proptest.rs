//! Property tests: random DAGs always sort with every edge going forward; a random DAG
//! with one back edge always yields a real cycle.

use proptest::prelude::*;

/// A random DAG over `n` nodes: node `i` may only depend on nodes `< i`, then the node
/// labels are shuffled so the input order says nothing about the topological order.
fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..40)
        .prop_flat_map(|n| {
            let edges = proptest::collection::vec(
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
                n,
            );
            (
                Just(n),
                edges,
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(|(n, edges, perm)| {
            let mut deps = vec![Vec::new(); n];
            for (i, picks) in edges.into_iter().enumerate() {
                if i == 0 {
                    continue;
                }
                for pick in picks {
                    let d = pick.index(i);
                    deps[perm[i]].push(perm[d]);
                }
            }
            deps
        })
}

fn assert_real_cycle(deps: &[Vec<usize>], cycle: &[usize]) {
    assert!(!cycle.is_empty());
    for (k, &node) in cycle.iter().enumerate() {
        let next = cycle[(k + 1) % cycle.len()];
        assert!(
            deps[next].contains(&node),
            "{node} does not feed {next}: {cycle:?}"
        );
    }
}

proptest! {
    #[test]
    fn random_dags_sort_with_every_edge_forward(deps in dag()) {
        let levels = onex_graph::levels(&deps).expect("a DAG sorts");
        let mut position = vec![usize::MAX; deps.len()];
        for (p, &node) in levels.order().iter().enumerate() {
            prop_assert_eq!(position[node], usize::MAX, "node listed twice");
            position[node] = p;
        }
        for (node, ds) in deps.iter().enumerate() {
            for &d in ds {
                prop_assert!(position[d] < position[node]);
                prop_assert!(levels.wave_of(d) < levels.wave_of(node));
            }
        }
        prop_assert!(onex_graph::find_cycles(&deps).is_empty());
    }

    #[test]
    fn one_back_edge_yields_a_real_cycle(deps in dag(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        // Pick a node and one of its ancestors (or itself); making the ancestor depend on
        // the node closes every path between them into a cycle.
        let n = deps.len();
        let node = a.index(n);
        let mut ancestors = vec![node];
        let mut k = 0;
        while k < ancestors.len() {
            for &d in &deps[ancestors[k]] {
                if !ancestors.contains(&d) {
                    ancestors.push(d);
                }
            }
            k += 1;
        }
        let ancestor = ancestors[b.index(ancestors.len())];
        let mut cyclic = deps.clone();
        cyclic[ancestor].push(node);
        let cycle = onex_graph::levels(&cyclic).unwrap_err();
        assert_real_cycle(&cyclic, cycle.nodes());
        let all = onex_graph::find_cycles(&cyclic);
        prop_assert_eq!(all.len(), 1, "one back edge closes one strongly connected component");
        assert_real_cycle(&cyclic, all[0].nodes());
    }
}
