//! Harmless sample values derived from OpenAPI / JSON Schema fragments.
//!
//! Everything here reads an untrusted document, so every walk is bounded: `$ref`
//! chains by hop count, recursion by depth plus cycle detection, and output size
//! by a per-sample node budget and a document-wide work budget (a few `$ref`s to
//! one huge example must not be able to amplify into gigabytes of samples).

use std::cell::Cell;

use serde_json::{Map, Number, Value};

use super::ValueSchema;

/// Longer `$ref` chains are treated as broken; a legitimate chain is a few hops.
const MAX_REF_HOPS: usize = 32;
/// Object/array levels kept in a generated body; deeper levels are left out.
const MAX_NESTING: usize = 5;
/// Bound on recursion of any kind (refs, allOf chains, properties) so hostile
/// nesting can neither overflow the stack nor take exponential time.
const MAX_RECURSION: usize = 32;
/// Schema nodes one generated sample may visit.
const SAMPLE_NODE_BUDGET: usize = 10_000;
/// Budget for a whole document, in units of roughly one byte of produced
/// output. Far above what a real API needs, but it stops a hostile document that
/// points thousands of paths at one huge path item from exhausting memory: once
/// it is spent, samples become `None` and no further endpoints are listed.
const DOCUMENT_BUDGET: usize = 64 * 1024 * 1024;
/// Charged per schema node visited while generating a sample: about the
/// footprint of one generated JSON value.
const NODE_COST: usize = 64;
/// Cap for `minLength`-driven strings: a hostile `minLength: 1e12` must not allocate.
const MAX_GENERATED_STRING: usize = 1024;
/// Examples heavier than this (nodes + string bytes) are ignored in favour of a
/// derived value: a query parameter or request body should stay small.
pub const PARAM_EXAMPLE_LIMIT: usize = 1024;
pub const BODY_EXAMPLE_LIMIT: usize = 64 * 1024;

/// Valid RFC 4122 v4 UUID; the value Swagger UI shows, so servers often accept it.
pub const SAMPLE_UUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// The parsed description as seen by sample generation: resolves local `$ref`s
/// and meters the total work spent on one document.
pub struct Document<'a> {
    root: &'a Value,
    budget: Cell<usize>,
}

impl<'a> Document<'a> {
    pub fn new(root: &'a Value) -> Self {
        Self {
            root,
            budget: Cell::new(DOCUMENT_BUDGET),
        }
    }

    /// Spends `units` of the document budget; false (and nothing spent) when
    /// that would exceed it, so callers drop the optional output instead.
    pub fn charge(&self, units: usize) -> bool {
        match self.budget.get().checked_sub(units) {
            Some(left) => {
                self.budget.set(left);
                true
            }
            None => false,
        }
    }

    /// Follows `value`'s `$ref` chain (if any) inside this document. `None` for
    /// external, dangling or cyclic references: callers then skip the item.
    pub fn deref(&self, value: &'a Value) -> Option<&'a Value> {
        let mut current = value;
        for _ in 0..MAX_REF_HOPS {
            match current.get("$ref") {
                Some(Value::String(reference)) => current = self.lookup(reference)?,
                // A non-string `$ref` can't point anywhere; treat the node as unusable.
                Some(_) => return None,
                None => return Some(current),
            }
        }
        None
    }

    /// Resolves a local reference such as `#/components/schemas/Pet`: percent-
    /// decoding first (refs are URI fragments), then JSON-pointer `~1`/`~0`
    /// unescaping. Anything that isn't a same-document fragment yields `None`.
    pub fn lookup(&self, reference: &str) -> Option<&'a Value> {
        let fragment = reference.strip_prefix('#')?;
        let pointer = percent_decode(fragment)?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        // serde_json's pointer implements RFC 6901, including `~1` and `~0`.
        self.root.pointer(&pointer)
    }
}

