//! The options of `#[node(...)]` and `#[step(...)]`: `retries`, `backoff`, `timeout`,
//! `priority`, and the node- or step-only ones.
//!
//! Both attributes share this parser so an option means the same thing in both places.
//! A bad or duplicate option is recorded in the [`Ctxt`] and parsing goes on with the next
//! one, so every mistake of an attribute is reported in one compile.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::duration::DurationLit;
use onex_graph::suggest::did_you_mean;

/// Where options are written: the allowed keys differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// `#[node(kind, ...)]`.
    Node,
    /// `#[step(...)]` in a `workflow!` block.
    Step,
}

impl Site {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Site::Node => &[
                "name",
                "retries",
                "backoff",
                "timeout",
                "priority",
                "compensate",
                "cache",
                "merge",
                "crate",
                "idempotent",
                "at_most_once",
            ],
            Site::Step => &["retries", "backoff", "timeout", "priority", "when"],
        }
    }
}

/// A backoff option: `fixed(d)`, `exponential(d)` or `exponential(d, max = d)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackoffOpt {
    /// Exponential (`true`) or fixed.
    pub exponential: bool,
    /// The first delay.
    pub base: DurationLit,
    /// The cap of an exponential backoff.
    pub max: Option<DurationLit>,
}

impl BackoffOpt {
    /// The `Backoff` constructor, usable in `const` context.
    pub fn to_tokens(&self, rt: &TokenStream) -> TokenStream {
        let base = self.base.to_tokens();
        let mut out = if self.exponential {
            quote!(#rt::Backoff::exponential(#base))
        } else {
            quote!(#rt::Backoff::fixed(#base))
        };
        if let Some(max) = self.max {
            let max = max.to_tokens();
            out = quote!(#out.max(#max));
        }
        out
    }
}

/// One option with the key's span, for errors about where it was written.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The key token, for diagnostics.
    pub key: Ident,
    /// The value.
    pub value: T,
}

/// Every option an attribute may set; each is `None` when not written.
#[derive(Default, Clone)]
pub struct Options {
    /// `name = "NodeDataFetcherEffect"`.
    pub name: Option<Spanned<LitStr>>,
    /// `retries = 3`.
    pub retries: Option<Spanned<u32>>,
    /// `backoff = exponential(100ms)`.
    pub backoff: Option<Spanned<BackoffOpt>>,
    /// `timeout = 10s`.
    pub timeout: Option<Spanned<DurationLit>>,
    /// `priority = 1`.
    pub priority: Option<Spanned<i32>>,
    /// `compensate = undo`.
    pub compensate: Option<Spanned<Path>>,
    /// `cache`.
    pub cache: Option<Spanned<()>>,
    /// `merge = g`.
    pub merge: Option<Spanned<Path>>,
    /// `crate = path`.
    pub krate: Option<Spanned<Path>>,
    /// `idempotent` (effect only): a second call with the same idempotency key is harmless.
    pub idempotent: Option<Spanned<()>>,
    /// `at_most_once` (effect only): never call it twice, even when it is in doubt.
    pub at_most_once: Option<Spanned<()>>,
    /// `when = |a, b| expr`.
    pub when: Option<Spanned<syn::ExprClosure>>,
}

impl Options {
    /// The `.retries(..).backoff(..)...` chain that applies these options to a policy.
    pub fn policy_chain(&self, rt: &TokenStream) -> TokenStream {
        let mut out = TokenStream::new();
        if let Some(r) = &self.retries {
            let v = r.value;
            out.extend(quote!(.retries(#v)));
        }
        if let Some(b) = &self.backoff {
            let b = b.value.to_tokens(rt);
            out.extend(quote!(.backoff(#b)));
        }
        if let Some(t) = &self.timeout {
            let t = t.value.to_tokens();
            out.extend(quote!(.timeout(#t)));
        }
        if let Some(p) = &self.priority {
            let p = p.value;
            out.extend(quote!(.priority(#p)));
        }
        if self.cache.is_some() {
            out.extend(quote!(.cache(true)));
        }
        out
    }

    /// Parses comma-separated options until the end of `input`, recording errors in `cx`.
    pub fn parse_into(&mut self, input: ParseStream, site: Site, cx: &Ctxt) {
        while !input.is_empty() {
            if let Err(e) = self.parse_one(input, site, cx) {
                cx.push(e);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            if let Err(e) = input.parse::<Token![,]>() {
                cx.push(e);
                skip_to_comma(input);
                let _ = input.parse::<Token![,]>();
            }
        }
    }

    fn parse_one(&mut self, input: ParseStream, site: Site, cx: &Ctxt) -> syn::Result<()> {
        let key = Ident::parse_any(input)?;
        let k = key.to_string();
        let what = match site {
            Site::Node => "`#[node]`",
            Site::Step => "`#[step]`",
        };
        if !site.keys().contains(&k.as_str()) {
            let hint = match (site, k.as_str()) {
                (Site::Step, "cache") => {
                    "; caching is a node option: `#[node(compute, cache)]` (its inputs must be `Hash + Eq + Clone`)"
                        .to_string()
                }
                (Site::Step, "name" | "compensate" | "merge" | "idempotent" | "at_most_once") => {
                    format!("; `{k}` is set on the node: `#[node(.., {k} = ..)]`")
                }
                _ => {
                    let mut hint = did_you_mean(&k, site.keys().iter().copied());
                    if hint.is_empty() {
                        hint = format!("; expected one of: {}", site.keys().join(", "));
                    }
                    hint
                }
            };
            return Err(syn::Error::new(
                key.span(),
                format!("unknown {what} option `{k}`{hint}"),
            ));
        }
        // `cache`, `idempotent` and `at_most_once` are flags; every other option takes a value.
        let flag = match k.as_str() {
            "cache" => Some(&mut self.cache),
            "idempotent" => Some(&mut self.idempotent),
            "at_most_once" => Some(&mut self.at_most_once),
            _ => None,
        };
        if let Some(flag) = flag {
            set(cx, flag, key, ());
            return Ok(());
        }
        input.parse::<Token![=]>()?;
        match k.as_str() {
            "name" => {
                let v: LitStr = input.parse()?;
                if v.value().is_empty() {
                    return Err(syn::Error::new_spanned(v, "a node name cannot be empty"));
                }
                set(cx, &mut self.name, key, v);
            }
            "retries" => {
                let v: LitInt = input.parse()?;
                let n = v.base10_parse::<u32>()?;
                set(cx, &mut self.retries, key, n);
            }
            "priority" => {
                let neg = input.parse::<Option<Token![-]>>()?.is_some();
                let v: LitInt = input.parse()?;
                let n = v.base10_parse::<i32>()?;
                set(cx, &mut self.priority, key, if neg { -n } else { n });
            }
            "timeout" => {
                let d = DurationLit::parse(input)?;
                set(cx, &mut self.timeout, key, d);
            }
            "backoff" => {
                let b = parse_backoff(input)?;
                set(cx, &mut self.backoff, key, b);
            }
            "compensate" => {
                let p: Path = input.parse()?;
                set(cx, &mut self.compensate, key, p);
            }
            "merge" => {
                let p: Path = input.parse()?;
                set(cx, &mut self.merge, key, p);
            }
            "crate" => {
                let p = Path::parse_mod_style(input)?;
                set(cx, &mut self.krate, key, p);
            }
            "when" => {
                let c: syn::ExprClosure = input.parse()?;
                set(cx, &mut self.when, key, c);
            }
            _ => unreachable!("keys are checked above"),
        }
        Ok(())
    }
}

/// Stores an option, or reports it as a duplicate (keeping the first value).
fn set<T>(cx: &Ctxt, slot: &mut Option<Spanned<T>>, key: Ident, value: T) {
    if slot.is_some() {
        cx.error_at(key.span(), format!("duplicate option `{key}`"));
    } else {
        *slot = Some(Spanned { key, value });
    }
}

fn parse_backoff(input: ParseStream) -> syn::Result<BackoffOpt> {
    let kind: Ident = input.parse()?;
    let exponential = match kind.to_string().as_str() {
        "exponential" => true,
        "fixed" => false,
        other => {
            return Err(syn::Error::new(
                kind.span(),
                format!(
                    "unknown backoff `{other}`; expected `fixed(250ms)`, `exponential(100ms)` or `exponential(100ms, max = 5s)`"
                ),
            ));
        }
    };
    let content;
    syn::parenthesized!(content in input);
    parse_backoff_args(&content, exponential)
        .inspect_err(|_| crate::workflow::parse::drain(&content))
}

fn parse_backoff_args(content: ParseStream, exponential: bool) -> syn::Result<BackoffOpt> {
    let base = DurationLit::parse(content)?;
    let mut max = None;
    if content.parse::<Option<Token![,]>>()?.is_some() && !content.is_empty() {
        let key: Ident = content.parse()?;
        if key != "max" || !exponential {
            return Err(syn::Error::new(
                key.span(),
                if exponential {
                    format!("unknown backoff option `{key}`; expected `max = <duration>`")
                } else {
                    "a fixed backoff takes one duration: `fixed(250ms)`".to_string()
                },
            ));
        }
        content.parse::<Token![=]>()?;
        max = Some(DurationLit::parse(content)?);
        let _ = content.parse::<Option<Token![,]>>()?;
    }
    if !content.is_empty() {
        return Err(content.error("unexpected tokens after the backoff's durations"));
    }
    Ok(BackoffOpt {
        exponential,
        base,
        max,
    })
}

/// Skips tokens up to (not including) the next top-level comma: error recovery.
pub fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        let _ = input.parse::<proc_macro2::TokenTree>();
    }
}

impl<T> ToTokens for Spanned<T> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.key.to_tokens(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn parse(site: Site, tokens: TokenStream) -> (Options, Option<String>) {
        let cx = Ctxt::new();
        let mut o = Options::default();
        (|input: ParseStream| {
            o.parse_into(input, site, &cx);
            Ok(())
        })
        .parse2(tokens)
        .unwrap();
        let err = cx.check().err().map(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        });
        (o, err)
    }

    #[test]
    fn node_options() {
        let (o, err) = parse(
            Site::Node,
            quote!(
                name = "NodeFetch",
                retries = 3,
                backoff = exponential(100ms, max = 5s),
                timeout = 10s,
                priority = -1,
                cache
            ),
        );
        assert!(err.is_none(), "{err:?}");
        assert_eq!(o.name.unwrap().value.value(), "NodeFetch");
        assert_eq!(o.retries.unwrap().value, 3);
        let b = o.backoff.unwrap().value;
        assert!(b.exponential);
        assert_eq!(b.max, Some(DurationLit(5_000_000_000)));
        assert_eq!(o.priority.unwrap().value, -1);
        assert!(o.cache.is_some());
    }

    #[test]
    fn delivery_flags() {
        let (o, err) = parse(Site::Node, quote!(idempotent, retries = 1));
        assert!(err.is_none(), "{err:?}");
        assert!(o.idempotent.is_some() && o.at_most_once.is_none());
        let (_, err) = parse(Site::Node, quote!(at_most_once, at_most_once));
        assert_eq!(err.as_deref(), Some("duplicate option `at_most_once`"));
        let (_, err) = parse(Site::Step, quote!(idempotent));
        assert!(err.unwrap().contains("`idempotent` is set on the node"));
    }

    #[test]
    fn every_bad_option_is_reported() {
        let (o, err) = parse(
            Site::Step,
            quote!(retires = 2, timeout = 10x, retries = 1, retries = 2, cache),
        );
        let err = err.unwrap();
        assert!(
            err.contains("unknown `#[step]` option `retires`; did you mean `retries`?"),
            "{err}"
        );
        assert!(err.contains("bad duration `10x`"), "{err}");
        assert!(err.contains("duplicate option `retries`"), "{err}");
        assert!(err.contains("caching is a node option"), "{err}");
        assert_eq!(o.retries.unwrap().value, 1);
    }

    #[test]
    fn when_closure() {
        let (o, err) = parse(Site::Step, quote!(when = |quality| quality.score >= 0.9));
        assert!(err.is_none());
        assert_eq!(o.when.unwrap().value.inputs.len(), 1);
    }

    #[test]
    fn policy_chain_in_order() {
        let (o, _) = parse(Site::Step, quote!(timeout = 2m, retries = 2));
        let rt = quote!(rt);
        assert_eq!(
            o.policy_chain(&rt).to_string(),
            quote!(.retries(2u32).timeout(::core::time::Duration::from_millis(120000u64)))
                .to_string()
        );
    }
}
