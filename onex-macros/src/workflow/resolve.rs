//! Name resolution, after the whole block is read: arguments, `when` parameters and the
//! `return` to step or input indexes. Forward references need nothing special; a cycle is
//! just a graph that `check` rejects.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

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
    let names = Names::new(wf, cx);
    let mut out = Resolved::default();
    for step in &wf.steps {
        let mut deps: Vec<usize> = Vec::new();
        let mut reads: Vec<usize> = Vec::new();
        let args: Vec<Option<Source>> = step
            .args
            .iter()
            .map(|arg| names.argument(arg, cx))
            .collect();
        for source in &args {
            match *source {
                Some(Source::Step(s)) if !deps.contains(&s) => deps.push(s),
                Some(Source::Input(i)) if !reads.contains(&i) => reads.push(i),
                _ => {}
            }
        }
        let when = step
            .options
            .when
            .as_ref()
            .map(|w| names.when_params(&w.value, cx))
            .unwrap_or_default();
        for (_, s) in &when {
            if !deps.contains(s) {
                deps.push(*s);
            }
        }
        out.args.push(args);
        out.when.push(when);
        out.deps.push(deps);
        out.reads_inputs.push(reads);
    }
    out.output = names.output(cx);
    out
}

/// The block's names: steps and inputs by index, each defined once.
struct Names<'w> {
    wf: &'w Workflow,
    steps: HashMap<String, usize>,
    inputs: HashMap<String, usize>,
}

impl<'w> Names<'w> {
    /// The tables, reporting a duplicate input, a duplicate step and a step named like an
    /// input.
    fn new(wf: &'w Workflow, cx: &Ctxt) -> Self {
        let wname = &wf.name;
        let mut inputs: HashMap<String, usize> = HashMap::new();
        for (i, input) in wf.inputs.iter().enumerate() {
            if inputs.insert(input.name.to_string(), i).is_some() {
                cx.error_spanned_by(
                    &input.name,
                    format!("duplicate input `{}` in workflow `{wname}`", input.name),
                );
            }
        }
        let mut steps: HashMap<String, usize> = HashMap::new();
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
                Entry::Occupied(e) => cx.error_spanned_by(
                    &step.name,
                    format!(
                        "duplicate step `{}` in workflow `{wname}`: a step name is defined once",
                        e.key()
                    ),
                ),
                Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        Names { wf, steps, inputs }
    }

    /// What a step argument names.
    fn argument(&self, arg: &Ident, cx: &Ctxt) -> Option<Source> {
        let a = arg.to_string();
        if let Some(&s) = self.steps.get(&a) {
            return Some(Source::Step(s));
        }
        if let Some(&i) = self.inputs.get(&a) {
            return Some(Source::Input(i));
        }
        let candidates = self
            .step_names()
            .chain(self.wf.inputs.iter().map(|i| i.name.to_string()));
        let candidates: Vec<String> = candidates.collect();
        cx.error_spanned_by(
            arg,
            format!(
                "unknown step or input `{a}` in workflow `{}`{}",
                self.wf.name,
                did_you_mean(&a, candidates.iter().map(String::as_str))
            ),
        );
        None
    }

    /// The steps a `when` condition's parameters name, with their binding idents.
    fn when_params(&self, when: &syn::ExprClosure, cx: &Ctxt) -> Vec<(Ident, usize)> {
        let mut params = Vec::new();
        for p in &when.inputs {
            let Some(ident) = pat_ident(p) else {
                cx.error_spanned_by(p, "a `when` parameter is the name of a step");
                continue;
            };
            let n = ident.to_string();
            if let Some(&s) = self.steps.get(&n) {
                params.push((ident.clone(), s));
            } else if self.inputs.contains_key(&n) {
                cx.error_spanned_by(
                    ident,
                    format!("`when` parameter `{n}` is a workflow input, not a step; a condition reads step outputs"),
                );
            } else {
                let steps: Vec<String> = self.step_names().collect();
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`when` parameter `{n}` is not a step of workflow `{}`{}",
                        self.wf.name,
                        did_you_mean(&n, steps.iter().map(String::as_str))
                    ),
                );
            }
        }
        params
    }

    /// The step the block returns: exactly one `return`, naming a step.
    fn output(&self, cx: &Ctxt) -> Option<usize> {
        let wname = &self.wf.name;
        let [first, rest @ ..] = self.wf.returns.as_slice() else {
            cx.error_at(
                self.wf.close,
                format!("workflow `{wname}` has no `return`: end it with `return <step>;` naming its output step"),
            );
            return None;
        };
        for r in rest {
            cx.error_spanned_by(r, format!("workflow `{wname}` has more than one `return`"));
        }
        let n = first.to_string();
        if let Some(&s) = self.steps.get(&n) {
            return Some(s);
        }
        if self.inputs.contains_key(&n) {
            cx.error_spanned_by(
                first,
                format!("`return` names the input `{n}`; a workflow returns one of its steps"),
            );
        } else {
            let steps: Vec<String> = self.step_names().collect();
            cx.error_spanned_by(
                first,
                format!(
                    "`return` names unknown step `{n}` in workflow `{wname}`{}",
                    did_you_mean(&n, steps.iter().map(String::as_str))
                ),
            );
        }
        None
    }

    fn step_names(&self) -> impl Iterator<Item = String> + '_ {
        self.wf.steps.iter().map(|s| s.name.to_string())
    }
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