fn percent_decode(input: &str) -> Option<String> {
    if !input.contains('%') {
        return Some(input.to_owned());
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Sample for a schema, e.g. a request body: the schema's own example, default,
/// enum or const, else a value built from its type, properties and composition.
pub fn schema_sample<'a>(doc: &Document<'a>, schema: &'a Value) -> Option<Value> {
    Generator::new(doc, BODY_EXAMPLE_LIMIT).value(schema, 0)
}

/// Sample for an OpenAPI Media Type object: `example`, then the first of
/// `examples`, then the schema.
pub fn media_sample<'a>(doc: &Document<'a>, media: &'a Value) -> Option<Value> {
    Generator::new(doc, BODY_EXAMPLE_LIMIT).media(media)
}

/// Sample for a parameter object whose (already located) schema is `schema`:
/// parameter-level examples win over anything the schema declares.
pub fn parameter_sample<'a>(
    doc: &Document<'a>,
    param: &'a Value,
    schema: Option<&'a Value>,
) -> Option<Value> {
    let mut generator = Generator::new(doc, PARAM_EXAMPLE_LIMIT);
    if let Some(param) = param.as_object() {
        // `x-example` is the de-facto Swagger 2 spelling, which had no `example` for parameters.
        for key in ["example", "x-example"] {
            if let Some(v) = param.get(key).and_then(|v| generator.accept(v)) {
                return Some(v);
            }
        }
        if let Some(v) = param.get("examples").and_then(|v| generator.examples(v)) {
            return Some(v);
        }
        if let Some(media) = param.get("content").and_then(first_media) {
            return generator.media(media);
        }
    }
    generator.value(schema?, 0)
}

/// First media type object of a `content` map, for parameters (which have exactly one).
pub fn first_media(content: &Value) -> Option<&Value> {
    content.as_object()?.values().next()
}

/// Renders a sample as the text to put in a path, query, header or cookie:
/// strings verbatim, other scalars as JSON text, arrays comma-joined (the
/// `simple`/`form` style), objects as compact JSON. `null` means "no sample".
pub fn render(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// The type, `format`, `pattern` and `enum` of a schema.
pub fn value_schema<'a>(doc: &Document<'a>, schema: &'a Value) -> ValueSchema {
    ValueSchema {
        schema_type: schema_type(doc, schema),
        format: schema_format(doc, schema),
        pattern: schema_pattern(doc, schema),
        enum_values: schema_enum(doc, schema),
    }
}

/// The schema's JSON type: the first non-"null" entry of a 3.1 type array,
/// else the type of a composed branch, else inferred from `properties`/`items`.
pub fn schema_type<'a>(doc: &Document<'a>, schema: &'a Value) -> Option<String> {
    let mut steps = 0;
    type_of(doc, schema, &mut steps)
}

fn type_of<'a>(doc: &Document<'a>, schema: &'a Value, steps: &mut usize) -> Option<String> {
    // A handful of lookups finds the type of any sane schema; the cap keeps
    // wide-and-deep hostile compositions from turning this exponential.
    *steps += 1;
    if *steps > 64 {
        return None;
    }
    let obj = doc.deref(schema)?.as_object()?;
    if let Some(ty) = primary_type(obj) {
        return Some(ty.to_owned());
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for branch in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(ty) = type_of(doc, branch, steps) {
                return Some(ty);
            }
        }
    }
    if obj.contains_key("properties") {
        Some("object".to_owned())
    } else if obj.contains_key("items") {
        Some("array".to_owned())
    } else {
        None
    }
}

/// The schema's `format`, after following `$ref`s.
pub fn schema_format<'a>(doc: &Document<'a>, schema: &'a Value) -> Option<String> {
    doc.deref(schema)?
        .get("format")?
        .as_str()
        .map(str::to_owned)
}

/// The schema's `pattern`, after following `$ref`s.
pub fn schema_pattern<'a>(doc: &Document<'a>, schema: &'a Value) -> Option<String> {
    doc.deref(schema)?
        .get("pattern")?
        .as_str()
        .map(str::to_owned)
}

/// The schema's `enum` (at most 64 values), each rendered as parameter text.
pub fn schema_enum<'a>(doc: &Document<'a>, schema: &'a Value) -> Vec<String> {
    doc.deref(schema)
        .and_then(|s| s.get("enum"))
        .and_then(Value::as_array)
        .map(|values| values.iter().take(64).filter_map(render).collect())
        .unwrap_or_default()
}

