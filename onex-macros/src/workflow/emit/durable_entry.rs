//! For a `#[durable]` workflow: its entry in the runtime's link-time list of durable
//! workflows (`DURABLE_WORKFLOWS`), which `Runtime::recover` resumes unfinished runs with.

use proc_macro2::TokenStream;
use quote::quote;

use super::super::model::Model;
use super::private;

/// The workflow's `DurableWorkflow` entry; nothing when it is not durable.
pub fn entry(m: &Model) -> TokenStream {
    if m.wf.durable.is_none() {
        return TokenStream::new();
    }
    let g = private();
    let name = &m.wf.name;
    let journaled = name.to_string();
    quote! {
        #[#g::linkme::distributed_slice(#g::DURABLE_WORKFLOWS)]
        #[linkme(crate = #g::linkme)]
        static __DURABLE: #g::DurableWorkflow = #g::DurableWorkflow::of::<#name>(#journaled);
    }
}
