//! What a node's proxy provides, read from the emitted items (the code's behaviour is
//! tested by compiling it: `tests/ui`, `tests/*.rs`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::visit::Visit;

use super::*;
use crate::ctxt::Ctxt;

fn emitted(args: TokenStream, f: TokenStream) -> (syn::File, Node) {
    let cx = Ctxt::new();
    let n = Node::from_parts(args, syn::parse2(f).unwrap(), &cx);
    cx.check().expect("well-formed attribute");
    (syn::parse2(node(&n)).expect("the expansion parses"), n)
}

/// Every impl in the file, nested blocks included, with the last segment of its trait.
fn impls(file: &syn::File) -> Vec<(String, syn::ItemImpl)> {
    struct Impls(Vec<(String, syn::ItemImpl)>);
    impl Visit<'_> for Impls {
        fn visit_item_impl(&mut self, i: &syn::ItemImpl) {
            let name = i.trait_.as_ref().map_or(String::new(), |(_, path, _)| {
                path.segments.last().unwrap().ident.to_string()
            });
            self.0.push((name, i.clone()));
            syn::visit::visit_item_impl(self, i);
        }
    }
    let mut all = Impls(Vec::new());
    all.visit_file(file);
    all.0
}

fn impl_of(file: &syn::File, trait_name: &str) -> syn::ItemImpl {
    let mut found = impls(file).into_iter().filter(|(t, _)| t == trait_name);
    let (_, found) = found
        .next()
        .unwrap_or_else(|| panic!("no impl of {trait_name}"));
    found
}

fn assoc(i: &syn::ItemImpl, name: &str) -> String {
    i.items
        .iter()
        .find_map(|item| match item {
            syn::ImplItem::Const(c) if c.ident == name => Some(c.expr.to_token_stream()),
            syn::ImplItem::Type(t) if t.ident == name => Some(t.ty.to_token_stream()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no associated item {name}"))
        .to_string()
}

fn fns(i: &syn::ItemImpl) -> Vec<String> {
    i.items
        .iter()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// The functions called by path in `tokens`.
fn callees(tokens: &impl ToTokens) -> Vec<String> {
    struct Calls(Vec<String>);
    impl Visit<'_> for Calls {
        fn visit_expr_call(&mut self, c: &syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                self.0
                    .push(p.path.segments.last().unwrap().ident.to_string());
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut calls = Calls(Vec::new());
    calls.visit_item_impl(&syn::parse2(tokens.to_token_stream()).unwrap());
    calls.0
}

#[test]
fn an_effect_proxy_carries_its_name_policy_and_async_shim() {
    let (file, _) = emitted(
        quote!(
            effect,
            name = "NodeDataFetcherEffect",
            retries = 3,
            timeout = 10s
        ),
        quote!(
            async fn fetch(ctx: &Context, id: &u64) -> Result<String, NodeError> {
                todo!()
            }
        ),
    );
    let node = impl_of(&file, "Node");
    assert_eq!(assoc(&node, "NAME"), "\"NodeDataFetcherEffect\"");
    assert_eq!(assoc(&node, "IS_ASYNC"), "true");
    assert_eq!(assoc(&node, "ARITY"), "1usize");
    let policy = assoc(&node, "POLICY").replace(' ', "");
    assert!(policy.contains(".retries(3u32)"), "{policy}");
    assert!(policy.contains(".timeout("), "{policy}");
    assert_eq!(assoc(&impl_of(&file, "Param"), "Type"), "u64");
    let shim = impl_of(&file, "Invoke");
    assert_eq!(fns(&shim), ["call", "call_async", "capture", "compensate"]);
    assert!(callees(&shim).contains(&"fetch".to_string()));
}

#[test]
fn a_cached_compute_node_hashes_stores_and_loads() {
    let (file, _) = emitted(
        quote!(compute, cache),
        quote!(
            fn price(order: &Order, rates: Option<&Rates>) -> u64 {
                0
            }
        ),
    );
    let shim = impl_of(&file, "Invoke");
    assert_eq!(
        fns(&shim),
        [
            "call",
            "call_async",
            "capture",
            "hash",
            "cache_store",
            "cache_load",
            "compensate"
        ]
    );
    // Only the required input is unwrapped: `rates` is passed on as an `Option`.
    assert_eq!(
        callees(&shim)
            .iter()
            .filter(|c| *c == "missing_input")
            .count(),
        1
    );
    let params = impls(&file)
        .into_iter()
        .filter(|(t, _)| t == "Param")
        .map(|(_, i)| (assoc(&i, "Type"), assoc(&i, "OPTIONAL")))
        .collect::<Vec<_>>();
    assert_eq!(
        params,
        [
            ("Order".to_string(), "false".to_string()),
            ("Rates".to_string(), "true".to_string())
        ]
    );
}

#[test]
fn a_rejected_signature_gets_a_stub_that_never_calls_the_fn() {
    let (file, _) = emitted(
        quote!(compute, cache),
        quote!(
            fn price(order: Order) -> u64 {
                order.total
            }
        ),
    );
    // The shape the user meant: one input of type `Order`, taken once.
    assert_eq!(assoc(&impl_of(&file, "Param"), "Type"), "Order");
    assert_eq!(assoc(&impl_of(&file, "Node"), "ARITY"), "1usize");
    let inputs = impl_of(&file, "Inputs");
    assert_eq!(
        inputs.trait_.unwrap().1.to_token_stream().to_string(),
        "Inputs < 1usize >"
    );
    // The stub neither calls `price` nor caches (its input is not what `cache` needs).
    let shim = impl_of(&file, "Invoke");
    assert!(!callees(&shim).contains(&"price".to_string()));
    assert_eq!(fns(&shim), ["call", "call_async", "capture", "compensate"]);
}

#[test]
fn without_a_shape_the_proxy_is_an_empty_struct() {
    let (file, _) = emitted(
        quote!(compute),
        quote!(
            fn f<T>(x: &T) -> T {
                todo!()
            }
        ),
    );
    assert!(impls(&file).is_empty());
    assert_eq!(file.items.len(), 2, "the fn and the struct");
}

#[test]
fn shim_locals_are_named_after_the_parameters() {
    let locals = |args: TokenStream, f: TokenStream| {
        let cx = Ctxt::new();
        let n = Node::from_parts(args, syn::parse2(f).unwrap(), &cx);
        cx.check().unwrap();
        let s = shape(&n).unwrap();
        arg_locals(&n, s.kind, s.inputs.len())
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        locals(
            quote!(effect),
            quote!(
                async fn f(ctx: &Context, order: &Order, r#type: Option<&T>) {}
            )
        ),
        ["__arg_order", "__arg_type"]
    );
    assert_eq!(
        locals(
            quote!(reducer),
            quote!(
                fn sum(acc: &mut u64, item: &u64) {}
            )
        ),
        ["__arg_item"]
    );
    assert_eq!(
        locals(
            quote!(compute),
            quote!(
                fn f(_: &A, (a, b): &(u8, u8)) {}
            )
        ),
        ["__arg0", "__arg1"]
    );
}
