//! Whole descriptions, from text to endpoints: the three dialects, YAML
//! features, malformed and hostile input.

use serde_json::{json, Map, Value};

use super::super::sample;
use super::super::EndpointSource;
use super::operations::MAX_PARAMS_PER_ENDPOINT;
use super::test_support::*;
use super::*;

const PETSTORE_30: &str = r##"{
      "openapi": "3.0.3",
      "info": {"title": "Petstore", "version": "1.0.0"},
      "servers": [{"url": "https://petstore.example.com/v1/"}, {"url": "http://other/v9"}],
      "security": [{"bearer": []}],
      "paths": {
        "x-internal": {"get": {}},
        "/pets": {
          "summary": "all pets",
          "get": {
            "operationId": "listPets",
            "parameters": [
              {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32", "maximum": 100, "default": 20}},
              {"name": "sort", "in": "query", "required": true, "schema": {"type": "string", "enum": ["asc", "desc"]}},
              {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
              {"name": "X-Trace", "in": "header", "example": "abc"}
            ]
          },
          "post": {
            "operationId": "createPet",
            "requestBody": {"$ref": "#/components/requestBodies/PetBody"}
          }
        },
        "/pets/{petId}": {
          "parameters": [{"$ref": "#/components/parameters/PetId"}],
          "get": {"operationId": "showPet", "parameters": [{"name": "verbose", "in": "cookie", "schema": {"type": "boolean"}}]},
          "delete": {"security": []},
          "x-extension": {"get": "not an operation"}
        }
      },
      "components": {
        "parameters": {
          "PetId": {"name": "petId", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/Id"}}
        },
        "requestBodies": {
          "PetBody": {"content": {"application/xml": {}, "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
        },
        "schemas": {
          "Id": {"type": "string", "format": "uuid"},
          "NewPet": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "tag": {"type": "string", "example": "dog"},
            "age": {"type": "integer", "minimum": 0}
          }},
          "Pet": {"allOf": [
            {"$ref": "#/components/schemas/NewPet"},
            {"properties": {"id": {"$ref": "#/components/schemas/ReadOnlyId"}}}
          ]},
          "ReadOnlyId": {"type": "integer", "readOnly": true}
        },
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "Bearer", "bearerFormat": "JWT"},
          "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
          "broken": "not an object"
        }
      }
    }"##;

const OPENAPI_31_YAML: &str = r##"
openapi: 3.1.0
info:
  title: Things
  version: "2"
servers:
  - url: /api/v2/
paths:
  /things/{thingId}:
    parameters:
      - name: q
        in: query
        schema: {type: string}
      - name: thingId
        in: path
        schema:
          type: [integer, "null"]
          examples: [17, 18]
    get:
      operationId: getThing
      parameters:
        - name: q
          in: query
          required: true
          examples:
            first: {summary: first, value: needle}
            second: {value: other}
        - name: mode
          in: query
          schema: {const: strict}
        - name: maybe
          in: header
          schema: {type: ["null", "string"], format: email}
      responses:
        200:
          description: ok
    put:
      requestBody:
        content:
          text/plain:
            schema: {type: string}
          application/vnd.api+json:
            schema:
              type: object
              properties:
                label: {type: [string, "null"], examples: [shiny]}
                when: {type: string, format: date-time}
                parts:
                  type: array
                  items: {type: number}
                choice:
                  anyOf:
                    - {type: string, format: uri}
                    - {type: integer}
webhooks:
  ping:
    post: {}
"##;

const SWAGGER_2: &str = r##"{
      "swagger": "2.0",
      "info": {"title": "Legacy"},
      "host": "legacy.example.com",
      "basePath": "/api/",
      "consumes": ["application/json"],
      "security": [{"basicAuth": []}],
      "securityDefinitions": {
        "basicAuth": {"type": "basic"},
        "token": {"type": "apiKey", "in": "query", "name": "access_token"},
        "oauth": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://x/auth"}
      },
      "parameters": {
        "PageParam": {"name": "page", "in": "query", "type": "integer", "minimum": 1, "default": 3}
      },
      "definitions": {
        "User": {"type": "object", "properties": {
          "email": {"type": "string", "format": "email"},
          "roles": {"type": "array", "items": {"type": "string", "enum": ["admin", "user"]}}
        }}
      },
      "paths": {
        "/users": {
          "get": {
            "parameters": [
              {"$ref": "#/parameters/PageParam"},
              {"name": "ids", "in": "query", "type": "array", "items": {"type": "integer"}},
              {"name": "X-Req", "in": "header", "type": "string", "x-example": "req-1"}
            ],
            "security": [{}, {"basicAuth": []}]
          },
          "post": {
            "parameters": [{"name": "user", "in": "body", "required": true, "schema": {"$ref": "#/definitions/User"}}]
          }
        },
        "/users/{id}/avatar": {
          "parameters": [{"name": "id", "in": "path", "type": "string", "format": "uuid"}],
          "put": {
            "consumes": ["multipart/form-data"],
            "parameters": [
              {"name": "file", "in": "formData", "type": "file"},
              {"name": "caption", "in": "formData", "type": "string", "default": "me"}
            ]
          },
          "patch": {
            "consumes": ["application/x-www-form-urlencoded"],
            "parameters": [{"name": "caption", "in": "formData", "type": "string"}]
          }
        }
      }
    }"##;

