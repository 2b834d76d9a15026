//! The model of one node: its kind, options and signature, classified parameter by
//! parameter.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned as _;
use syn::{FnArg, GenericArgument, Ident, ItemFn, PathArguments, ReturnType, Type};

use crate::ctxt::Ctxt;
use crate::options::{Options, Site};

/// The ONEX kind written in `#[node(..)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `compute`.
    Compute,
    /// `effect`.
    Effect,
    /// `reducer`.
    Reducer,
}

impl Kind {
    /// The `NodeKind` variant name.
    pub fn variant(self) -> &'static str {
        match self {
            Kind::Compute => "Compute",
            Kind::Effect => "Effect",
            Kind::Reducer => "Reducer",
        }
    }
}

/// How a parameter takes its value.
#[derive(Debug, Clone)]
pub enum ParamShape {
    /// `ctx: &Context`, supplied by the runtime.
    Context,
    /// `a: &A`.
    Ref(Type),
    /// `a: Option<&A>`: still called when the input step was skipped.
    OptionRef(Type),
    /// `acc: &mut A` (a reducer's accumulator).
    RefMut(Type),
    /// Anything else (an error, reported by `check`).
    Other,
}

/// One parameter of the node fn.
#[derive(Debug, Clone)]
pub struct Param {
    /// The parameter as written: pattern and type.
    pub arg: FnArg,
    /// The parameter's type as written (for spans).
    pub ty: Type,
    /// Its classification.
    pub shape: ParamShape,
}

/// A parsed `#[node]`.
pub struct Node {
    /// The kind, `None` when missing or unknown (already reported).
    pub kind: Option<(Kind, Span)>,
    /// The options after the kind.
    pub options: Options,
    /// The user's function, re-emitted untouched.
    pub func: ItemFn,
    /// The parameters, classified.
    pub params: Vec<Param>,
    /// The return type: `None` for `()`; `Some((T, true))` for `Result<T, _>`.
    pub ret: Option<(Type, bool)>,
    /// `remote`: registered for workers, which run it by name (see [`take_remote`]).
    pub remote: bool,
}

impl Node {
    /// Parses the attribute arguments and classifies the signature.
    pub fn from_parts(args: TokenStream, func: ItemFn, cx: &Ctxt) -> Node {
        let (args, remote) = take_remote(args);
        let mut kind = None;
        let mut options = Options::default();
        let parser = |input: ParseStream| {
            kind = parse_kind(input, cx);
            options.parse_into(input, Site::Node, cx);
            Ok(())
        };
        if let Err(e) = parser.parse2(args) {
            cx.push(e);
        }
        let params = func.sig.inputs.iter().map(classify).collect();
        let ret = match &func.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(match result_ok_type(ty) {
                Some(ok) => (ok, true),
                None => ((**ty).clone(), false),
            }),
        };
        Node {
            kind,
            options,
            func,
            params,
            ret,
            remote,
        }
    }

    /// The parameters a step passes (all but `&Context`).
    pub fn inputs(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|p| !matches!(p.shape, ParamShape::Context))
    }

    /// Whether the first parameter is `&Context`.
    pub fn takes_context(&self) -> bool {
        matches!(
            self.params.first(),
            Some(Param {
                shape: ParamShape::Context,
                ..
            })
        )
    }

    /// The fn's name.
    pub fn ident(&self) -> &Ident {
        &self.func.sig.ident
    }

    /// The node's type name: recorded as `target_node_type` in thunks and `node_type` in
    /// the report, and the key of its circuit breaker. `name = ".."` when given, else the
    /// fn name in UpperCamelCase (`fetch_rows` runs as `FetchRows`), the convention ONEX
    /// node types follow.
    pub fn type_name(&self) -> String {
        match &self.options.name {
            Some(n) => n.value.value(),
            None => upper_camel_case(&self.ident().to_string()),
        }
    }
}

/// Takes the word `remote` out of the attribute's arguments, wherever it is among them:
/// a flag of the node's registration for workers, not an option of its steps (which the
/// shared option parser reads).
fn take_remote(args: TokenStream) -> (TokenStream, bool) {
    use proc_macro2::{Punct, Spacing, TokenTree};
    let mut segments: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tt in args.clone() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => segments.push(Vec::new()),
            _ => segments
                .last_mut()
                .into_iter()
                .for_each(|s| s.push(tt.clone())),
        }
    }
    let is_remote = |s: &Vec<TokenTree>| matches!(&s[..], [TokenTree::Ident(i)] if i == "remote");
    if !segments.iter().any(is_remote) {
        return (args, false);
    }
    let mut out = TokenStream::new();
    for (i, segment) in segments.into_iter().filter(|s| !is_remote(s)).enumerate() {
        if i > 0 {
            out.extend([TokenTree::Punct(Punct::new(',', Spacing::Alone))]);
        }
        out.extend(segment);
    }
    (out, true)
}

/// `fetch_rows` gives `FetchRows`; a raw identifier loses its `r#`.
fn upper_camel_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len());
    let mut upper = true;
    for c in ident.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        ident.to_string()
    } else {
        out
    }
}

