//! The trybuild suite: every diagnostic of `#[node]` and `workflow!` has a case in
//! `tests/ui/`. Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui` and
//! read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/err_*.rs");
}