/// `type` as a single name; for 3.1 type arrays the first one that isn't "null"
/// (a nullable string is still best exercised with a string).
fn primary_type(schema: &Map<String, Value>) -> Option<&str> {
    match schema.get("type")? {
        Value::String(ty) => Some(ty),
        Value::Array(types) => {
            let mut names = types.iter().filter_map(Value::as_str);
            let first = names.next()?;
            if first != "null" {
                return Some(first);
            }
            Some(names.find(|ty| *ty != "null").unwrap_or(first))
        }
        _ => None,
    }
}

struct Generator<'d, 'a> {
    doc: &'d Document<'a>,
    /// Schemas being expanded right now; meeting one again means a cycle.
    stack: Vec<&'a Value>,
    nodes_left: usize,
    example_limit: usize,
}

impl<'d, 'a> Generator<'d, 'a> {
    fn new(doc: &'d Document<'a>, example_limit: usize) -> Self {
        Self {
            doc,
            stack: Vec::new(),
            nodes_left: SAMPLE_NODE_BUDGET,
            example_limit,
        }
    }

    fn media(&mut self, media: &'a Value) -> Option<Value> {
        let media = media.as_object()?;
        if let Some(v) = media.get("example").and_then(|v| self.accept(v)) {
            return Some(v);
        }
        if let Some(v) = media.get("examples").and_then(|v| self.examples(v)) {
            return Some(v);
        }
        self.value(media.get("schema")?, 0)
    }

    /// First usable entry of an `examples` field: a map of Example objects
    /// (parameters, media types) or, tolerated, a plain array.
    fn examples(&mut self, examples: &'a Value) -> Option<Value> {
        match examples {
            Value::Object(map) => map.values().find_map(|example| {
                let example = self.doc.deref(example)?;
                // Example objects with only `externalValue` can't be used offline.
                self.accept(example.get("value")?)
            }),
            Value::Array(items) => items.first().and_then(|v| self.accept(v)),
            _ => None,
        }
    }

    /// Clones a document-supplied value if it is non-null and small enough.
    fn accept(&mut self, value: &Value) -> Option<Value> {
        if value.is_null() {
            return None;
        }
        let weight = weight(value, self.example_limit)?;
        self.doc.charge(weight).then(|| value.clone())
    }

    fn value(&mut self, schema: &'a Value, nesting: usize) -> Option<Value> {
        if self.stack.len() >= MAX_RECURSION || self.nodes_left == 0 || !self.doc.charge(NODE_COST)
        {
            return None;
        }
        self.nodes_left -= 1;
        let schema = self.doc.deref(schema)?;
        if self.stack.iter().any(|seen| std::ptr::eq(*seen, schema)) {
            // Recursive schema: stop here and let the caller omit this part.
            return None;
        }
        self.stack.push(schema);
        let out = self.generate(schema, nesting);
        self.stack.pop();
        out
    }

    fn generate(&mut self, schema: &'a Value, nesting: usize) -> Option<Value> {
        let obj = match schema {
            Value::Object(obj) => obj,
            // JSON Schema 2020-12 (OpenAPI 3.1): `true` accepts anything, `false` nothing.
            Value::Bool(true) => return Some(Value::String("test".to_owned())),
            _ => return None,
        };
        if let Some(v) = self.declared(obj) {
            return Some(v);
        }

        let mut composed: Option<Value> = None;
        for branch in obj
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = self.value(branch, nesting) {
                composed = Some(merge(composed, v));
            }
        }
        for key in ["oneOf", "anyOf"] {
            let branches = obj.get(key).and_then(Value::as_array).into_iter().flatten();
            if let Some(v) = branches.into_iter().find_map(|b| self.value(b, nesting)) {
                composed = Some(merge(composed, v));
                break;
            }
        }

