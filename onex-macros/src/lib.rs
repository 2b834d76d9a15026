//! The onex procedural macros: `#[node(...)]` and `workflow!`.
//!
//! This file only forwards: the work happens on `proc_macro2` token streams in the modules,
//! which keeps it unit-testable without a compiler. Use the macros through the `onex` crate.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod capture;
mod ctxt;
mod duration;
mod node;
mod options;
mod panic_guard;
mod param_index;
mod paths;
mod respan;
mod takes;
mod type_text;
mod workflow;

#[cfg(test)]
mod expansion;

use proc_macro::TokenStream;

/// Marks a function as an ONEX node: `#[node(compute | effect | reducer, options...)]`.
///
/// The function stays callable as written (unit-test it as a plain fn). The attribute adds
/// a hidden braced type of the same name in the type namespace that `workflow!` reads: the
/// node's output type, kind, policy and uniform call shims.
///
/// # Forms
///
/// - compute: `fn f(a: &A, b: &B) -> T` or `-> Result<T, NodeError>`; sync, no `&Context`.
/// - effect: `async fn f(ctx: &Context, a: &A) -> Result<T, NodeError>`; sync allowed,
///   `ctx` optional (first when present).
/// - reducer: `fn f(acc: &mut Acc, item: &Item)` with `Acc: Default`; a step passes it a
///   `Vec<Item>` (or anything that feeds `&[Item]`) and gets the `Acc`.
///
/// A parameter `Option<&T>` still runs when the step feeding it was skipped.
///
/// # Options
///
/// - `name = "NodeDataFetcherEffect"`: the node's type, recorded as `target_node_type` in
///   thunks and `node_type` in the report, and the key of its circuit breaker. By default,
///   the fn name in UpperCamelCase: `fn fetch_rows` runs as `FetchRows`.
/// - `retries = 3`, `backoff = fixed(250ms) | exponential(100ms) | exponential(100ms, max = 5s)`,
///   `timeout = 10s`, `priority = 1` (lower runs first within a wave). Durations take
///   `us`, `ms`, `s`, `m` or `h`.
/// - `compensate = undo` (effect only): `async fn undo(ctx: &Context, written: &T) -> Result<(), NodeError>`,
///   or the same without `async`, receiving the output of the step it undoes.
/// - `cache` (compute only): outputs are cached per runtime. A call is looked up by a hash
///   of its node and inputs, and answered from the cache only if its inputs are *equal*
///   (`==`) to those of the cached call, so a hash collision is a miss, never another
///   input's output. The inputs must be `Hash + Eq + Clone + Send + Sync + 'static` (an
///   unsized `&str` or `&[T]` input: its owned form) and the output
///   `Clone + Send + Sync + 'static`; a type without them is one error naming it. The
///   cache keeps a copy of the inputs and of the output per entry, bounded by entries and
///   by bytes (1,024 entries and 64 MiB by default, least recently used first; an output
///   type holding heap memory should implement `onex::CacheWeight` or `Serialize`, which
///   the byte estimate reads), per node with
///   `Runtime::builder().cache_policy_for("NodeName", CachePolicy { .. })`, optionally with
///   a time to live.
/// - `idempotent` (effect only): calling it again with the same
///   `ctx.idempotency_key()` is harmless (the key is stable across the attempts and
///   resumes of one step of one run: pass it to the payment API, the upsert...). A durable
///   run resumed after a crash between the call and its journaled outcome calls it again.
/// - `at_most_once` (effect only): never call it twice. A durable run resumed in that
///   situation stops in doubt instead, for an operator to resolve. Not with `idempotent`.
///   In a `#[durable]` workflow every effect must be `idempotent`, `at_most_once` or have a
///   `compensate`: anything else is a compile error on its step (see `workflow!`).
/// - `merge = g` (reducer only): `fn g(into: &mut Acc, from: Acc)`; in batch mode the items
///   are folded in parallel chunks and the partial accumulators merged.
/// - `remote`: worker processes can run the node by name. It is registered at link time,
///   and `onex::dynamic::NodeRegistry::linked()` in a worker binary holds every `remote`
///   node linked into it. Its inputs must be `DeserializeOwned` and its output
///   `Serialize`: they travel as JSON, one input as itself, several as an array.
/// - `crate = path`: where the `onex` crate is, for crates that re-export it.
///
/// # Examples
///
/// ```ignore
/// use onex::prelude::*;
///
/// #[node(effect, name = "NodeDataFetcherEffect", retries = 3, backoff = exponential(100ms), timeout = 10s)]
/// async fn fetch(ctx: &Context, ids: &Vec<u64>) -> Result<Vec<Row>, NodeError> { /* .. */ }
///
/// #[node(reducer, merge = merge_totals)]
/// fn aggregate(acc: &mut Totals, row: &Row) { acc.add(row) }
///
/// #[node(effect, idempotent, retries = 3)]
/// async fn charge(ctx: &Context, order: &Order) -> Result<Receipt, NodeError> {
///     ctx.resource::<Payments>()?.charge(order, ctx.idempotency_key()).await
/// }
///
/// #[node(effect, at_most_once)]
/// async fn notify(ctx: &Context, receipt: &Receipt) -> Result<(), NodeError> { /* .. */ }
/// ```
#[proc_macro_attribute]
pub fn node(args: TokenStream, item: TokenStream) -> TokenStream {
    panic_guard::catch(|| node::expand(args.into(), item.into())).into()
}