#[test]
fn openapi_30_petstore_json() {
    let spec = parsed(
        PETSTORE_30,
        "3.0.3",
        "/v1",
        &[
            "GET /pets",
            "POST /pets",
            "GET /pets/{petId}",
            "DELETE /pets/{petId}",
        ],
    );
    assert_eq!(spec.title.as_deref(), Some("Petstore"));

    let list = &spec.endpoints[0];
    assert_eq!(list.operation_id.as_deref(), Some("listPets"));
    assert_eq!(list.source, EndpointSource::Spec);
    assert_eq!(list.requires_auth, Some(true));
    let limit = param(list, "limit");
    assert_eq!(limit.location, ParamLocation::Query);
    assert!(!limit.required);
    assert_eq!(limit.sample.as_deref(), Some("20"));
    assert_eq!(limit.schema.schema_type.as_deref(), Some("integer"));
    assert_eq!(limit.schema.format.as_deref(), Some("int32"));
    assert_eq!(param(list, "sort").sample.as_deref(), Some("asc"));
    assert!(param(list, "sort").required);
    assert_eq!(param(list, "X-Trace").sample.as_deref(), Some("abc"));
    assert!(
        list.parameters.iter().all(|p| p.name != "Authorization"),
        "OpenAPI 3 says Authorization header parameters are ignored"
    );
    assert_eq!(list.body_sample, None);

    let create = &spec.endpoints[1];
    assert_eq!(
        body(create),
        (
            Some("application/json"),
            Some(&json!({"name": "test", "tag": "dog", "age": 0}))
        )
    );

    let show = &spec.endpoints[2];
    let pet_id = param(show, "petId");
    assert_eq!(pet_id.location, ParamLocation::Path);
    assert!(pet_id.required);
    assert_eq!(pet_id.sample.as_deref(), Some(sample::SAMPLE_UUID));
    assert_eq!(pet_id.schema.schema_type.as_deref(), Some("string"));
    assert_eq!(pet_id.schema.format.as_deref(), Some("uuid"));
    assert_eq!(param(show, "verbose").sample.as_deref(), Some("true"));
    assert_eq!(param(show, "verbose").location, ParamLocation::Cookie);

    assert_eq!(spec.endpoints[3].requires_auth, Some(false));
    assert_eq!(spec.endpoints[3].parameters.len(), 1);

    assert_eq!(
        spec.security_schemes,
        vec![
            SecurityScheme {
                name: "bearer".into(),
                kind: "http".into(),
                location: None,
                parameter_name: None,
                scheme: Some("bearer".into()),
                token_url: None,
            },
            SecurityScheme {
                name: "key".into(),
                kind: "apiKey".into(),
                location: Some(ParamLocation::Header),
                parameter_name: Some("X-API-Key".into()),
                scheme: None,
                token_url: None,
            },
        ]
    );
}

