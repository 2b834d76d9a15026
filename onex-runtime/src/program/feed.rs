//! Feeding arguments: how an argument of a step reaches its node's parameter, and the
//! error on the user's argument when it cannot.
//!
//! An argument is a step's output or a workflow input, passed by reference to a parameter
//! of the step's node. `workflow!` names one of four *feed* traits per argument ([`FromStep`], [`FromInput`], and for the list of a `map` step [`MapStep`],
//! [`MapInput`]) with the producer's type, the parameter's type, the producer's name, the
//! node and the parameter's position, and takes the conversion the trait hands out. Their
//! `on_unimplemented` messages spell those out, so a mismatch reads "output of step `valid`
//! (`ValidBatch`) cannot feed parameter 1 of `transform` (`&Records`)", on the argument.
//!
//! The producer's name is a generic parameter of the `impl` block that holds a workflow's
//! dispatch, one per input and step, named after it: rustc prints a generic parameter by its
//! name alone, where a type of that name would be printed with a path as soon as two
//! workflows of a crate share a step name. The traits are shared by every argument of every
//! workflow, so an argument costs one obligation, where a trait of its own per argument,
//! declared with its message, would cost a trait, an impl, a coherence check and a
//! constant.

/// The conversions a feed may make from a step's output `Self` to a parameter `&P`: as
/// is, `&Vec<T>` as `&[T]`, `&String` as `&str`.
///
/// [`FromStep`] and [`FromInput`] hold for exactly the pairs this trait does (a blanket impl
/// over it, which `do_not_recommend` keeps out of the error), and hand out its conversion.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::Feed;
/// let v = vec![1_u8, 2];
/// assert_eq!((<Vec<u8> as Feed<[u8]>>::FEED)(Some(&v)), Some(&[1_u8, 2][..]));
/// ```
pub trait Feed<P: ?Sized> {
    /// The conversion, a shared generic fn.
    const FEED: fn(Option<&Self>) -> Option<&P>;
}

impl<T: ?Sized> Feed<T> for T {
    const FEED: fn(Option<&T>) -> Option<&T> = feed_same::<T>;
}

impl<T> Feed<[T]> for Vec<T> {
    const FEED: fn(Option<&Self>) -> Option<&[T]> = feed_slice::<T>;
}

impl Feed<str> for String {
    const FEED: fn(Option<&Self>) -> Option<&str> = feed_str;
}

/// Passes a step's output to a parameter of the same type.
///
/// The conversions a feed may make (this one, [`feed_slice`], [`feed_str`]) are plain
/// generic fns, instantiated once per type. The feed traits hand out one of them as a
/// constant fn pointer, so the check and the conversion are one obligation (one error when
/// the types do not fit) while the code is shared by every argument of the same types. A
/// constant fn pointer is a direct call once optimized.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::feed_same;
/// assert_eq!(feed_same(Some(&3_u8)), Some(&3));
/// ```
#[inline(always)]
pub fn feed_same<T: ?Sized>(value: Option<&T>) -> Option<&T> {
    value
}

/// Passes a `Vec<T>` output to a `&[T]` parameter.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::feed_slice;
/// assert_eq!(feed_slice(Some(&vec![1, 2])), Some(&[1, 2][..]));
/// ```
#[inline(always)]
pub fn feed_slice<T>(value: Option<&Vec<T>>) -> Option<&[T]> {
    value.map(Vec::as_slice)
}

/// Passes a `String` output to a `&str` parameter.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::feed_str;
/// assert_eq!(feed_str(Some(&String::from("x"))), Some("x"));
/// ```
#[inline(always)]
pub fn feed_str(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str)
}

/// Element `item` of a `map` step's list.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::feed_item;
/// assert_eq!(feed_item(Some(&vec!["a", "b"]), 1), Some(&"b"));
/// assert_eq!(feed_item::<u8>(None, 0), None);
/// ```
#[inline(always)]
pub fn feed_item<T>(list: Option<&Vec<T>>, item: usize) -> Option<&T> {
    list.and_then(|l| l.get(item))
}

