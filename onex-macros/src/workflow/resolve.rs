//! Name resolution, after the whole block is read: arguments, `when` parameters and the
//! `return` to step or input indexes. Forward references need nothing special; a cycle is
//! just a graph that `check` rejects.

use std::collections::HashMap;

use syn::{Ident, Pat};

use super::parse::Workflow;
use crate::ctxt::Ctxt;
use onex_graph::suggest::did_you_mean;

/// What an argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A workflow input, by index.
    Input(usize),
    /// A step's output, by index.
    Step(usize),
}

/// A resolved workflow: indexes instead of names.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Per step, per argument; `None` for a name already reported as unknown.
    pub args: Vec<Vec<Option<Source>>>,
    /// Per step, the `when` parameters (steps) with their binding idents.
    pub when: Vec<Vec<(Ident, usize)>>,
    /// Per step, the steps it reads (arguments, then `when` parameters), each once.
    pub deps: Vec<Vec<usize>>,
    /// Per step, the workflow inputs it reads, each once.
    pub reads_inputs: Vec<Vec<usize>>,
    /// The output step.
    pub output: Option<usize>,
}

/// Resolves every name; unknown names are reported with a suggestion when one is close.
pub fn resolve(wf: &Workflow, cx: &Ctxt) -> Resolved {
    let wname = &wf.name;
    let mut steps: HashMap<String, usize> = HashMap::new();
    let inputs: HashMap<String, usize> = wf
        .inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| (inp.name.to_string(), i))
        .collect();
    for (i, inp) in wf.inputs.iter().enumerate() {
        if wf.inputs[..i].iter().any(|o| o.name == inp.name) {
            cx.error_spanned_by(
                &inp.name,
                format!("duplicate input `{}` in workflow `{wname}`", inp.name),
            );
        }
    }
    for (i, step) in wf.steps.iter().enumerate() {
        let name = step.name.to_string();
        if inputs.contains_key(&name) {
            cx.error_spanned_by(
                &step.name,
                format!("step `{name}` has the name of an input of workflow `{wname}`; rename one of them"),
            );
            continue;
        }
        match steps.entry(name) {
            std::collections::hash_map::Entry::Occupied(e) => cx.error_spanned_by(
                &step.name,
                format!(
                    "duplicate step `{}` in workflow `{wname}`: a step name is defined once",
                    e.key()
                ),
            ),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    let candidates = || {
        wf.steps
            .iter()
            .map(|s| s.name.to_string())
            .chain(wf.inputs.iter().map(|i| i.name.to_string()))
            .collect::<Vec<_>>()
    };
    let step_names = || {
        wf.steps
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>()
    };

    let mut out = Resolved::default();
    for step in &wf.steps {
        let mut deps: Vec<usize> = Vec::new();
        let mut reads: Vec<usize> = Vec::new();
        let mut args = Vec::new();
        for arg in &step.args {
            let a = arg.to_string();
            let src = if let Some(&s) = steps.get(&a) {
                Some(Source::Step(s))
            } else if let Some(&i) = inputs.get(&a) {
                Some(Source::Input(i))
            } else {
                let c = candidates();
                cx.error_spanned_by(
                    arg,
                    format!(
                        "unknown step or input `{a}` in workflow `{wname}`{}",
                        did_you_mean(&a, c.iter().map(String::as_str))
                    ),
                );
                None
            };
            match src {
                Some(Source::Step(s)) if !deps.contains(&s) => deps.push(s),
                Some(Source::Input(i)) if !reads.contains(&i) => reads.push(i),
                _ => {}
            }
            args.push(src);
        }
        let mut when = Vec::new();
        if let Some(w) = &step.options.when {
            for p in &w.value.inputs {
                let Some(ident) = pat_ident(p) else {
                    cx.error_spanned_by(p, "a `when` parameter is the name of a step");
                    continue;
                };
                let n = ident.to_string();
                if let Some(&s) = steps.get(&n) {
                    if !deps.contains(&s) {
                        deps.push(s);
                    }
                    when.push((ident.clone(), s));
                } else if inputs.contains_key(&n) {
                    cx.error_spanned_by(
                        ident,
                        format!("`when` parameter `{n}` is a workflow input, not a step; a condition reads step outputs"),
                    );
                } else {
                    let c = step_names();
                    cx.error_spanned_by(
                        ident,
                        format!(
                            "`when` parameter `{n}` is not a step of workflow `{wname}`{}",
                            did_you_mean(&n, c.iter().map(String::as_str))
                        ),
                    );
                }
            }
        }
        out.args.push(args);
        out.when.push(when);
        out.deps.push(deps);
        out.reads_inputs.push(reads);
    }

    match wf.returns.as_slice() {
        [] => cx.error_at(
            wf.close,
            format!("workflow `{wname}` has no `return`: end it with `return <step>;` naming its output step"),
        ),
        [first, rest @ ..] => {
            for r in rest {
                cx.error_spanned_by(r, format!("workflow `{wname}` has more than one `return`"));
            }
            let n = first.to_string();
            if let Some(&s) = steps.get(&n) {
                out.output = Some(s);
            } else if inputs.contains_key(&n) {
                cx.error_spanned_by(
                    first,
                    format!("`return` names the input `{n}`; a workflow returns one of its steps"),
                );
            } else {
                let c = step_names();
                cx.error_spanned_by(
                    first,
                    format!(
                        "`return` names unknown step `{n}` in workflow `{wname}`{}",
                        did_you_mean(&n, c.iter().map(String::as_str))
                    ),
                );
            }
        }
    }
    out
}

/// The ident of a closure parameter: `a` or `a: &T`.
fn pat_ident(p: &Pat) -> Option<&Ident> {
    match p {
        Pat::Ident(i) if i.subpat.is_none() => Some(&i.ident),
        Pat::Type(t) => pat_ident(&t.pat),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::parse::parse;
    use quote::quote;

    fn run(tokens: proc_macro2::TokenStream) -> (Resolved, Vec<String>) {
        let cx = Ctxt::new();
        let wf = parse(tokens, &cx).unwrap();
        let r = resolve(&wf, &cx);
        let e = cx
            .check()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (r, e)
    }

    #[test]
    fn forward_references_resolve() {
        let (r, e) = run(quote! {
            workflow W(raw: R) -> T {
                b = g(a, raw);
                #[step(when = |a| *a > 0)]
                c = h(b, b);
                a = f(raw);
                return c;
            }
        });
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            r.args[0],
            vec![Some(Source::Step(2)), Some(Source::Input(0))]
        );
        assert_eq!(r.deps, vec![vec![2], vec![0, 2], vec![]]);
        assert_eq!(r.reads_inputs, vec![vec![0], vec![], vec![0]]);
        assert_eq!(r.when[1].len(), 1);
        assert_eq!(r.output, Some(1));
    }

    #[test]
    fn unknown_names_duplicates_and_returns() {
        let (_, e) = run(quote! {
            workflow W(raw: R) -> T {
                valid = f(rw);
                valid = g(raw);
                #[step(when = |raw, vald| true)]
                c = h(valid);
                return totals;
            }
        });
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e[0].starts_with("duplicate step `valid`"));
        assert_eq!(
            e[1],
            "unknown step or input `rw` in workflow `W`; did you mean `raw`?"
        );
        assert!(e[2].starts_with("`when` parameter `raw` is a workflow input"));
        assert_eq!(
            e[3],
            "`when` parameter `vald` is not a step of workflow `W`; did you mean `valid`?"
        );
        assert_eq!(e[4], "`return` names unknown step `totals` in workflow `W`");
    }

    #[test]
    fn missing_return() {
        let (r, e) = run(quote!(workflow W() -> T { a = f(); }));
        assert!(r.output.is_none());
        assert!(e[0].starts_with("workflow `W` has no `return`"));
    }
}