        let has_composition = ["allOf", "oneOf", "anyOf"]
            .iter()
            .any(|key| obj.contains_key(*key));
        let own = self.typed_value(obj, nesting, has_composition);
        match (composed, own) {
            (Some(c), Some(o)) => Some(merge(Some(c), o)),
            (c, o) => c.or(o),
        }
    }

    /// Values the schema states outright, in priority order.
    fn declared(&mut self, obj: &'a Map<String, Value>) -> Option<Value> {
        let first = |key: &str| {
            obj.get(key)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
        };
        let candidates = [
            obj.get("example"),
            first("examples"),
            obj.get("default"),
            first("enum"),
            obj.get("const"),
        ];
        candidates
            .into_iter()
            .flatten()
            .find_map(|candidate| self.accept(candidate))
    }

    fn typed_value(
        &mut self,
        obj: &'a Map<String, Value>,
        nesting: usize,
        has_composition: bool,
    ) -> Option<Value> {
        let inferred = if obj.contains_key("properties") || obj.contains_key("additionalProperties")
        {
            Some("object")
        } else if obj.contains_key("items") {
            Some("array")
        } else {
            None
        };
        match primary_type(obj).or(inferred) {
            Some("object") => self.object(obj, nesting),
            Some("array") => self.array(obj, nesting),
            Some("integer") => Some(integer_sample(obj)),
            Some("number") => Some(number_sample(obj)),
            Some("boolean") => Some(Value::Bool(true)),
            Some("null") => None,
            // Swagger 2 `type: file` form fields, unknown types and untyped
            // schemas all get a string; a composition already produced the value.
            _ if has_composition => None,
            _ => Some(Value::String(string_sample(obj))),
        }
    }

    fn object(&mut self, obj: &'a Map<String, Value>, nesting: usize) -> Option<Value> {
        if nesting >= MAX_NESTING {
            return None;
        }
        let mut out = Map::new();
        for (name, property) in obj
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            // Read-only properties belong in responses; servers may reject them in requests.
            let read_only = self
                .doc
                .deref(property)
                .and_then(|p| p.get("readOnly"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if read_only {
                continue;
            }
            if let Some(v) = self.value(property, nesting + 1) {
                out.insert(name.clone(), v);
            }
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, obj: &'a Map<String, Value>, nesting: usize) -> Option<Value> {
        if nesting >= MAX_NESTING {
            return None;
        }
        let items = match obj.get("prefixItems").or_else(|| obj.get("items")) {
            // Tuple forms (2020-12 `prefixItems`, draft-4 `items: [...]`): use the first slot.
            Some(Value::Array(slots)) => slots.first(),
            other => other,
        };
        let item = items.and_then(|schema| self.value(schema, nesting + 1));
        Some(Value::Array(item.into_iter().collect()))
    }
}

/// Later object keys override earlier ones (allOf branches refine a base);
/// if either side isn't an object the earlier value stands.
fn merge(acc: Option<Value>, next: Value) -> Value {
    match (acc, next) {
        (Some(Value::Object(mut base)), Value::Object(extra)) => {
            base.extend(extra);
            Value::Object(base)
        }
        (Some(Value::Object(base)), _) => Value::Object(base),
        (None, next) => next,
        (Some(prev), _) => prev,
    }
}

/// Size of a value in nodes plus string bytes, or `None` once it exceeds
/// `limit`: the walk stops early so a huge example costs at most `limit` steps.
fn weight(value: &Value, limit: usize) -> Option<usize> {
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        total += 1;
        match v {
            Value::String(s) => total += s.len(),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (k, v) in map {
                    total += k.len();
                    pending.push(v);
                }
            }
            _ => {}
        }
        if total > limit {
            return None;
        }
    }
    Some(total)
}

fn integer_sample(obj: &Map<String, Value>) -> Value {
    let lower = bound(obj, "minimum", "exclusiveMinimum", true);
    let upper = bound(obj, "maximum", "exclusiveMaximum", false);
    let n = match (lower, upper) {
        (Some(lo), _) => lo,
        (None, Some(hi)) if hi < 1 => hi,
        _ => 1,
    };
    // Out-of-range bounds get the nearest value JSON integers commonly carry.
    let n = n.clamp(i128::from(i64::MIN), i128::from(u64::MAX));
    i64::try_from(n)
        .map(Value::from)
        .or_else(|_| u64::try_from(n).map(Value::from))
        .unwrap_or_else(|_| Value::from(1))
}

