//! Parsing and validating arbitrary and mutated specs never panics or hangs, and
//! validation accepts exactly the specs that are well formed.

mod common;

use common::{ETL_YAML, etl};
use onex_spec::{NodeRegistry, SpecErrorKind, WorkflowSpec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z_/0-9]{0,8}".prop_map(Value::from),
        prop_oneof![
            Just("sequential"),
            Just("parallel"),
            Just("batch"),
            Just("fail_fast"),
            Just("compensate"),
            Just("valid"),
            Just("clean"),
            Just("$input"),
            Just("NodeDataValidator"),
            Just("ge"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly the spec's own field names, so random documents get past the first checks.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "workflow_id",
            "execution_mode",
            "failure_strategy",
            "max_parallel_steps",
            "metadata",
            "steps",
            "output",
            "step_id",
            "step_name",
            "condition",
            "thunks",
            "thunk_id",
            "thunk_type",
            "target_node_type",
            "operation_data",
            "dependencies",
            "priority",
            "timeout_ms",
            "retry_count",
            "thunk",
            "pointer",
            "op",
            "value",
        ])
        .prop_map(String::from),
        "[a-z]{1,6}",
    ]
}

fn parse_and_validate(registry: &NodeRegistry, text: &str) {
    // The combined path: shape mistakes plus the registry checks on what parsed.
    for loaded in [registry.load_json(text), registry.load_yaml(text)] {
        if let Err(errors) = loaded {
            assert!(!errors.is_empty());
        }
    }
    for spec in [WorkflowSpec::from_json(text), WorkflowSpec::from_yaml(text)]
        .into_iter()
        .flatten()
    {
        check(registry, spec);
    }
}

/// Validation either loads the spec or explains itself; a loaded spec is a sound graph.
fn check(registry: &NodeRegistry, spec: WorkflowSpec) {
    match registry.load(spec.clone()) {
        Ok(wf) => {
            let g = wf.graph();
            assert_eq!(g.steps().len(), spec.thunks().count());
            assert_eq!(g.order().len(), g.steps().len());
            let _ = wf.plan();
            let _ = spec.to_json();
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let shown = errors.to_string();
            assert!(shown.lines().count() > errors.len());
        }
    }
}

/// One edit of a JSON document, at the `at`-th of its values (in a fixed walk order).
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Rename(usize, String),
    Replace(usize, Value),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), field_name()).prop_map(|(at, name)| Mutation::Rename(at, name)),
        (any::<usize>(), arb_json()).prop_map(|(at, v)| Mutation::Replace(at, v)),
    ]
}

/// JSON pointers of every value in the document, parents first.
fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(doc: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |at: usize| all[at % all.len()].clone();
    let split = |p: &str| -> Option<(String, String)> {
        let cut = p.rfind('/')?;
        Some((
            p[..cut].to_string(),
            p[cut + 1..].replace("~1", "/").replace("~0", "~"),
        ))
    };
    match mutation {
        Mutation::Replace(at, v) => {
            if let Some(slot) = doc.pointer_mut(&pick(*at)) {
                *slot = v.clone();
            }
        }
        Mutation::Delete(at) | Mutation::Duplicate(at) | Mutation::Rename(at, _) => {
            let Some((parent, key)) = split(&pick(*at)) else {
                return;
            };
            let Some(parent) = doc.pointer_mut(&parent) else {
                return;
            };
            match (parent, mutation) {
                (Value::Object(map), Mutation::Delete(_)) => {
                    map.remove(&key);
                }
                (Value::Object(map), Mutation::Rename(_, name)) => {
                    if let Some(v) = map.remove(&key) {
                        map.insert(name.clone(), v);
                    }
                }
                (Value::Array(items), Mutation::Delete(_)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        items.remove(i);
                    }
                }
                (Value::Array(items), Mutation::Duplicate(_)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        let copy = items[i].clone();
                        items.push(copy);
                    }
                }
                _ => {}
            }
        }
    }
}

fn etl_json() -> Value {
    serde_json::to_value(WorkflowSpec::from_yaml(ETL_YAML).unwrap()).unwrap()
}

