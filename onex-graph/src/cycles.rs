//! Finding the cycles of a dependency graph, one per strongly connected component.

use std::fmt;

/// A cycle of a dependency graph, in the direction data flows.
///
/// `nodes()[0]` feeds `nodes()[1]`, ..., and the last node feeds `nodes()[0]` again. A node
/// that depends on itself is a cycle of one.
///
/// # Examples
///
/// ```
/// // 0 needs 2, 1 needs 0, 2 needs 1: data flows 0 -> 1 -> 2 -> 0.
/// let deps: Vec<Vec<usize>> = vec![vec![2], vec![0], vec![1]];
/// let cycle = &onex_graph::find_cycles(&deps)[0];
/// assert_eq!(cycle.nodes(), &[0, 1, 2]);
/// assert_eq!(cycle.display_with(|i| ["a", "b", "c"][i]).to_string(), "a -> b -> c -> a");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cycle {
    nodes: Vec<usize>,
}

impl Cycle {
    /// The nodes on the cycle, each feeding the next; the last feeds the first.
    pub fn nodes(&self) -> &[usize] {
        &self.nodes
    }

    /// Formats the cycle as `a -> b -> a`, naming nodes with `name`.
    pub fn display_with<F, N>(&self, name: F) -> impl fmt::Display + '_
    where
        F: Fn(usize) -> N + 'static,
        N: fmt::Display,
    {
        struct Named<'a, F> {
            nodes: &'a [usize],
            name: F,
        }
        impl<F: Fn(usize) -> N, N: fmt::Display> fmt::Display for Named<'_, F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for &node in self.nodes {
                    write!(f, "{} -> ", (self.name)(node))?;
                }
                match self.nodes.first() {
                    Some(&first) => write!(f, "{}", (self.name)(first)),
                    None => Ok(()),
                }
            }
        }
        Named {
            nodes: &self.nodes,
            name,
        }
    }
}

/// Finds one cycle in every strongly connected component that has one.
///
/// Each cycle starts at the lowest-index node of its component and is a shortest cycle
/// through that node, so the result is deterministic. Cycles come ordered by their first
/// node. An empty result means the graph is a DAG. Indexes out of range are ignored.
///
/// # Examples
///
/// ```
/// // Two separate cycles: 0 <-> 1 and a self loop on 2.
/// let deps: Vec<Vec<usize>> = vec![vec![1], vec![0], vec![2]];
/// let cycles = onex_graph::find_cycles(&deps);
/// assert_eq!(cycles.len(), 2);
/// assert_eq!(cycles[1].nodes(), &[2]);
/// ```
pub fn find_cycles<D: AsRef<[usize]>>(deps: &[D]) -> Vec<Cycle> {
    let n = deps.len();
    let dependents = dependents(deps);
    let component = strongly_connected_components(&dependents);
    let mut seen_component = vec![false; n];
    let mut cycles = Vec::new();
    for start in 0..n {
        let c = component[start];
        if seen_component[c] {
            continue;
        }
        seen_component[c] = true;
        if let Some(nodes) = shortest_cycle_through(start, &dependents, |v| component[v] == c) {
            cycles.push(Cycle { nodes });
        }
    }
    cycles
}

/// Edges in the direction of data flow: `dependents[d]` lists who `d` feeds.
fn dependents<D: AsRef<[usize]>>(deps: &[D]) -> Vec<Vec<usize>> {
    let n = deps.len();
    let mut out = vec![Vec::new(); n];
    for (node, ds) in deps.iter().enumerate() {
        for &d in ds.as_ref() {
            if d < n && !out[d].contains(&node) {
                out[d].push(node);
            }
        }
    }
    for list in &mut out {
        list.sort_unstable();
    }
    out
}

/// Breadth-first search from `start` back to `start`, staying inside the component.
fn shortest_cycle_through(
    start: usize,
    edges: &[Vec<usize>],
    in_component: impl Fn(usize) -> bool,
) -> Option<Vec<usize>> {
    let mut parent = vec![usize::MAX; edges.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    let mut visited = vec![false; edges.len()];
    visited[start] = true;
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    cur = parent[cur];
                    path.push(cur);
                }
                path.pop();
                path.push(start);
                path.reverse();
                // `path` now starts at `start` and ends at `v`; `v` feeds `start`.
                return Some(path);
            }
            if !visited[w] && in_component(w) {
                visited[w] = true;
                parent[w] = v;
                queue.push_back(w);
            }
        }
    }
    None
}

/// Tarjan's algorithm, iterative so that deep graphs cannot overflow the stack.
fn strongly_connected_components(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![UNSEEN; n];
    let mut next_index = 0;
    let mut next_component = 0;
    let mut call: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        call.push((root, 0));
        while let Some(&mut (v, ref mut edge)) = call.last_mut() {
            if *edge == 0 && index[v] == UNSEEN {
                index[v] = next_index;
                low[v] = next_index;
                next_index += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*edge) {
                *edge += 1;
                if index[w] == UNSEEN {
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = next_component;
                    if w == v {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cycle: &Cycle) -> String {
        cycle
            .display_with(|i| ["a", "b", "c", "d", "e", "f"][i])
            .to_string()
    }

    #[test]
    fn dag_has_no_cycles() {
        let deps: Vec<Vec<usize>> = vec![vec![], vec![0], vec![0, 1]];
        assert!(find_cycles(&deps).is_empty());
    }

    #[test]
    fn two_step_cycle_reads_in_data_order() {
        // b = f(a), a = g(b)
        let deps: Vec<Vec<usize>> = vec![vec![1], vec![0]];
        assert_eq!(names(&find_cycles(&deps)[0]), "a -> b -> a");
    }

    #[test]
    fn five_step_cycle_names_every_step() {
        // a feeds b feeds c feeds d feeds e feeds a.
        let deps: Vec<Vec<usize>> = vec![vec![4], vec![0], vec![1], vec![2], vec![3]];
        assert_eq!(names(&find_cycles(&deps)[0]), "a -> b -> c -> d -> e -> a");
    }

    #[test]
    fn every_component_reports_its_own_cycle() {
        // a <-> b, and c -> d -> e -> c, and f alone.
        let deps: Vec<Vec<usize>> = vec![vec![1], vec![0], vec![4], vec![2], vec![3], vec![]];
        let cycles = find_cycles(&deps);
        assert_eq!(cycles.len(), 2);
        assert_eq!(names(&cycles[0]), "a -> b -> a");
        assert_eq!(names(&cycles[1]), "c -> d -> e -> c");
    }

    #[test]
    fn self_loop_is_a_cycle_of_one() {
        let deps: Vec<Vec<usize>> = vec![vec![0]];
        assert_eq!(names(&find_cycles(&deps)[0]), "a -> a");
    }
}