/// Inclusive integer bound. OpenAPI 3.0 spells exclusivity as a boolean beside
/// `minimum`; 3.1 (JSON Schema 2020-12) makes `exclusiveMinimum` the bound itself.
fn bound(obj: &Map<String, Value>, key: &str, exclusive_key: &str, lower: bool) -> Option<i128> {
    let step: i128 = if lower { 1 } else { -1 };
    let to_int = |v: &Value| -> Option<i128> {
        let n = v.as_number()?;
        if let Some(i) = n.as_i64() {
            return Some(i.into());
        }
        if let Some(u) = n.as_u64() {
            return Some(u.into());
        }
        let f = n.as_f64().filter(|f| f.is_finite())?;
        // `as` saturates for out-of-range floats, which is what we want here.
        Some(if lower { f.ceil() } else { f.floor() } as i128)
    };
    let inclusive = obj.get(key).and_then(to_int);
    match obj.get(exclusive_key) {
        Some(Value::Bool(true)) => inclusive.map(|v| v.saturating_add(step)),
        Some(v @ Value::Number(_)) => {
            let exclusive = to_int(v).map(|v| v.saturating_add(step));
            match (inclusive, exclusive) {
                (Some(a), Some(b)) => Some(if lower { a.max(b) } else { a.min(b) }),
                (a, b) => a.or(b),
            }
        }
        _ => inclusive,
    }
}

fn number_sample(obj: &Map<String, Value>) -> Value {
    let finite = |key: &str| {
        obj.get(key)
            .and_then(Value::as_f64)
            .filter(|f| f.is_finite())
    };
    let exclusive = |key: &str| matches!(obj.get(key), Some(Value::Bool(true)));
    let n = if let Some(min) = finite("minimum") {
        if exclusive("exclusiveMinimum") {
            min + 1.0
        } else {
            // Keep the document's own spelling (e.g. `0` rather than `0.0`).
            return obj.get("minimum").cloned().unwrap_or(Value::from(min));
        }
    } else if let Some(min) = finite("exclusiveMinimum") {
        min + 1.0
    } else if let Some(max) = finite("maximum").filter(|max| *max < 1.0) {
        if exclusive("exclusiveMaximum") {
            max - 1.0
        } else {
            max
        }
    } else {
        1.0
    };
    Number::from_f64(n).map_or(Value::from(1), Value::Number)
}

