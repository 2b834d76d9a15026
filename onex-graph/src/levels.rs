//! Topological order grouped into waves (topological levels).

use crate::cycles::{Cycle, find_cycles};

/// A topological order of a graph, grouped into waves.
///
/// Wave 0 holds the nodes without dependencies; wave `k` holds the nodes whose deepest
/// dependency is in wave `k - 1`. The nodes of one wave never depend on each other, so they
/// may run at the same time. Within a wave, nodes keep their index order.
///
/// # Examples
///
/// ```
/// let deps: Vec<Vec<usize>> = vec![vec![1], vec![]];
/// let levels = onex_graph::levels(&deps).unwrap();
/// assert_eq!(levels.order(), &[1, 0]);
/// assert_eq!(levels.wave_of(0), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels {
    order: Vec<usize>,
    wave_starts: Vec<usize>,
    wave_of: Vec<usize>,
}

impl Levels {
    /// Every node once, dependencies before dependents, wave by wave.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Where each wave starts in [`order`](Self::order); one entry per wave.
    pub fn wave_starts(&self) -> &[usize] {
        &self.wave_starts
    }

    /// The wave (topological level) of `node`.
    ///
    /// # Panics
    ///
    /// If `node` is not a node of the graph.
    pub fn wave_of(&self, node: usize) -> usize {
        self.wave_of[node]
    }

    /// The number of waves.
    pub fn wave_count(&self) -> usize {
        self.wave_starts.len()
    }

    /// The waves in order, each a slice of node indexes.
    pub fn waves(&self) -> impl ExactSizeIterator<Item = &[usize]> + '_ {
        (0..self.wave_starts.len()).map(move |w| {
            let end = self
                .wave_starts
                .get(w + 1)
                .copied()
                .unwrap_or(self.order.len());
            &self.order[self.wave_starts[w]..end]
        })
    }

    /// Consumes the levels into `(order, wave_starts, wave_of)`.
    pub fn into_parts(self) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        (self.order, self.wave_starts, self.wave_of)
    }
}

/// Sorts a graph topologically and groups it into waves, or returns a cycle.
///
/// `deps[i]` lists the nodes that node `i` depends on. An index out of range is ignored
/// (callers resolve names to indexes before they get here). A node listed twice as a
/// dependency counts once.
///
/// # Errors
///
/// The first cycle of the graph (see [`find_cycles`]) when the graph is not a DAG.
///
/// # Examples
///
/// ```
/// let cyclic: Vec<Vec<usize>> = vec![vec![1], vec![0]];
/// let cycle = onex_graph::levels(&cyclic).unwrap_err();
/// assert_eq!(cycle.nodes(), &[0, 1]);
/// ```
pub fn levels<D: AsRef<[usize]>>(deps: &[D]) -> Result<Levels, Cycle> {
    let n = deps.len();
    // Kahn's algorithm, level by level: the frontier of one wave is the next wave.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending = vec![0usize; n];
    for (node, ds) in deps.iter().enumerate() {
        let ds = ds.as_ref();
        for (k, &d) in ds.iter().enumerate() {
            if d < n && !ds[..k].contains(&d) {
                dependents[d].push(node);
                pending[node] += 1;
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut wave_starts = Vec::new();
    let mut wave_of = vec![usize::MAX; n];
    let mut frontier: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    while !frontier.is_empty() {
        let wave = wave_starts.len();
        wave_starts.push(order.len());
        let mut next = Vec::new();
        for &node in &frontier {
            wave_of[node] = wave;
            for &dep in &dependents[node] {
                pending[dep] -= 1;
                if pending[dep] == 0 {
                    next.push(dep);
                }
            }
        }
        order.extend_from_slice(&frontier);
        next.sort_unstable();
        frontier = next;
    }
    if order.len() < n {
        let cycle = find_cycles(deps)
            .into_iter()
            .next()
            .expect("a graph that does not sort has a cycle");
        return Err(cycle);
    }
    Ok(Levels {
        order,
        wave_starts,
        wave_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_graph_has_no_waves() {
        let deps: Vec<Vec<usize>> = vec![];
        let levels = levels(&deps).unwrap();
        assert_eq!(levels.wave_count(), 0);
        assert!(levels.order().is_empty());
    }

    #[test]
    fn diamond_runs_in_three_waves() {
        let deps: Vec<Vec<usize>> = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let levels = levels(&deps).unwrap();
        let waves: Vec<_> = levels.waves().collect();
        assert_eq!(waves, vec![&[0][..], &[1, 2], &[3]]);
        assert_eq!(levels.wave_of(3), 2);
    }

    #[test]
    fn forward_references_sort() {
        // 0 depends on 2, 2 depends on 1.
        let deps: Vec<Vec<usize>> = vec![vec![2], vec![], vec![1]];
        assert_eq!(levels(&deps).unwrap().order(), &[1, 2, 0]);
    }

    #[test]
    fn duplicate_dependency_counts_once() {
        let deps: Vec<Vec<usize>> = vec![vec![], vec![0, 0]];
        assert_eq!(levels(&deps).unwrap().order(), &[0, 1]);
    }

    #[test]
    fn self_loop_is_a_cycle() {
        let deps: Vec<Vec<usize>> = vec![vec![], vec![1]];
        assert_eq!(levels(&deps).unwrap_err().nodes(), &[1]);
    }
}
