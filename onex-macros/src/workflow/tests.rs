//! The passes end to end: the graph `workflow!` builds from a block, and what it emits
//! when the block has errors.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::model::Model;
use super::{expand, parse, resolve};
use crate::ctxt::Ctxt;

/// Runs the passes on a block that must be free of errors and gives its model to `f`.
fn with_model<R>(tokens: TokenStream, f: impl FnOnce(&Model) -> R) -> R {
    let cx = Ctxt::new();
    let wf = parse::parse(tokens, &cx).expect("a readable header");
    let r = resolve::resolve(&wf, &cx);
    super::check::check(&wf, &r, &cx);
    if let Err(e) = cx.check() {
        panic!("unexpected errors: {e}");
    }
    f(&Model::new(&wf, &r))
}

#[test]
fn order_and_waves_follow_the_data_not_the_statements() {
    with_model(
        quote! {
            workflow Diamond(x: u64) -> u64 {
                d = add(b, c);
                c = double(a);
                b = double(a);
                a = double(x);
                return d;
            }
        },
        |m| {
            // Steps by index: d = 0, c = 1, b = 2, a = 3.
            assert_eq!(m.levels.order(), [3, 1, 2, 0]);
            assert_eq!(
                m.levels.waves().collect::<Vec<_>>(),
                [&[3][..], &[1, 2], &[0]]
            );
            assert_eq!(m.output, 0);
            assert_eq!(m.steps[0].deps, [2, 1]);
            assert_eq!(m.steps[3].reads, [0]);
            assert!(m.unused.is_empty());
        },
    );
}

#[test]
fn steps_calling_the_same_node_share_its_aliases() {
    with_model(
        quote! {
            workflow Chain(x: u64) -> u64 {
                a = step(x);
                b = step(a);
                c = add(a, b);
                d = step(c);
                return d;
            }
        },
        |m| {
            // One `NodeInfo` per node, one `Takes` alias per node and argument count.
            assert_eq!(m.nodes, [0, 2]);
            assert_eq!(m.node_of, [0, 0, 1, 0]);
            let takes: Vec<String> = m.steps.iter().map(|s| s.takes.to_string()).collect();
            assert_eq!(takes, ["__Takes_a", "__Takes_a", "__Takes_c", "__Takes_a"]);
            assert_eq!(m.takes.len(), 2);
            assert!(m.is_straight());
        },
    );
}

#[test]
fn generated_names_follow_the_users_names() {
    with_model(
        quote! {
            workflow W(raw: R, r#type: T) -> u64 {
                parse = p(raw, r#type);
                r#match = q(parse);
                return r#match;
            }
        },
        |m| {
            let inputs: Vec<String> = m.inputs.iter().map(|i| i.slot.to_string()).collect();
            assert_eq!(inputs, ["__input_raw", "__input_type"]);
            let slots: Vec<String> = m.steps.iter().map(|s| s.slot.to_string()).collect();
            assert_eq!(slots, ["__step_parse", "__step_match"]);
            assert_eq!(m.steps[1].node.to_string(), "__Node_match");
        },
    );
}

#[test]
fn conditions_and_maps_leave_the_straight_line() {
    let straight = |tokens| with_model(tokens, |m| m.is_straight());
    assert!(!straight(quote! {
        workflow W(x: u64) -> u64 {
            #[step(when = |a| *a > 0)]
            b = f(a);
            a = f(x);
            return b;
        }
    }));
    assert!(!straight(quote! {
        workflow W(xs: Vec<u64>) -> Vec<u64> {
            each = map f(xs);
            return each;
        }
    }));
}

/// The items of an expansion, and the messages of its `compile_error!`s.
fn expanded(tokens: TokenStream) -> (syn::File, Vec<String>) {
    let file: syn::File = syn::parse2(expand(tokens)).expect("the expansion parses");
    let errors = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.segments.last()?.ident == "compile_error" => {
                let lit: syn::LitStr = m.mac.parse_body().ok()?;
                Some(lit.value())
            }
            _ => None,
        })
        .collect();
    (file, errors)
}

#[test]
fn errors_come_with_a_stub_of_the_type() {
    let (file, errors) = expanded(quote! {
        pub workflow Broken(x: u64) -> u64 {
            a = f(a);
            b = g(y);
            return a;
        }
    });
    assert_eq!(
        errors,
        [
            "unknown step or input `y` in workflow `Broken`",
            "cycle in workflow `Broken`: a -> a"
        ]
    );
    // The type and its methods, so that code using it adds no errors of its own.
    let methods: Vec<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(i) if i.self_ty.to_token_stream().to_string() == "Broken" => {
                Some(i.items.iter().filter_map(|item| match item {
                    syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                    _ => None,
                }))
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        methods,
        [
            "run",
            "run_batch",
            "run_batch_lean",
            "resume",
            "serve",
            "plan",
            "graph"
        ]
    );
    assert!(
        file.items
            .iter()
            .any(|item| matches!(item, syn::Item::Struct(s) if s.ident == "Broken"))
    );
}

#[test]
fn an_unreadable_header_gives_only_the_error() {
    let (file, errors) = expanded(quote!(
        pub struct NotAWorkflow;
    ));
    assert_eq!(file.items.len(), 1);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("expected `workflow Name("),
        "{errors:?}"
    );
}