fn string_sample(obj: &Map<String, Value>) -> String {
    let fixed = match obj.get("format").and_then(Value::as_str) {
        Some("uuid") => Some(SAMPLE_UUID),
        Some("email" | "idn-email") => Some("user@example.com"),
        Some("date") => Some("2024-01-01"),
        Some("date-time") => Some("2024-01-01T00:00:00Z"),
        Some("time") => Some("00:00:00Z"),
        Some("uri" | "url" | "iri" | "uri-reference" | "iri-reference") => {
            Some("https://example.com")
        }
        Some("hostname" | "idn-hostname") => Some("example.com"),
        // Documentation ranges (RFC 5737 / RFC 3849): never a real internal host.
        Some("ipv4") => Some("192.0.2.1"),
        Some("ipv6") => Some("2001:db8::1"),
        Some("byte") => Some("dGVzdA=="),
        _ => None,
    };
    if let Some(s) = fixed {
        return s.to_owned();
    }
    let length = |key: &str| {
        let v = obj.get(key)?;
        // `1e3` is a float in JSON; `as` saturates, so huge values are safe.
        let n = v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })?;
        Some(usize::try_from(n).unwrap_or(usize::MAX))
    };
    match length("minLength") {
        Some(min) if min > 0 => "a".repeat(min.min(MAX_GENERATED_STRING)),
        _ => {
            let max = length("maxLength").unwrap_or(usize::MAX);
            "test".chars().take(max).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(schema: Value) -> Option<Value> {
        let root = json!({ "s": schema });
        let doc = Document::new(&root);
        schema_sample(&doc, &root["s"])
    }

    #[test]
    fn derived_scalars() {
        assert_eq!(sample(json!({"type": "integer"})), Some(json!(1)));
        assert_eq!(
            sample(json!({"type": "integer", "minimum": 5})),
            Some(json!(5))
        );
        assert_eq!(
            sample(json!({"type": "integer", "minimum": 5, "exclusiveMinimum": true})),
            Some(json!(6))
        );
        assert_eq!(
            sample(json!({"type": "integer", "exclusiveMinimum": 0})),
            Some(json!(1))
        );
        assert_eq!(
            sample(json!({"type": "integer", "maximum": -3})),
            Some(json!(-3))
        );
        assert_eq!(
            sample(json!({"type": "integer", "minimum": 1e300})),
            Some(json!(u64::MAX))
        );
        assert_eq!(sample(json!({"type": "number"})), Some(json!(1.0)));
        assert_eq!(
            sample(json!({"type": "number", "minimum": 0})),
            Some(json!(0))
        );
        assert_eq!(sample(json!({"type": "boolean"})), Some(json!(true)));
        assert_eq!(sample(json!({"type": "string"})), Some(json!("test")));
        assert_eq!(
            sample(json!({"type": "string", "maxLength": 2})),
            Some(json!("te"))
        );
        assert_eq!(
            sample(json!({"type": "string", "minLength": 6})),
            Some(json!("aaaaaa"))
        );
        assert_eq!(
            sample(json!({"type": "string", "minLength": 1e15})).map(|v| v.as_str().map(str::len)),
            Some(Some(MAX_GENERATED_STRING))
        );
        for (format, expected) in [
            ("uuid", SAMPLE_UUID),
            ("email", "user@example.com"),
            ("date", "2024-01-01"),
            ("date-time", "2024-01-01T00:00:00Z"),
            ("uri", "https://example.com"),
        ] {
            assert_eq!(
                sample(json!({"type": "string", "format": format})),
                Some(json!(expected)),
                "{format}"
            );
        }
        assert_eq!(sample(json!({"type": "null"})), None);
        assert_eq!(sample(json!({"type": ["null", "integer"]})), Some(json!(1)));
        assert_eq!(sample(json!(true)), Some(json!("test")));
        assert_eq!(sample(json!(false)), None);
    }

    #[test]
    fn declared_values_win_in_priority_order() {
        let all = json!({"type": "integer", "example": 7, "examples": [8], "default": 9, "enum": [10], "const": 11});
        assert_eq!(sample(all), Some(json!(7)));
        assert_eq!(
            sample(json!({"type": "integer", "examples": [8], "default": 9})),
            Some(json!(8))
        );
        assert_eq!(
            sample(json!({"type": "integer", "default": 9, "enum": [10]})),
            Some(json!(9))
        );
        assert_eq!(
            sample(json!({"type": "string", "enum": ["a", "b"]})),
            Some(json!("a"))
        );
        assert_eq!(sample(json!({"const": "fixed"})), Some(json!("fixed")));
        // A null example says nothing useful; fall through to the type.
        assert_eq!(
            sample(json!({"type": "integer", "example": null})),
            Some(json!(1))
        );
    }

    #[test]
    fn oversized_example_falls_back_to_derived_value() {
        let huge = "x".repeat(BODY_EXAMPLE_LIMIT + 1);
        assert_eq!(
            sample(json!({"type": "string", "example": huge})),
            Some(json!("test"))
        );
    }

    #[test]
    fn objects_arrays_and_composition() {
        let schema = json!({
            "allOf": [
                {"type": "object", "properties": {"id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}},
                {"properties": {"tags": {"type": "array", "items": {"type": "string", "format": "email"}}}}
            ],
            "properties": {"kind": {"oneOf": [{"type": "boolean"}, {"type": "string"}]}}
        });
        assert_eq!(
            sample(schema),
            Some(json!({"name": "test", "tags": ["user@example.com"], "kind": true}))
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut schema = json!({"type": "string"});
        for _ in 0..20 {
            schema = json!({"type": "object", "properties": {"n": schema}});
        }
        let value = sample(schema).unwrap();
        let mut depth = 0;
        let mut cursor = &value;
        while let Some(next) = cursor.get("n") {
            depth += 1;
            cursor = next;
        }
        assert_eq!(depth, MAX_NESTING - 1);
    }

    #[test]
    fn refs_resolve_with_escaping_and_cycles_terminate() {
        let root = json!({
            "components": {"schemas": {
                "a/b": {"type": "integer", "example": 3},
                "m~n": {"$ref": "#/components/schemas/a~1b"},
                "sp ace": {"$ref": "#/components/schemas/m~0n"},
                "Node": {"type": "object", "properties": {
                    "value": {"type": "string"},
                    "next": {"$ref": "#/components/schemas/Node"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
                }},
                "Loop1": {"$ref": "#/components/schemas/Loop2"},
                "Loop2": {"$ref": "#/components/schemas/Loop1"}
            }}
        });
        let doc = Document::new(&root);
        let r = |s: &str| json!({"$ref": s});
        let via_percent = r("#/components/schemas/sp%20ace");
        assert_eq!(schema_sample(&doc, &via_percent), Some(json!(3)));
        let node = r("#/components/schemas/Node");
        assert_eq!(
            schema_sample(&doc, &node),
            Some(json!({"value": "test", "children": []}))
        );
        assert_eq!(schema_sample(&doc, &r("#/components/schemas/Loop1")), None);
        assert_eq!(schema_sample(&doc, &r("other.yaml#/Pet")), None);
        assert_eq!(schema_sample(&doc, &r("#/nope")), None);
        assert_eq!(schema_sample(&doc, &r("#/components/schemas/%zz")), None);
        assert_eq!(schema_type(&doc, &r("#/components/schemas/Loop1")), None);
        assert_eq!(schema_type(&doc, &node).as_deref(), Some("object"));
    }

    #[test]
    fn wide_recursive_fanout_stays_bounded() {
        // Every level references the next one ten times: naive expansion is 10^30 nodes.
        let mut schemas = Map::new();
        for level in 0..30 {
            let props: Map<String, Value> = (0..10)
                .map(|i| {
                    (
                        format!("p{i}"),
                        json!({"$ref": format!("#/components/schemas/L{}", level + 1)}),
                    )
                })
                .collect();
            schemas.insert(
                format!("L{level}"),
                json!({"type": "object", "properties": props}),
            );
        }
        let root = json!({"components": {"schemas": schemas}});
        let doc = Document::new(&root);
        let start = json!({"$ref": "#/components/schemas/L0"});
        assert!(schema_sample(&doc, &start).is_some());
        assert!(schema_type(&doc, &start).is_some());
    }

    #[test]
    fn parameter_sources_and_rendering() {
        let root = json!({"components": {"examples": {"E": {"value": 42}}}});
        let doc = Document::new(&root);
        let schema = json!({"type": "integer", "example": 5});
        let p = json!({"example": "p"});
        assert_eq!(parameter_sample(&doc, &p, Some(&schema)), Some(json!("p")));
        let p = json!({"examples": {"first": {"$ref": "#/components/examples/E"}}});
        assert_eq!(parameter_sample(&doc, &p, Some(&schema)), Some(json!(42)));
        let p = json!({"examples": {"ext": {"externalValue": "x.json"}}});
        assert_eq!(parameter_sample(&doc, &p, Some(&schema)), Some(json!(5)));
        let p = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}});
        assert_eq!(parameter_sample(&doc, &p, None), Some(json!({"a": 1})));
        assert_eq!(parameter_sample(&doc, &json!({}), None), None);

        assert_eq!(render(&json!("x")).as_deref(), Some("x"));
        assert_eq!(render(&json!(1)).as_deref(), Some("1"));
        assert_eq!(render(&json!(true)).as_deref(), Some("true"));
        assert_eq!(render(&json!([1, "b", null])).as_deref(), Some("1,b"));
        assert_eq!(render(&json!({"a": 1})).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(render(&Value::Null), None);
    }

    #[test]
    fn document_budget_is_enforced() {
        let root = json!({});
        let doc = Document::new(&root);
        assert!(doc.charge(DOCUMENT_BUDGET));
        assert!(!doc.charge(1));
        assert_eq!(schema_sample(&doc, &json!({"type": "integer"})), None);
    }
}
