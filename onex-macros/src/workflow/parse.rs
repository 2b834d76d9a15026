//! The `workflow!` grammar:
//!
//! ```text
//! [#[onex(crate = path)]] [#[durable]] [#[doc]..] [pub] workflow Name(input: Type, ..) -> Output {
//!     [#[step(options)]] name = [map] node_path(arg, ..);
//!     return name;
//! }
//! ```
//!
//! A statement that does not parse is reported and skipped up to its `;`, so one typo does
//! not hide the mistakes after it. Names are not resolved here (see `resolve`): statements
//! may come in any order.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Path, Token, Type, Visibility};

use crate::ctxt::Ctxt;
use crate::options::{Options, Site};

/// A workflow input: `raw: RawBatch`.
pub struct Input {
    /// The input's name.
    pub name: Ident,
    /// Its type.
    pub ty: Type,
}

/// One `name = [map] node(args);` statement.
pub struct Step {
    /// The step's name.
    pub name: Ident,
    /// The node: a `#[node]` fn or a workflow type.
    pub node: Path,
    /// The `map` keyword, when the step runs once per element of its first argument.
    pub map: Option<Ident>,
    /// The arguments: step names or workflow inputs.
    pub args: Vec<Ident>,
    /// The `#[step(...)]` options.
    pub options: Options,
}

/// A parsed `workflow!` block.
pub struct Workflow {
    /// Attributes for the generated type (doc comments and the like).
    pub attrs: Vec<Attribute>,
    /// `#[onex(crate = path)]`.
    pub krate: Option<Path>,
    /// `#[durable]`: the attribute's path, where durable-only errors point back to.
    pub durable: Option<Path>,
    /// The type's visibility.
    pub vis: Visibility,
    /// The workflow's (and generated type's) name.
    pub name: Ident,
    /// The inputs, in order.
    pub inputs: Vec<Input>,
    /// The declared output type.
    pub output: Type,
    /// The steps, in the order written.
    pub steps: Vec<Step>,
    /// Every `return name;` (more than one is an error).
    pub returns: Vec<Ident>,
    /// The block's closing brace, where a missing `return` is reported.
    pub close: Span,
}

/// Parses a `workflow!` invocation; `None` when even the header is unreadable. Errors are
/// recorded in `cx`.
pub fn parse(tokens: TokenStream, cx: &Ctxt) -> Option<Workflow> {
    let parser = |input: ParseStream| parse_workflow(input, cx);
    match parser.parse2(tokens) {
        Ok(w) => Some(w),
        Err(e) => {
            cx.push(e);
            None
        }
    }
}

fn parse_workflow(input: ParseStream, cx: &Ctxt) -> syn::Result<Workflow> {
    let mut attrs = Attribute::parse_outer(input)?;
    let mut krate = None;
    let mut durable: Option<Path> = None;
    attrs.retain(|a| {
        if a.path().is_ident("durable") {
            if let Err(e) = a.meta.require_path_only() {
                cx.push(syn::Error::new(
                    e.span(),
                    "`#[durable]` takes no arguments: the journal is chosen on the runtime",
                ));
            } else if durable.is_some() {
                cx.error_spanned_by(a, "duplicate `#[durable]`");
            } else {
                durable = Some(a.path().clone());
            }
            return false;
        }
        if !a.path().is_ident("onex") {
            return true;
        }
        let r = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(meta.value()?.call(Path::parse_mod_style)?);
                Ok(())
            } else {
                Err(meta.error("unknown `#[onex]` option; expected `crate = path`"))
            }
        });
        if let Err(e) = r {
            cx.push(e);
        }
        false
    });
    let vis: Visibility = input.parse()?;
    let kw: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected `workflow Name(input: Type, ..) -> Output { .. }`",
        )
    })?;
    if kw != "workflow" {
        return Err(syn::Error::new(
            kw.span(),
            "expected `workflow Name(input: Type, ..) -> Output { .. }`",
        ));
    }
    let name: Ident = input.parse()?;
    let content;
    syn::parenthesized!(content in input);
    let inputs = Punctuated::<(Ident, Type), Token![,]>::parse_terminated_with(&content, |c| {
        let name: Ident = c.parse()?;
        c.parse::<Token![:]>()?;
        Ok((name, c.parse()?))
    })?
    .into_iter()
    .map(|(name, ty)| Input { name, ty })
    .collect();
    if !input.peek(Token![->]) {
        return Err(input.error(format!(
            "expected `-> Output` after the inputs of workflow `{name}`"
        )));
    }
    input.parse::<Token![->]>()?;
    let output: Type = input.parse()?;
    let body;
    let brace = syn::braced!(body in input);
    let mut steps = Vec::new();
    let mut returns = Vec::new();
    while !body.is_empty() {
        if let Err(e) = parse_statement(&body, cx, &mut steps, &mut returns) {
            cx.push(e);
            // Recover at the next statement.
            while !body.is_empty() && !body.peek(Token![;]) {
                let _ = body.parse::<proc_macro2::TokenTree>();
            }
            let _ = body.parse::<Option<Token![;]>>();
        }
    }
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the workflow's body"));
    }
    Ok(Workflow {
        attrs,
        krate,
        durable,
        vis,
        name,
        inputs,
        output,
        steps,
        returns,
        close: brace.span.close(),
    })
}