#[test]
fn openapi_31_yaml_with_type_arrays_and_examples() {
    let spec = parsed(
        OPENAPI_31_YAML,
        "3.1.0",
        "/api/v2",
        &["GET /things/{thingId}", "PUT /things/{thingId}"],
    );
    assert_eq!(spec.title.as_deref(), Some("Things"));

    let get = &spec.endpoints[0];
    assert_eq!(get.requires_auth, None);
    let names: Vec<&str> = get.parameters.iter().map(|p| p.name.as_str()).collect();
    // The operation's `q` replaces the path-level one in place.
    assert_eq!(names, ["q", "thingId", "mode", "maybe"]);
    let q = param(get, "q");
    assert!(q.required);
    assert_eq!(q.sample.as_deref(), Some("needle"));
    let id = param(get, "thingId");
    assert_eq!(id.sample.as_deref(), Some("17"));
    assert_eq!(id.schema.schema_type.as_deref(), Some("integer"));
    assert_eq!(param(get, "mode").sample.as_deref(), Some("strict"));
    let maybe = param(get, "maybe");
    assert_eq!(maybe.schema.schema_type.as_deref(), Some("string"));
    assert_eq!(maybe.sample.as_deref(), Some("user@example.com"));

    let put = &spec.endpoints[1];
    assert_eq!(
        body(put),
        (
            Some("application/vnd.api+json"),
            Some(&json!({
                "label": "shiny",
                "when": "2024-01-01T00:00:00Z",
                "parts": [1.0],
                "choice": "https://example.com"
            }))
        )
    );
}

#[test]
fn swagger_20_base_path_bodies_and_security_definitions() {
    let spec = parsed(
        SWAGGER_2,
        "2.0",
        "/api",
        &[
            "GET /users",
            "POST /users",
            "PUT /users/{id}/avatar",
            "PATCH /users/{id}/avatar",
        ],
    );

    let list = &spec.endpoints[0];
    assert_eq!(
        list.requires_auth,
        Some(false),
        "`{{}}` makes auth optional"
    );
    let page = param(list, "page");
    assert_eq!(page.sample.as_deref(), Some("3"));
    assert_eq!(page.schema.schema_type.as_deref(), Some("integer"));
    let ids = param(list, "ids");
    assert_eq!(ids.schema.schema_type.as_deref(), Some("array"));
    assert_eq!(ids.sample.as_deref(), Some("1"));
    assert_eq!(param(list, "X-Req").sample.as_deref(), Some("req-1"));

    let create = &spec.endpoints[1];
    assert_eq!(create.requires_auth, Some(true));
    assert!(
        create.parameters.is_empty(),
        "body parameters become the body"
    );
    assert_eq!(
        body(create),
        (
            Some("application/json"),
            Some(&json!({"email": "user@example.com", "roles": ["admin"]}))
        )
    );

    let upload = &spec.endpoints[2];
    assert_eq!(param(upload, "id").schema.format.as_deref(), Some("uuid"));
    assert_eq!(
        body(upload),
        (
            Some("multipart/form-data"),
            Some(&json!({"file": "test", "caption": "me"}))
        )
    );
    let patch = &spec.endpoints[3];
    assert_eq!(
        body(patch),
        (
            Some("application/x-www-form-urlencoded"),
            Some(&json!({"caption": "test"}))
        )
    );

    let kinds: Vec<_> = spec
        .security_schemes
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.kind.as_str(),
                s.location,
                s.parameter_name.as_deref(),
                s.scheme.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("basicAuth", "http", None, None, Some("basic")),
            (
                "token",
                "apiKey",
                Some(ParamLocation::Query),
                Some("access_token"),
                None
            ),
            ("oauth", "oauth2", None, None, None),
        ]
    );
}

#[test]
fn swagger_version_as_unquoted_yaml_number() {
    let text = "swagger: 2.0\nbasePath: /\npaths:\n  /a:\n    get: {}\n";
    parsed(text, "2.0", "", &["GET /a"]);
}

#[test]
fn yaml_anchors_merge_keys_and_non_string_keys() {
    let spec = parse_spec(
        r#"
openapi: "3.0.2"
x-common: &common
  parameters:
    - {name: shared, in: query, schema: {type: integer, example: 4}}
paths:
  /m:
    <<: *common
    get: {}
  /n:
    get: *common
    200: weird
    true: weirder
"#,
    )
    .unwrap();
    assert_eq!(routes(&spec), vec![pair("GET", "/m"), pair("GET", "/n")]);
    assert_eq!(
        param(&spec.endpoints[0], "shared").sample.as_deref(),
        Some("4")
    );
    assert_eq!(
        param(&spec.endpoints[1], "shared").sample.as_deref(),
        Some("4")
    );
}