fn id_registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Id", |v: &Value| v.clone())
        .compute_infallible("Count", |v: &Vec<Value>| v.len());
    registry
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in ".{0,200}") {
        parse_and_validate(&etl::registry(), &text);
    }

    #[test]
    fn random_json_documents_never_panic(doc in arb_json()) {
        let registry = etl::registry();
        parse_and_validate(&registry, &doc.to_string());
        parse_and_validate(&registry, &serde_yaml::to_string(&doc).unwrap());
    }

    #[test]
    fn mutated_etl_specs_never_panic(mutations in prop::collection::vec(arb_mutation(), 1..6)) {
        let mut doc = etl_json();
        for m in &mutations {
            apply(&mut doc, m);
        }
        let registry = etl::registry();
        parse_and_validate(&registry, &doc.to_string());
        parse_and_validate(&registry, &serde_yaml::to_string(&doc).unwrap());
    }

    /// Random dependency graphs over valid nodes: the spec loads exactly when the
    /// dependencies are acyclic, and otherwise every error is a cycle.
    #[test]
    fn specs_load_exactly_when_acyclic(
        deps in prop::collection::vec(prop::collection::vec(0usize..12, 0..4), 1..12),
        output in 0usize..12,
        split in 1usize..4,
    ) {
        let n = deps.len();
        let deps: Vec<Vec<usize>> = deps.into_iter().map(|d| d.into_iter().map(|x| x % n).collect()).collect();
        let thunks: Vec<Value> = deps.iter().enumerate().map(|(i, d)| json!({
            "thunk_id": format!("t{i}"),
            "target_node_type": if i % 2 == 0 { "Id" } else { "Count" },
            "operation_data": if d.is_empty() { json!([1, 2]) } else { Value::Null },
            "dependencies": d.iter().map(|x| format!("t{x}")).collect::<Vec<_>>(),
        })).collect();
        let steps: Vec<Value> = thunks.chunks(split).enumerate().map(|(i, c)| json!({
            "step_id": format!("s{i}"), "thunks": c,
        })).collect();
        let doc = json!({ "workflow_id": "random", "steps": steps, "output": format!("t{}", output % n) });
        let spec = WorkflowSpec::from_json(&doc.to_string()).unwrap();
        let acyclic = onex_graph::levels(&deps).is_ok();
        match id_registry().load(spec) {
            Ok(wf) => {
                prop_assert!(acyclic);
                prop_assert_eq!(wf.graph().wave_count(), onex_graph::levels(&deps).unwrap().wave_count());
            }
            Err(errors) => {
                prop_assert!(!acyclic, "{}", errors);
                prop_assert!(errors.iter().all(|e| e.kind == SpecErrorKind::Cycle), "{}", errors);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(WorkflowSpec::from_json(&deep).is_err());
    assert!(WorkflowSpec::from_yaml(&deep).is_err());
    let nested_data = format!(
        r#"{{"workflow_id": "w", "steps": [{{"step_id": "s", "thunks": [{{"thunk_id": "a", "target_node_type": "Id", "operation_data": {}{}}}]}}], "output": "a"}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    assert!(WorkflowSpec::from_json(&nested_data).is_err());
}

/// The one error a document gets, as JSON and as YAML (`None` for a format it is not).
fn only_error(text: &str) -> (Option<String>, String) {
    let one = |e: onex_spec::SpecErrors| {
        assert_eq!(e.len(), 1, "{e}");
        let error = &e.errors()[0];
        assert_eq!(error.kind, SpecErrorKind::Parse, "{error}");
        error.message.clone()
    };
    let json = WorkflowSpec::from_json(text).err().map(one);
    let yaml = one(WorkflowSpec::from_yaml(text).expect_err("rejected as YAML"));
    (json, yaml)
}

const TOO_DEEP: &str = "the document nests more than 128 levels deep at line";

/// Deep nesting in any of YAML's forms is one parse error before the parser runs, the
/// same for JSON and YAML text: flow collections (quadratic in libyaml), compact block
/// sequences (memory in libyaml), indented block mappings.
#[test]
fn deep_documents_get_one_clear_error_in_json_and_yaml_alike() {
    let mb = 1 << 20;
    for (shape, text) in [
        ("`[`", "[".repeat(mb)),
        ("`{\"a\": `", "{\"a\": ".repeat(mb / 6)),
        ("`{a: `", "{a: ".repeat(mb / 4)),
        (
            "`[` closed",
            format!("{}{}", "[".repeat(mb / 2), "]".repeat(mb / 2)),
        ),
    ] {
        let (json, yaml) = only_error(&text);
        assert!(yaml.starts_with(TOO_DEEP), "{shape}: {yaml}");
        assert_eq!(json.as_deref(), Some(yaml.as_str()), "{shape}");
    }
    let block_sequences = format!("{}x\n", "- ".repeat(mb / 2));
    let block_mappings: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    for (shape, text) in [
        ("- - -", block_sequences),
        ("indented keys", block_mappings),
    ] {
        let (_, yaml) = only_error(&text);
        assert!(yaml.starts_with(TOO_DEEP), "{shape}: {yaml}");
    }
}

#[test]
fn a_document_of_too_many_values_is_one_error() {
    let flat = format!("[{}1]", "1,".repeat(1_100_000));
    let (json, yaml) = only_error(&flat);
    assert!(
        yaml.starts_with("the document holds more than 1000000 values at line 1"),
        "{yaml}"
    );
    assert_eq!(json.as_deref(), Some(yaml.as_str()));
}

/// Aliases replay their anchor: exponentially ("billion laughs") or linearly (a big anchor
/// named many times). Either is cut off once the values built pass the limit.
#[test]
fn aliases_cannot_expand_a_document_past_the_limit() {
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (name, prev) in "bcdefghi".chars().zip("abcdefgh".chars()) {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let big_anchor = format!(
        "a: &a [{}1]\nb: [{}*a]\n",
        "1,".repeat(100_000),
        "*a, ".repeat(100)
    );
    // serde_yaml's own guard (aliases followed more than 100 times per event) stops the
    // exponential one first.
    let (_, yaml) = only_error(&laughs);
    assert!(yaml.starts_with("repetition limit exceeded"), "{yaml}");
    let (_, yaml) = only_error(&big_anchor);
    assert!(
        yaml.contains("the document holds more than 1000000 values once its aliases are expanded"),
        "{yaml}"
    );
    // A few aliases, as people use them, still load.
    let shared = "workflow_id: w\nmetadata: { owner: &who data-team }\nsteps:\n  - step_id: s\n    thunks:\n      - { thunk_id: a, target_node_type: Id, operation_data: &data [1, 2], metadata: { owner: *who } }\n      - { thunk_id: b, target_node_type: Id, operation_data: *data }\noutput: b\n";
    let spec = WorkflowSpec::from_yaml(shared).unwrap();
    assert_eq!(spec.steps[0].thunks[1].operation_data, json!([1, 2]));
}

/// Long keys and long scalars are size, not depth: rejected or loaded like any other text.
#[test]
fn long_keys_and_scalars_are_ordinary_errors_or_values() {
    let mb = 1 << 20;
    let long_key = format!("{}: 1\n", "k".repeat(mb));
    assert!(WorkflowSpec::from_yaml(&long_key).is_err());
    let long_json_key = format!("{{\"{}\": 1}}", "k".repeat(mb));
    for e in [
        WorkflowSpec::from_json(&long_json_key).unwrap_err(),
        WorkflowSpec::from_yaml(&long_json_key).unwrap_err(),
    ] {
        assert!(e.iter().all(|e| e.kind == SpecErrorKind::Parse), "{e}");
    }
    let long_id = format!("workflow_id: {}\nsteps: []\n", "w".repeat(mb));
    assert_eq!(
        WorkflowSpec::from_yaml(&long_id).unwrap().workflow_id.len(),
        mb
    );
}

#[test]
fn a_long_chain_validates_quickly() {
    let n = 5_000;
    let thunks: Vec<Value> = (0..n)
        .map(|i| {
            if i == 0 {
                json!({ "thunk_id": "t0", "target_node_type": "Id", "operation_data": 1 })
            } else {
                json!({ "thunk_id": format!("t{i}"), "target_node_type": "Id", "dependencies": [format!("t{}", i - 1)] })
            }
        })
        .collect();
    let doc = json!({ "workflow_id": "chain", "steps": [{ "step_id": "s", "thunks": thunks }], "output": format!("t{}", n - 1) });
    let started = std::time::Instant::now();
    let wf = id_registry().load_json(&doc.to_string()).unwrap();
    assert_eq!(wf.graph().wave_count(), n);
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn thousands_of_dangling_references_are_each_reported_with_a_suggestion() {
    let n = 4_000;
    let thunks: Vec<Value> = (0..n)
        .map(|i| {
            json!({ "thunk_id": format!("thunk_number_{i}"), "target_node_type": "Idd",
                    "dependencies": [format!("thunk_numbr_{i}")] })
        })
        .collect();
    let doc = json!({ "workflow_id": "dangling", "steps": [{ "step_id": "s", "thunks": thunks }], "output": "x" });
    let errors = id_registry().load_json(&doc.to_string()).unwrap_err();
    assert_eq!(errors.len(), 2 * n + 1);
    assert!(
        errors.errors()[0].message.contains("did you mean `Id`?"),
        "{}",
        errors.errors()[0]
    );
    assert!(
        errors.errors()[1]
            .message
            .ends_with("did you mean `thunk_number_0`?")
    );
}