/// Declares a feed trait over a conversion: the message names the producer `{S}`, the
/// node `{N}` and the parameter `{I}`.
macro_rules! feed_trait {
    ($(#[$doc:meta])* $name:ident, $message:literal, $label:literal) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = $label,
            note = "a step passes each argument to its node by reference, in order; `&Vec<T>` also fits `&[T]`, and `&String` fits `&str`"
        )]
        pub trait $name<P: ?Sized, S, N, const I: usize> {
            /// The conversion, [`Feed::FEED`].
            const FEED: fn(Option<&Self>) -> Option<&P>;
        }

        #[diagnostic::do_not_recommend]
        impl<T: ?Sized + Feed<P>, P: ?Sized, S, N, const I: usize> $name<P, S, N, I> for T {
            const FEED: fn(Option<&T>) -> Option<&P> = <T as Feed<P>>::FEED;
        }
    };
}

feed_trait!(
    /// A feed from the output of step `S` to parameter `I` (1-based) of node `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::FromStep;
    /// let v = vec![1_u8, 2];
    /// let fed = (<Vec<u8> as FromStep<[u8], (), (), 1>>::FEED)(Some(&v));
    /// assert_eq!(fed, Some(&[1_u8, 2][..]));
    /// ```
    FromStep,
    "output of step `{S}` (`{Self}`) cannot feed parameter {I} of `{N}` (`&{P}`)",
    "this is `{Self}`; parameter {I} of `{N}` takes `&{P}`"
);

feed_trait!(
    /// A feed from workflow input `S` to parameter `I` (1-based) of node `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::FromInput;
    /// let s = String::from("x");
    /// assert_eq!((<String as FromInput<str, (), (), 2>>::FEED)(Some(&s)), Some("x"));
    /// ```
    FromInput,
    "workflow input `{S}` (`{Self}`) cannot feed parameter {I} of `{N}` (`&{P}`)",
    "this is `{Self}`; parameter {I} of `{N}` takes `&{P}`"
);

/// Declares a feed trait for the list of a `map` step: a `Vec<P>`, one element per item.
macro_rules! map_trait {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "a `map` step runs its node once per element of this list",
            note = "the first argument of a `map` step must be a `Vec<T>` whose elements fit the node's first parameter"
        )]
        pub trait $name<P: ?Sized, S, N> {
            /// Element `item` of the list, [`feed_item`].
            const FEED: fn(Option<&Self>, usize) -> Option<&P>;
            /// The length of the list: the step's width.
            const WIDTH: fn(&Self) -> usize;
        }

        #[diagnostic::do_not_recommend]
        impl<T, S, N> $name<T, S, N> for Vec<T> {
            const FEED: fn(Option<&Self>, usize) -> Option<&T> = feed_item::<T>;
            const WIDTH: fn(&Self) -> usize = Vec::len;
        }
    };
}

map_trait!(
    /// The list of a `map` step, the output of step `S`, run through node `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::MapStep;
    /// let list = vec!["a", "b"];
    /// assert_eq!((<Vec<&str> as MapStep<&str, (), ()>>::WIDTH)(&list), 2);
    /// assert_eq!((<Vec<&str> as MapStep<&str, (), ()>>::FEED)(Some(&list), 1), Some(&"b"));
    /// ```
    MapStep,
    "`map` cannot run `{N}` over step `{S}` (`{Self}`): parameter 1 takes `&{P}`"
);

map_trait!(
    /// The list of a `map` step, workflow input `S`, run through node `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::MapInput;
    /// let list = vec![7_u8];
    /// assert_eq!((<Vec<u8> as MapInput<u8, (), ()>>::FEED)(Some(&list), 0), Some(&7));
    /// ```
    MapInput,
    "`map` cannot run `{N}` over workflow input `{S}` (`{Self}`): parameter 1 takes `&{P}`"
);