fn parse_statement(
    input: ParseStream,
    cx: &Ctxt,
    steps: &mut Vec<Step>,
    returns: &mut Vec<Ident>,
) -> syn::Result<()> {
    let attrs = Attribute::parse_outer(input)?;
    if input.peek(Token![return]) {
        let kw = input.parse::<Token![return]>()?;
        if let Some(a) = attrs.first() {
            cx.error_spanned_by(a, "a `return` statement takes no attributes");
        }
        let name: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected `return <step>;`"))?;
        let _ = kw;
        input.parse::<Token![;]>()?;
        returns.push(name);
        return Ok(());
    }
    let name: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a statement: `name = node(args);`, `name = map node(list);` or `return name;`",
        )
    })?;
    input.parse::<Token![=]>()?;
    let map = if input.peek(Ident)
        && !input.peek2(syn::token::Paren)
        && !input.peek2(Token![::])
        && input.fork().parse::<Ident>().is_ok_and(|i| i == "map")
    {
        Some(input.parse::<Ident>()?)
    } else {
        None
    };
    let node = input.call(Path::parse_mod_style)?;
    let content;
    syn::parenthesized!(content in input);
    let args = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, |c| {
        c.parse::<Ident>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "a step argument is the name of a step or of a workflow input",
            )
        })
    })
    .inspect_err(|_| drain(&content))?
    .into_iter()
    .collect();
    input.parse::<Token![;]>()?;
    let mut options = Options::default();
    for attr in &attrs {
        if attr.path().is_ident("step") {
            let r = attr.parse_args_with(|input: ParseStream| {
                options.parse_into(input, Site::Step, cx);
                Ok(())
            });
            if let Err(e) = r {
                cx.push(e);
            }
        } else if !attr.path().is_ident("doc") {
            cx.error_spanned_by(
                attr.path(),
                "unknown attribute on a step; steps take `#[step(...)]`",
            );
        }
    }
    steps.push(Step {
        name,
        node,
        map,
        args,
        options,
    });
    Ok(())
}

/// Consumes the rest of a delimited group after an error: syn reports leftover tokens in a
/// dropped group as an error of the whole parse, which would defeat statement recovery.
pub fn drain(input: ParseStream) {
    while !input.is_empty() {
        let _ = input.parse::<proc_macro2::TokenTree>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(tokens: TokenStream) -> Workflow {
        let cx = Ctxt::new();
        let w = parse(tokens, &cx).unwrap();
        if let Err(e) = cx.check() {
            panic!("{e}");
        }
        w
    }

    #[test]
    fn header_and_statements() {
        let w = parse_ok(quote! {
            /// Docs.
            #[onex(crate = my::onex)]
            pub workflow Etl(raw: RawBatch, limit: u32) -> Totals {
                totals = aggregate(clean);
                #[step(retries = 2, timeout = 10s)]
                records = fetch(valid, limit);
                fetched = map nodes::fetch_one(records);
                m = map(records);
                return totals;
            }
        });
        assert_eq!(w.name, "Etl");
        assert_eq!(w.attrs.len(), 1);
        assert!(w.krate.is_some());
        assert_eq!(w.inputs.len(), 2);
        assert_eq!(w.steps.len(), 4);
        assert_eq!(w.steps[1].options.retries.as_ref().unwrap().value, 2);
        assert!(w.steps[2].map.is_some());
        assert_eq!(w.steps[2].node.segments.len(), 2);
        // A node called `map` is a node, not the keyword.
        assert!(w.steps[3].map.is_none());
        assert!(w.steps[3].node.is_ident("map"));
        assert_eq!(w.returns.len(), 1);
    }

    #[test]
    fn bad_statements_are_skipped_and_all_reported() {
        let cx = Ctxt::new();
        let w = parse(
            quote! {
                workflow W(x: u32) -> u32 {
                    a = f(x + 1);
                    b = g(x);
                    c == h(b);
                    #[step(retires = 1)]
                    d = h(b);
                    return b;
                }
            },
            &cx,
        )
        .unwrap();
        let errors: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(w.steps.len(), 2);
    }

    #[test]
    fn unreadable_header() {
        let cx = Ctxt::new();
        assert!(parse(quote!(flow W() -> u32 {}), &cx).is_none());
        assert!(
            cx.check()
                .unwrap_err()
                .to_string()
                .contains("expected `workflow Name")
        );
    }
}
