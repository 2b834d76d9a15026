//! Two workflows of one crate with the same input and step names, a step named like its
//! node, and a type named like a step: a mismatch still names the step and the input alone.
use onex::prelude::*;

#[allow(non_camel_case_types)]
pub struct parsed;

#[node(compute)]
fn parse(raw: &String) -> u64 {
    raw.len() as u64
}

#[node(compute)]
fn total(n: &u64) -> u64 {
    *n
}

#[node(compute)]
fn shout(text: &str, times: &u64) -> String {
    text.repeat(*times as usize)
}

workflow! {
    workflow First(raw: String) -> u64 {
        parsed = parse(raw);
        total = total(parsed);
        return total;
    }
}

workflow! {
    workflow Second(raw: u64) -> String {
        parsed = parse(raw);
        total = total(parsed);
        loud = shout(parsed, total);
        return loud;
    }
}

fn main() {}
