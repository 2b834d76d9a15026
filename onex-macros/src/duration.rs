//! Duration literals in macro options: `250ms`, `10s`, `2m`, `1h`, `1.5s`, `100us`.
//!
//! Rust lexes `250ms` as an integer literal with the suffix `ms`, so a duration is one
//! literal token; a bad unit is reported on that token.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Lit;
use syn::parse::ParseStream;

/// A parsed duration, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationLit(pub u64);

const UNITS: &str = "`us`, `ms`, `s`, `m` or `h`";

impl DurationLit {
    /// Parses a duration literal from the input stream.
    pub fn parse(input: ParseStream) -> syn::Result<Self> {
        let lit: Lit = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a duration literal such as `250ms`, `10s` or `2m`",
            )
        })?;
        Self::from_lit(&lit)
    }

    /// Converts one literal token.
    pub fn from_lit(lit: &Lit) -> syn::Result<Self> {
        let (digits, suffix, text) = match lit {
            Lit::Int(i) => (
                i.base10_digits().to_string(),
                i.suffix().to_string(),
                i.to_string(),
            ),
            Lit::Float(f) => (
                f.base10_digits().to_string(),
                f.suffix().to_string(),
                f.to_string(),
            ),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a duration literal such as `250ms`, `10s` or `2m`",
                ));
            }
        };
        let nanos_per_unit: u128 = match suffix.as_str() {
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            "" => {
                return Err(syn::Error::new_spanned(
                    lit,
                    format!(
                        "duration `{text}` has no unit: write it with {UNITS}, e.g. `{text}ms`"
                    ),
                ));
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    lit,
                    format!("bad duration `{text}`: unknown unit `{suffix}`, expected {UNITS}"),
                ));
            }
        };
        let nanos = scale(&digits, nanos_per_unit).ok_or_else(|| {
            syn::Error::new_spanned(
                lit,
                format!("bad duration `{text}`: too large or too precise"),
            )
        })?;
        Ok(DurationLit(nanos))
    }

    /// The `core::time::Duration` expression, usable in `const` context.
    pub fn to_tokens(self) -> TokenStream {
        let n = self.0;
        if n.is_multiple_of(1_000_000) {
            let ms = n / 1_000_000;
            quote!(::core::time::Duration::from_millis(#ms))
        } else {
            quote!(::core::time::Duration::from_nanos(#n))
        }
    }
}

/// `digits` (decimal, maybe with a fraction) times `unit`, exactly, in whole nanoseconds.
fn scale(digits: &str, unit: u128) -> Option<u64> {
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole.checked_mul(unit)?;
    let mut place = unit;
    for c in frac.chars() {
        let d = u128::from(c.to_digit(10)?);
        if !place.is_multiple_of(10) {
            return None;
        }
        place /= 10;
        total = total.checked_add(d * place)?;
    }
    u64::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<u64> {
        let lit: Lit = syn::parse_str(s)?;
        DurationLit::from_lit(&lit).map(|d| d.0)
    }

    #[test]
    fn units() {
        assert_eq!(parse("250ms").unwrap(), 250_000_000);
        assert_eq!(parse("10s").unwrap(), 10_000_000_000);
        assert_eq!(parse("2m").unwrap(), 120_000_000_000);
        assert_eq!(parse("1h").unwrap(), 3_600_000_000_000);
        assert_eq!(parse("100us").unwrap(), 100_000);
        assert_eq!(parse("1.5s").unwrap(), 1_500_000_000);
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse("10").unwrap_err().to_string().contains("has no unit"));
        assert!(
            parse("10x")
                .unwrap_err()
                .to_string()
                .contains("unknown unit `x`")
        );
        assert!(
            parse("\"10s\"")
                .unwrap_err()
                .to_string()
                .contains("expected a duration")
        );
        assert!(parse("0.0000000001s").is_err());
    }

    #[test]
    fn tokens_are_const_constructors() {
        assert_eq!(
            DurationLit(250_000_000).to_tokens().to_string(),
            quote!(::core::time::Duration::from_millis(250u64)).to_string()
        );
    }
}
