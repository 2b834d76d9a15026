//! "Did you mean" suggestions for unknown names: the closest known name by edit distance.
//! Shared by the macros (unknown steps, options) and the runtime (unknown node types).

/// The candidate closest to `name`, when it is close enough to be a plausible typo.
///
/// Close enough means a case-insensitive match, or an edit distance of at most a third of
/// the longer name (at least 1) that leaves part of the shorter name intact (`b` is no
/// suggestion for `c`); ties go to the first candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let (a, b) = (name.chars().count(), candidate.chars().count());
        let limit = (a.max(b) / 3).max(1);
        // The distance is at least the difference in length: skip the quadratic work.
        if a.abs_diff(b) > limit {
            continue;
        }
        let distance = if candidate.eq_ignore_ascii_case(name) {
            0
        } else {
            edit_distance(name, candidate)
        };
        let plausible = distance == 0 || (distance <= limit && distance < a.min(b));
        if plausible && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or the empty string.
///
/// ```
/// assert_eq!(onex_graph::suggest::did_you_mean("recods", ["records", "clean"]), "; did you mean `records`?");
/// assert_eq!(onex_graph::suggest::did_you_mean("totals", ["records", "clean"]), "");
/// ```
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// The edit distance between two names: the fewest insertions, deletions, substitutions
/// and swaps of two adjacent chars that turn `a` into `b` (the optimal string alignment
/// distance, as rustc's `edit_distance` uses). A swap counts once because transposed
/// letters are the commonest typo: `rwa` is one edit from `raw`, not two.
///
/// O(len(a) * len(b)) time, O(len(b)) space.
///
/// ```
/// use onex_graph::suggest::edit_distance;
/// assert_eq!(edit_distance("kitten", "sitting"), 3);
/// assert_eq!(edit_distance("totlas", "totals"), 1);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: the one before the previous is where a swap comes from.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            let mut best = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                best = best.min(before[j - 1] + 1);
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("rwa", "raw"), 1);
        assert_eq!(edit_distance("totlas", "totals"), 1);
        // Optimal string alignment: a swapped pair is not edited again.
        assert_eq!(edit_distance("ca", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn transposed_names_get_a_suggestion() {
        assert_eq!(closest("rwa", ["raw", "valid"]), Some("raw"));
        assert_eq!(closest("totlas", ["totals", "records"]), Some("totals"));
        assert_eq!(closest("socre", ["score"]), Some("score"));
        assert_eq!(closest("ko", ["ok"]), Some("ok"));
    }

    #[test]
    fn suggests_close_names_only() {
        let known = ["NodeDataValidator", "NodeDatabaseWriter", "NodeAggregator"];
        assert_eq!(
            closest("NodeDataValidatr", known),
            Some("NodeDataValidator")
        );
        assert_eq!(closest("nodeaggregator", known), Some("NodeAggregator"));
        assert_eq!(closest("Frobnicate", known), None);
        assert_eq!(did_you_mean("x", known), "");
        assert_eq!(closest("c", ["b", "a"]), None);
        assert_eq!(closest("ab", ["abc"]), Some("abc"));
    }
}
