//! The README's workflow and one of its nodes, expanded and pretty-printed with
//! prettyplease: what `cargo expand` shows of them. `EXPANSION.md` keeps the output as a
//! reviewed example, not as a snapshot tests compare against. Read it on the terminal with
//! `cargo test -p onex-macros expansion -- --nocapture`; rewrite the file with
//! `ONEX_WRITE_EXPANSION=1 cargo test -p onex-macros expansion`.

use proc_macro2::TokenStream;
use quote::quote;

/// `tokens` as rustfmt-like source; panics if they are not a Rust file (which would also
/// defeat `cargo expand` and other tools reading the expansion).
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion is a Rust file");
    prettyplease::unparse(&file)
}

/// The workflow of the README's tour.
pub fn readme_workflow() -> TokenStream {
    quote! {
        /// validate -> fetch -> process -> aggregate -> save, with a quality gate.
        pub workflow Etl(raw: RawBatch) -> Totals {
            valid     = validate(raw);
            #[step(retries = 2)]
            records   = fetch(valid);
            processed = process(records);
            quality   = assess(processed);
            totals    = aggregate(processed);
            #[step(when = |quality| quality.score >= 0.9)]
            saved     = save(totals);
            return totals;
        }
    }
}

/// A small durable workflow: what `#[durable]` adds (the journal's conversions, the
/// checks of types and effects) next to what every workflow gets.
pub fn durable_workflow() -> TokenStream {
    quote! {
        /// An order priced, then charged once.
        #[durable]
        pub workflow Checkout(order: Order) -> Receipt {
            items   = lines(order);
            prices  = map price(items);
            charged = charge(order, prices);
            return charged;
        }
    }
}

fn readme_node() -> (TokenStream, TokenStream) {
    (
        quote!(
            effect,
            retries = 3,
            backoff = exponential(100ms),
            timeout = 10s
        ),
        quote! {
            async fn fetch(ctx: &Context, valid: &ValidBatch) -> Result<Vec<Record>, NodeError> {
                let db = ctx.resource::<Db>()?;
                db.fetch(valid).await
            }
        },
    )
}

#[test]
fn readme_expansion() {
    let workflow = pretty(crate::workflow::expand(readme_workflow()));
    let (args, item) = readme_node();
    let node = pretty(crate::node::expand(args, item));
    let durable = pretty(crate::workflow::expand(durable_workflow()));
    let doc = format!(
        "# What the macros generate\n\n\
         The README's workflow and its `fetch` node, expanded and formatted with prettyplease\n\
         (what `cargo expand` shows), by `src/expansion.rs`:\n\n\
         ```sh\n\
         ONEX_WRITE_EXPANSION=1 cargo test -p onex-macros expansion\n\
         ```\n\n\
         A reviewed example, not a snapshot tests compare against. Debug and release builds\n\
         get the same code.\n\n\
         ## `workflow!`\n\n```rust\n{workflow}```\n\n\
         ## `#[node(effect, ..)]`\n\n```rust\n{node}```\n\n\
         ## A `#[durable]` workflow\n\n\
         `__Journaled` and the `const _` per step are the checks (a type without serde, an\n\
         effect that does not say whether it may run again); `save_output`, `load_output` and\n\
         the four `Program` methods are the journal's conversions.\n\n\
         ```rust\n{durable}```\n"
    );
    if std::env::var_os("ONEX_WRITE_EXPANSION").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/EXPANSION.md");
        std::fs::write(path, &doc).expect("EXPANSION.md is writable");
    } else {
        println!("{doc}");
    }
}
