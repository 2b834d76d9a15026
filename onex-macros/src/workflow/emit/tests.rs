//! What the emitted code declares, read from its items (its behaviour is tested by
//! compiling and running it: `tests/ui`, `tests/*.rs`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::visit::Visit;

use crate::expansion::readme_workflow;

fn expanded(tokens: TokenStream) -> syn::File {
    syn::parse2(super::super::expand(tokens)).expect("the expansion parses")
}

/// Every impl of the expansion, nested ones included.
fn impls(file: &syn::File) -> Vec<syn::ItemImpl> {
    struct Impls(Vec<syn::ItemImpl>);
    impl Visit<'_> for Impls {
        fn visit_item_impl(&mut self, i: &syn::ItemImpl) {
            self.0.push(i.clone());
            syn::visit::visit_item_impl(self, i);
        }
    }
    let mut all = Impls(Vec::new());
    all.visit_file(file);
    all.0
}

fn trait_name(i: &syn::ItemImpl) -> Option<String> {
    let (_, path, _) = i.trait_.as_ref()?;
    Some(path.segments.last()?.ident.to_string())
}

/// Whether `attrs` hold `#[<meta>]`, `meta` as tokens print (`doc (hidden)`).
fn has_attr(attrs: &[syn::Attribute], meta: &str) -> bool {
    attrs
        .iter()
        .any(|a| a.meta.to_token_stream().to_string() == meta)
}

fn program_fns(file: &syn::File) -> Vec<String> {
    let program = impls(file)
        .into_iter()
        .find(|i| trait_name(i).as_deref() == Some("Program"))
        .expect("impl Program");
    program
        .items
        .iter()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn one_shape_in_every_build() {
    // Nothing is compiled in or out by configuration: debug and release builds get the
    // same code.
    struct Cfgs(usize);
    impl Visit<'_> for Cfgs {
        fn visit_attribute(&mut self, a: &syn::Attribute) {
            if a.path().is_ident("cfg") || a.path().is_ident("cfg_attr") {
                self.0 += 1;
            }
        }
    }
    let mut cfgs = Cfgs(0);
    cfgs.visit_file(&expanded(readme_workflow()));
    assert_eq!(cfgs.0, 0);
}

#[test]
fn trait_impls_are_marked_as_generated_and_private_ones_hidden() {
    let file = expanded(readme_workflow());
    for i in impls(&file) {
        let Some(name) = trait_name(&i) else { continue };
        if name.starts_with("__") {
            continue; // the block's own helper traits
        }
        assert!(has_attr(&i.attrs, "automatically_derived"), "impl {name}");
        if ["Node", "Param", "Takes", "Invoke"].contains(&name.as_str()) {
            assert!(has_attr(&i.attrs, "doc (hidden)"), "impl {name}");
        }
    }
}

#[test]
fn program_overrides_only_what_the_graph_needs() {
    let common = [
        "graph",
        "slots",
        "output",
        "call_sync",
        "call_async",
        "compensate",
        "input_hash",
        "cache_store",
        "cache_load",
        "operation_data",
    ];
    let without = |fns: Vec<String>| -> Vec<String> {
        fns.into_iter()
            .filter(|f| !common.contains(&f.as_str()))
            .collect()
    };
    // A `when`: a condition, no straight line.
    assert_eq!(
        without(program_fns(&expanded(readme_workflow()))),
        ["condition"]
    );
    // Plain steps: the straight line.
    let chain = expanded(quote! {
        workflow Chain(x: u64) -> u64 {
            a = step(x);
            b = step(a);
            return b;
        }
    });
    assert_eq!(without(program_fns(&chain)), ["run_straight", "run_lean"]);
    // A `map`: its width and its finish.
    let each = expanded(quote! {
        workflow Each(xs: Vec<u64>) -> Vec<u64> {
            each = map step(xs);
            return each;
        }
    });
    assert_eq!(without(program_fns(&each)), ["width", "finish"]);
    // `#[durable]`: the journal's four conversions; none of them without it (above).
    let durable = expanded(quote! {
        #[durable]
        workflow Chain(x: u64) -> u64 {
            a = step(x);
            return a;
        }
    });
    assert_eq!(
        without(program_fns(&durable)),
        [
            "run_straight",
            "run_lean",
            "serialize_input",
            "load_input",
            "serialize_output",
            "load_output"
        ]
    );
}

#[test]
fn the_dispatch_has_one_arm_per_step_in_written_order() {
    let file = expanded(readme_workflow());
    struct Arms(Vec<String>);
    impl Visit<'_> for Arms {
        fn visit_impl_item_fn(&mut self, f: &syn::ImplItemFn) {
            if f.sig.ident != "visit" {
                return;
            }
            for stmt in &f.block.stmts {
                if let syn::Stmt::Expr(syn::Expr::Match(m), _) = stmt {
                    for arm in &m.arms {
                        // `v.step::<Node, _>(&s.<slot>, args)`: the slot it fills.
                        let syn::Expr::MethodCall(call) = &*arm.body else {
                            continue;
                        };
                        let Some(slot) = call.args.first() else {
                            continue;
                        };
                        let slot = slot.to_token_stream().to_string();
                        self.0.push(slot.replace(' ', ""));
                    }
                }
            }
        }
    }
    let mut arms = Arms(Vec::new());
    arms.visit_file(&file);
    assert_eq!(
        arms.0,
        [
            "&s.__step_valid",
            "&s.__step_records",
            "&s.__step_processed",
            "&s.__step_quality",
            "&s.__step_totals",
            "&s.__step_saved"
        ]
    );
}
