//! A cached node's `Invoke` methods (hash the inputs, keep a copy of inputs and output,
//! answer a call whose inputs equal the kept ones) and the checks of its types' bounds.
//!
//! Every use of an input or of the output goes through autoref specialization on its
//! concrete type (the runtime's `CacheInput`, `CacheOutput` and `Weigh`), so a type without
//! the bounds still compiles there, as "not cached"; the checks, on the types as the user
//! wrote them, are then the one error per such type, naming it and the bounds.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Proxy;

/// `hash`, `cache_store` and `cache_load`.
pub fn shims(p: &Proxy) -> TokenStream {
    let (rt, private, args) = (&p.rt, &p.private, &p.args);
    let output = &p.shape.output;
    let arity = args.len();
    let args_pat = quote!((#(#args,)*));
    let keys: Vec<syn::Ident> = args
        .iter()
        .map(|arg| format_ident!("__key{}", arg.to_string().trim_start_matches("__arg")))
        .collect();
    let probes = quote! {
        #[allow(unused_imports)]
        use #private::{
            CacheInputKey as _, CacheOutputCopy as _, NotCacheInputKey as _,
            NotCacheOutputCopy as _, WeighExact as _, WeighSerialized as _, WeighShallow as _,
        };
    };
    // An entry's inputs carry the proxy type, so one node never reads another's entry.
    let kept = quote!((::core::marker::PhantomData<Self>, [#private::StoredInput; #arity]));
    quote! {
        fn hash(#args_pat: Self::Args<'_>, __hasher: &mut dyn ::core::hash::Hasher) -> bool {
            #probes
            true #(&& (&&#private::CacheInput(#args)).hash_into(__hasher))*
        }

        fn cache_store(
            #args_pat: Self::Args<'_>,
            out: &#output,
        ) -> ::core::option::Option<#rt::CacheEntry> {
            #probes
            let inputs: #kept = (
                ::core::marker::PhantomData,
                [#((&&#private::CacheInput(#args)).key()?,)*],
            );
            let weight = (&&&#private::Weigh(out)).weigh() #(+ match #args {
                ::core::option::Option::Some(v) => (&&&#private::Weigh(v)).weigh(),
                ::core::option::Option::None => 0,
            })*;
            let out = (&&#private::CacheOutput(out)).copy()?;
            ::core::option::Option::Some(#rt::CacheEntry::new(inputs, out, weight))
        }

        fn cache_load(
            #args_pat: Self::Args<'_>,
            entry: &#rt::CacheEntry,
        ) -> ::core::option::Option<#output> {
            #probes
            let (_, [#(#keys,)*]) = entry.inputs::<#kept>()?;
            if true #(&& (&&#private::CacheInput(#args)).matches(#keys))* {
                (&&#private::CacheOutput(entry.output::<#output>()?)).copy()
            } else {
                ::core::option::Option::None
            }
        }
    }
}

/// The bound checks, on the types as the user wrote them (their tokens keep the user's
/// spans): a type without the bounds is one error there.
pub fn checks(p: &Proxy) -> TokenStream {
    let (rt, private) = (&p.rt, &p.private);
    let output = &p.shape.output;
    let inputs = p.shape.inputs.iter().map(|input| {
        let ty = &input.inner;
        quote! {
            let answer = (&&#private::CacheProbe::<#ty>::new()).probe();
            <#ty as #rt::policy::CachedInput<_>>::check(answer);
        }
    });
    quote! {
        const _: fn() = || {
            #[allow(unused_imports)]
            use #private::{ProbeCacheKey as _, ProbeCacheOutput as _, ProbeNotCacheKey as _, ProbeNotCacheOutput as _};
            #(#inputs)*
            let answer = (&&#private::CacheProbe::<#output>::new()).probe_output();
            <#output as #rt::policy::CachedOutput<_>>::check(answer);
        };
    }
}