fn parse_kind(input: ParseStream, cx: &Ctxt) -> Option<(Kind, Span)> {
    const EXPECTED: &str =
        "expected the node kind first: `#[node(compute)]`, `#[node(effect)]` or `#[node(reducer)]`";
    if input.is_empty() {
        cx.error_at(input.span(), EXPECTED);
        return None;
    }
    // `#[node(retries = 3)]`: the kind is missing; report it and parse the options anyway.
    if input.peek(Ident) && input.peek2(syn::Token![=]) {
        cx.error_at(input.span(), EXPECTED);
        return None;
    }
    let ident: Ident = match input.parse() {
        Ok(i) => i,
        Err(e) => {
            cx.error_at(e.span(), EXPECTED);
            crate::options::skip_to_comma(input);
            let _ = input.parse::<Option<syn::Token![,]>>();
            return None;
        }
    };
    let _ = input.parse::<Option<syn::Token![,]>>();
    let kind = match ident.to_string().as_str() {
        "compute" => Kind::Compute,
        "effect" => Kind::Effect,
        "reducer" => Kind::Reducer,
        "orchestrator" => {
            cx.error_at(
                ident.span(),
                "an orchestrator is a workflow: declare it with `workflow!`, then use it as a step",
            );
            return None;
        }
        other => {
            let hint = onex_graph::suggest::did_you_mean(other, ["compute", "effect", "reducer"]);
            cx.error_at(
                ident.span(),
                format!(
                    "unknown node kind `{other}`{hint}; expected `compute`, `effect` or `reducer`"
                ),
            );
            return None;
        }
    };
    Some((kind, ident.span()))
}

/// Classifies one parameter by its type.
pub fn classify(arg: &FnArg) -> Param {
    let ty = match arg {
        FnArg::Typed(t) => (*t.ty).clone(),
        FnArg::Receiver(r) => {
            return Param {
                arg: arg.clone(),
                ty: Type::Verbatim(quote::quote_spanned!(r.span()=> Self)),
                shape: ParamShape::Other,
            };
        }
    };
    let shape = match &ty {
        Type::Reference(r) if r.mutability.is_some() => ParamShape::RefMut((*r.elem).clone()),
        Type::Reference(r) if is_context(&r.elem) => ParamShape::Context,
        Type::Reference(r) => ParamShape::Ref((*r.elem).clone()),
        other => match option_ref(other) {
            Some(inner) => ParamShape::OptionRef(inner),
            None => ParamShape::Other,
        },
    };
    Param {
        arg: arg.clone(),
        ty,
        shape,
    }
}

/// `Context`, `onex::Context`, ... : the last path segment decides, as the fn can only name
/// the runtime's context through some path ending in `Context`.
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none()),
        _ => false,
    }
}

/// `Option<&A>` gives `A`.
fn option_ref(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(Type::Reference(r)) if r.mutability.is_none() => {
            Some((*r.elem).clone())
        }
        _ => None,
    }
}

/// `Result<T, E>` (or an alias `Result<T>`) gives `T`.
pub fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn node(args: TokenStream, f: TokenStream) -> (Node, Option<String>) {
        let cx = Ctxt::new();
        let n = Node::from_parts(args, syn::parse2(f).unwrap(), &cx);
        (n, cx.check().err().map(|e| e.to_string()))
    }

    #[test]
    fn classifies_parameters() {
        let (n, err) = node(
            quote!(effect, retries = 2),
            quote!(
                async fn f(
                    ctx: &onex::Context,
                    a: &A,
                    b: Option<&B>,
                    c: C,
                ) -> Result<T, NodeError> {
                    todo!()
                }
            ),
        );
        assert!(err.is_none());
        assert_eq!(n.kind.unwrap().0, Kind::Effect);
        assert!(n.takes_context());
        let shapes: Vec<_> = n
            .params
            .iter()
            .map(|p| format!("{:?}", std::mem::discriminant(&p.shape)))
            .collect();
        assert_eq!(shapes.len(), 4);
        assert!(matches!(n.params[2].shape, ParamShape::OptionRef(_)));
        assert!(matches!(n.params[3].shape, ParamShape::Other));
        let (t, is_result) = n.ret.unwrap();
        assert!(is_result);
        assert_eq!(quote!(#t).to_string(), "T");
    }

    #[test]
    fn type_names() {
        assert_eq!(upper_camel_case("fetch_rows"), "FetchRows");
        assert_eq!(upper_camel_case("validate"), "Validate");
        assert_eq!(upper_camel_case("_private_step"), "PrivateStep");
        assert_eq!(upper_camel_case("r#match"), "Match");
        let (n, _) = node(
            quote!(compute, name = "NodeDataValidator"),
            quote!(
                fn validate() {}
            ),
        );
        assert_eq!(n.type_name(), "NodeDataValidator");
    }

    #[test]
    fn kind_is_required_and_checked() {
        assert!(
            node(
                quote!(retries = 1),
                quote!(
                    fn f() {}
                )
            )
            .1
            .unwrap()
            .contains("expected the node kind")
        );
        assert!(
            node(
                quote!(comptue),
                quote!(
                    fn f() {}
                )
            )
            .1
            .unwrap()
            .contains("did you mean `compute`?")
        );
    }
}