#[test]
fn malformed_inputs() {
    let err = |text: &str| parse_spec(text).unwrap_err();
    // Each input with the variant of the error it must give.
    let kind = |e: &SpecError| match e {
        SpecError::TooLarge => "too large",
        SpecError::NotJsonOrYaml(_) => "not JSON or YAML",
        SpecError::NotAnApiDescription(_) => "not an API description",
        SpecError::UnsupportedVersion(_) => "unsupported version",
    };
    for (text, expected) in [
        ("{ not json", "not JSON or YAML"),
        ("openapi: [unclosed", "not JSON or YAML"),
        ("a: b\n  c: d\n: :", "not JSON or YAML"),
        ("<html><body>Not found</body></html>", "not JSON or YAML"),
        ("[1, 2, 3]", "not an API description"),
        ("", "not an API description"),
        ("42", "not an API description"),
        (
            r#"{"info": {"title": "x"}, "paths": {}}"#,
            "not an API description",
        ),
        (r#"{"openapi": "2.0"}"#, "unsupported version"),
        (r#"{"swagger": "1.2"}"#, "unsupported version"),
        (r#"{"openapi": {"v": 3}}"#, "unsupported version"),
        (r#"{"openapi": "3"}"#, "unsupported version"),
    ] {
        assert_eq!(kind(&err(text)), expected, "{text}");
    }
    assert!(
        matches!(err(r#"{"openapi": "4.0.0", "paths": {}}"#), SpecError::UnsupportedVersion(v) if v == "4.0.0")
    );

    let too_large = " ".repeat(MAX_SPEC_BYTES + 1);
    assert!(matches!(parse_spec(&too_large), Err(SpecError::TooLarge)));

    // Error messages stay on one line even for multi-line input.
    let message = err("{\n\"openapi\": \"3.0.0\",\n\"paths\": {\n").to_string();
    assert!(message.starts_with("not valid JSON or YAML: "), "{message}");
    assert!(!message.contains('\n'), "{message}");

    // Structurally wrong but recognisable documents parse to nothing rather than fail.
    for text in [
        r#"{"openapi": "3.0.0"}"#,
        r#"{"openapi": "3.0.0", "paths": ["/a", "/b"]}"#,
        r#"{"openapi": "3.0.0", "paths": null}"#,
        r#"{"openapi": "3.0.0", "paths": {"/a": ["get"], "/b": "x", "/c": null}}"#,
        r#"{"swagger": "2.0", "paths": 12}"#,
    ] {
        let spec = parse_spec(text).unwrap();
        assert!(spec.endpoints.is_empty(), "{text}");
    }
    // YAML flow mappings start with `{` but are not JSON.
    assert_eq!(
        parse_spec("{openapi: 3.0.0, paths: {}}").unwrap().version,
        "3.0.0"
    );
    // A byte-order mark is not content.
    assert_eq!(
        parse_spec("\u{feff}{\"openapi\": \"3.1.0\"}")
            .unwrap()
            .version,
        "3.1.0"
    );
}

#[test]
fn wrong_types_everywhere_do_not_panic() {
    let hostile = json!({
        "openapi": "3.0.0",
        "info": "not an object",
        "servers": [{"url": "{unterminated", "variables": []}],
        "security": {"not": "a list"},
        "components": {"securitySchemes": [], "schemas": "x"},
        "paths": {
            "/a/{": {
                "parameters": "nope",
                "get": {
                    "parameters": [null, 1, "x", [], {"name": 5, "in": "query"}, {"name": "n", "in": 5},
                        {"name": "q", "in": "query", "required": "yes", "schema": "string"},
                        {"name": "r", "in": "query", "schema": {"type": 7, "enum": "x", "minimum": "1", "format": 1}},
                        {"name": "s", "in": "query", "schema": {"type": "integer", "minimum": 1e308, "maximum": -1e308}},
                        {"name": "big", "in": "query", "schema": {"type": "integer", "minimum": 18446744073709551615u64}},
                        {"name": "z", "in": "query", "examples": [], "content": "x"},
                        {"$ref": 5}, {"$ref": "#"}, {"$ref": "#/paths"}, {"$ref": ""}],
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": [1, 2], "allOf": "x"}}}},
                    "security": [[], "x", 1],
                    "operationId": 12
                },
                "post": {"requestBody": {"$ref": "#/paths/~1a~1{/get"}},
                "put": [],
                "delete": null
            },
            "/b": {"$ref": "#/paths/~1b"},
            "/c": {"$ref": "#/paths/~1a~1{"}
        }
    });
    let spec = parse_spec(&hostile.to_string()).unwrap();
    assert_eq!(spec.base_path, "/{unterminated");
    assert_eq!(
        routes(&spec),
        vec![
            pair("GET", "/a/{"),
            pair("POST", "/a/{"),
            pair("GET", "/c"),
            pair("POST", "/c"),
        ]
    );
    let get = &spec.endpoints[0];
    assert_eq!(get.requires_auth, None);
    assert_eq!(get.operation_id, None);
    assert_eq!(
        param(get, "s").sample.as_deref(),
        Some(&*u64::MAX.to_string())
    );
    assert_eq!(
        param(get, "big").sample.as_deref(),
        Some("18446744073709551615")
    );
    assert_eq!(get.body_sample, Some(json!({})));
}

#[test]
fn huge_numbers_are_tolerated() {
    let doc = |schema: &str| {
        format!(
            r#"{{"openapi": "3.0.0", "paths": {{"/n": {{"get": {{"parameters": [
                {{"name": "a", "in": "query", "schema": {schema}}}]}}}}}}}}"#
        )
    };
    let sample_of = |schema: &str| {
        let spec = parse_spec(&doc(schema)).unwrap();
        param(&spec.endpoints[0], "a").sample.clone()
    };
    // Integers beyond u64 arrive as floats; the bound is clamped.
    assert_eq!(
        sample_of(r#"{"type": "integer", "minimum": 123456789012345678901234567890}"#),
        Some(u64::MAX.to_string())
    );
    // serde_json rejects 1e400 outright; the YAML reading of the same text
    // makes it null, which is no usable bound.
    assert_eq!(
        sample_of(r#"{"type": "integer", "minimum": 1e400}"#).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample_of(r#"{"type": "number", "maximum": -1e400}"#).as_deref(),
        Some("1.0")
    );
    // With both, serde_json still gives up on 1e400 and the YAML reading
    // takes over: 1e400 becomes null (JSON has no infinity), the huge integer
    // a float, and the untyped schema still yields a sample.
    let both = doc(r#"{"minimum": 1e400, "maximum": 123456789012345678901234567890}"#);
    let spec = parse_spec(&both).unwrap();
    assert_eq!(
        param(&spec.endpoints[0], "a").sample.as_deref(),
        Some("test")
    );
}

#[test]
fn deep_nesting_and_amplification_are_bounded() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_spec(&deep).is_err());
    let deep_yaml = format!(
        "openapi: 3.0.0\nx: {}{}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(parse_spec(&deep_yaml).is_err());

    // One path item with many parameters, referenced by many paths.
    let params: Vec<Value> = (0..2_000)
        .map(|i| json!({"name": format!("p{i}"), "in": "query", "schema": {"type": "string"}}))
        .collect();
    let mut paths = Map::new();
    paths.insert(
        "/base".into(),
        json!({"parameters": params, "get": {}, "post": {}, "put": {}, "delete": {}}),
    );
    for i in 0..5_000 {
        paths.insert(format!("/p{i}"), json!({"$ref": "#/paths/~1base"}));
    }
    let doc = json!({"openapi": "3.0.0", "paths": paths}).to_string();
    let start = std::time::Instant::now();
    let spec = parse_spec(&doc).unwrap();
    assert!(!spec.endpoints.is_empty());
    assert!(spec
        .endpoints
        .iter()
        .all(|e| e.parameters.len() <= MAX_PARAMS_PER_ENDPOINT));
    let total: usize = spec.endpoints.iter().map(|e| e.parameters.len()).sum();
    assert!(total < 40_000_000, "{total}");
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn output_is_deterministic_and_serializable() {
    let a = parse_spec(PETSTORE_30).unwrap();
    let b = parse_spec(PETSTORE_30).unwrap();
    assert_eq!(a, b);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["endpoints"][2]["parameters"][0]["location"], "path");
    assert_eq!(json["endpoints"][0]["source"], "spec");
}

/// Cheap stand-in for a fuzzer: truncations and byte mutations of valid
/// documents must only ever produce `Ok` or `Err`, never a panic.
#[test]
fn truncated_and_mutated_inputs_never_panic() {
    for text in [PETSTORE_30, OPENAPI_31_YAML, SWAGGER_2] {
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse_spec(&text[..end]);
        }
        let bytes = text.as_bytes();
        let replacements = b"{}[]:,\"'- \n#&*!|>%~/0";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1_500 {
            // xorshift: deterministic so failures reproduce.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut mutated = bytes.to_vec();
            for k in 0..3 {
                let at = (state >> (k * 16)) as usize % mutated.len();
                mutated[at] = replacements[(state >> (k * 4 + 48)) as usize % replacements.len()];
            }
            if let Ok(mutated) = String::from_utf8(mutated) {
                let _ = parse_spec(&mutated);
            }
        }
    }
}
