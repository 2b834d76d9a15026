//! Whole-graph checks after resolution: cycles (every one of them, by name, in data-flow
//! order), `map` steps without a list, and which steps compute a value nobody reads.

use super::parse::Workflow;
use super::resolve::{Resolved, Source};
use crate::ctxt::Ctxt;

/// Reports every cycle of the block (one error per strongly connected component, spanned
/// on the name of its first step) and other shape errors. Returns whether the graph is a DAG.
pub fn check(wf: &Workflow, r: &Resolved, cx: &Ctxt) -> bool {
    for (i, step) in wf.steps.iter().enumerate() {
        if let Some(kw) = &step.map {
            match r.args[i].first() {
                None => cx.error_spanned_by(
                    kw,
                    format!(
                        "`map` step `{}` needs a list to run over as its first argument",
                        step.name
                    ),
                ),
                Some(Some(Source::Step(_) | Source::Input(_))) | Some(None) => {}
            }
        }
    }
    let cycles = onex_graph::find_cycles(&r.deps);
    for cycle in &cycles {
        let names: Vec<String> = wf.steps.iter().map(|s| s.name.to_string()).collect();
        let path = cycle.display_with(move |i| names[i].clone()).to_string();
        let first = cycle.nodes()[0];
        cx.error_spanned_by(
            &wf.steps[first].name,
            format!("cycle in workflow `{}`: {path}", wf.name),
        );
    }
    cycles.is_empty()
}

/// The steps whose output nothing reads and that are not returned: candidates for the
/// dead-work warning (only compute and reducer nodes get it, which the node's `KIND`
/// decides at type level). A leading `_` opts out, as for Rust bindings.
pub fn unused_steps(wf: &Workflow, r: &Resolved) -> Vec<usize> {
    let mut used = vec![false; wf.steps.len()];
    for deps in &r.deps {
        for &d in deps {
            used[d] = true;
        }
    }
    if let Some(o) = r.output {
        used[o] = true;
    }
    (0..wf.steps.len())
        .filter(|&i| !used[i] && !wf.steps[i].name.to_string().starts_with('_'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{parse::parse, resolve::resolve};
    use quote::quote;

    fn cycle_errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        let wf = parse(tokens, &cx).unwrap();
        let r = resolve(&wf, &cx);
        check(&wf, &r, &cx);
        cx.check()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_cycle_is_named_in_data_flow_order() {
        let e = cycle_errors(quote! {
            workflow Etl(raw: R) -> T {
                me = f(me);
                a = f(b);
                b = f(a);
                v = f(z);
                w = f(v);
                x = f(w);
                y = f(x);
                z = f(y);
                ok = f(raw);
                return ok;
            }
        });
        assert_eq!(
            e,
            vec![
                "cycle in workflow `Etl`: me -> me",
                "cycle in workflow `Etl`: a -> b -> a",
                "cycle in workflow `Etl`: v -> w -> x -> y -> z -> v",
            ]
        );
    }

    #[test]
    fn when_parameters_close_cycles_too() {
        let e = cycle_errors(quote! {
            workflow W() -> T {
                #[step(when = |b| true)]
                a = f();
                b = g(a);
                return b;
            }
        });
        assert_eq!(e, vec!["cycle in workflow `W`: a -> b -> a"]);
    }

    #[test]
    fn unused_outputs() {
        let cx = Ctxt::new();
        let wf = parse(
            quote!(workflow W(x: u8) -> u8 { a = f(x); b = f(a); c = f(x); _d = f(x); return b; }),
            &cx,
        )
        .unwrap();
        let r = resolve(&wf, &cx);
        cx.check().unwrap();
        assert_eq!(unused_steps(&wf, &r), vec![2]);
    }
}