/// Declares a workflow: a typed DAG of `#[node]` steps, checked at compile time.
///
/// ```ignore
/// workflow! {
///     /// ETL: validate, fetch, transform, aggregate, save.
///     pub workflow Etl(raw: RawBatch) -> Totals {
///         valid   = validate(raw);              // `raw` is the workflow input
///         #[step(retries = 2, timeout = 10s)]
///         records = fetch(valid);
///         totals  = aggregate(records);          // reducer over Vec<Record>
///         #[step(when = |totals| totals.count > 0)]
///         saved   = save(totals);                // conditional effect
///         each    = map enrich(records);         // one call per element, yields a Vec
///         sub     = Inner(totals);               // a workflow as a step
///         return totals;
///     }
/// }
/// ```
///
/// Statements come in any order; `#[step(...)]` takes `retries`, `backoff`, `timeout`,
/// `priority` and `when = |step, ..| bool`. `#[durable]` before the header makes its runs
/// journaled and resumable (below). `#[onex(crate = path)]` before the header
/// points the generated code at a re-exported `onex`. The generated type `Etl` has
/// `run`, `run_batch`, `plan` and `graph`, implements `Program`, and can itself be a step.
///
/// # Durable workflows
///
/// `#[durable]` before the header makes a workflow's runs resumable from a journal: its
/// input and every step's output (each item of a `map` step) are stored as JSON as the run
/// goes, so a run interrupted by a crash continues in a new process without calling again
/// the steps that completed. Several inputs are journaled as one JSON array, in order.
///
/// ```ignore
/// workflow! {
///     #[durable]
///     pub workflow Orders(order: Order) -> Receipt {
///         priced  = price(order);
///         charged = charge(priced);       // #[node(effect, idempotent)]
///         sent    = notify(charged);      // #[node(effect, at_most_once)]
///         return charged;
///     }
/// }
/// ```
///
/// Two rules are checked at compile time, each one error on the step's name:
///
/// - every input and step output is `Serialize + DeserializeOwned` (``durable workflow
///   `Orders` journals `priced`, so its type `Quote` must be `Serialize` and
///   `DeserializeOwned` ``);
/// - every effect step says what a second call does: its node is `#[node(effect,
///   idempotent)]`, `#[node(effect, at_most_once)]` or has a `compensate` (a crash between
///   an effect's call and its journaled outcome leaves it in doubt, and the journal must
///   know whether to call it again or stop).
///
/// A nested workflow is one call of the durable run that nests it: its output is journaled
/// (and so needs serde), its own steps are not, and after a crash in its middle it runs
/// again whole. So it counts as an effect, declared by its contents: `idempotent` when
/// every effect in it is (or it has none), `at_most_once` when each is declared some other
/// way, and otherwise it is refused like an undeclared effect. Non-durable workflows need
/// none of this: no serde bound, no generated code.
///
/// Errors are reported together, each on the offending token: cycles
/// (``cycle in workflow `Etl`: a -> b -> a``), unknown or duplicate names (with "did you mean"), a missing or
/// unknown `return`, edges whose types do not fit, bad `#[step]` options. A compute or
/// reducer step whose output nothing reads gets a warning; a leading `_` silences it.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    panic_guard::catch(|| workflow::expand(input.into())).into()
}
