//! Tool arguments: the argument structs (their JSON Schemas are what `tools/list` advertises)
//! and a check of call arguments against those schemas, so a bad call gets an
//! `invalid params` error that names the offending field instead of a bare serde message.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Fewest and most diffusion steps `generateImage` accepts (FLUX.1 schnell works best at 4).
pub const MIN_STEPS: u8 = 4;
pub const MAX_STEPS: u8 = 8;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AddArgs {
    /// The first number.
    pub a: f64,
    /// The second number.
    pub b: f64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GenerateImageArgs {
    /// A description of the image to generate.
    pub prompt: String,
    /// Number of diffusion steps; more steps give more detail and take longer.
    #[serde(default = "default_steps")]
    #[schemars(range(min = 4, max = 8))]
    pub steps: u8,
}

fn default_steps() -> u8 {
    MIN_STEPS
}

/// Why a tool's arguments were refused; the text becomes the JSON-RPC error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    #[error("missing required argument `{0}`")]
    Missing(String),
    #[error("argument `{field}` must be {expected}")]
    WrongType { field: String, expected: String },
    #[error("argument `{field}` must be between {min} and {max}")]
    OutOfRange { field: String, min: String, max: String },
    #[error("invalid arguments: {0}")]
    Other(String),
}

/// For argument structs whose schema says nothing their types do not (required fields and JSON
/// types, no ranges): deserializes at once, and only when that fails builds the `schema` to say
/// which field is wrong, as [`parse`] would. A call with good arguments (nearly all of them)
/// then never generates the schema: a fresh instance serves every request, so nothing generated
/// survives to the next call, and generating it was a twentieth of a `tools/call`'s cost.
pub fn parse_typed<T: DeserializeOwned>(
    schema: impl FnOnce() -> JsonObject,
    arguments: Option<&JsonObject>,
) -> Result<T, ArgumentError> {
    let empty = JsonObject::new();
    let given = arguments.unwrap_or(&empty);
    match T::deserialize(Value::Object(given.clone())) {
        Ok(parsed) => Ok(parsed),
        Err(_) => parse(&schema(), arguments),
    }
}

/// Checks `arguments` against `schema` (the tool's generated input schema), then deserializes.
pub fn parse<T: DeserializeOwned>(schema: &JsonObject, arguments: Option<&JsonObject>) -> Result<T, ArgumentError> {
    let empty = JsonObject::new();
    let arguments = arguments.unwrap_or(&empty);
    check_required(schema, arguments)?;
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (field, value) in arguments {
            if let Some(Value::Object(property)) = properties.get(field) {
                check_property(field, property, value)?;
            }
        }
    }
    serde_json::from_value(Value::Object(arguments.clone())).map_err(|e| ArgumentError::Other(e.to_string()))
}

fn check_required(schema: &JsonObject, arguments: &JsonObject) -> Result<(), ArgumentError> {
    let required = schema.get("required").and_then(Value::as_array).into_iter().flatten();
    match required.filter_map(Value::as_str).find(|field| !arguments.contains_key(*field)) {
        Some(field) => Err(ArgumentError::Missing(field.to_owned())),
        None => Ok(()),
    }
}

fn check_property(field: &str, property: &JsonObject, value: &Value) -> Result<(), ArgumentError> {
    let types = declared_types(property);
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        return Err(ArgumentError::WrongType { field: field.to_owned(), expected: describe(&types) });
    }
    check_range(field, property, value)
}

fn declared_types(property: &JsonObject) -> Vec<&str> {
    match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn has_type(value: &Value, json_type: &str) -> bool {
    match json_type {
        "number" => value.is_number(),
        // JSON has one number type; `4.0` is an integer for JSON Schema, `4.5` is not.
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe(types: &[&str]) -> String {
    let named: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "integer" => "an integer".to_owned(),
            "object" | "array" => format!("an {t}"),
            other => format!("a {other}"),
        })
        .collect();
    named.join(" or ")
}

fn check_range(field: &str, property: &JsonObject, value: &Value) -> Result<(), ArgumentError> {
    let Some(number) = value.as_f64() else { return Ok(()) };
    let min = property.get("minimum").and_then(Value::as_f64);
    let max = property.get("maximum").and_then(Value::as_f64);
    let below = min.is_some_and(|min| number < min);
    let above = max.is_some_and(|max| number > max);
    if below || above {
        let show = |bound: Option<f64>| bound.map_or_else(|| "any".to_owned(), |b| b.to_string());
        return Err(ArgumentError::OutOfRange { field: field.to_owned(), min: show(min), max: show(max) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_of<T: JsonSchema>() -> JsonObject {
        match serde_json::to_value(schemars::schema_for!(T)) {
            Ok(Value::Object(map)) => map,
            other => panic!("schema is not an object: {other:?}"),
        }
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn typed_parse_builds_no_schema_for_good_arguments() {
        let parsed: AddArgs = parse_typed(
            || panic!("the schema is built only to explain bad arguments"),
            Some(&args(json!({"a": 1, "b": 2.5}))),
        )
        .unwrap();
        assert_eq!((parsed.a, parsed.b), (1.0, 2.5));
    }

    #[test]
    fn typed_parse_explains_bad_arguments_as_the_schema_check_does() {
        let cases = [json!({"a": 1}), json!({"a": "1", "b": 2}), json!({"a": null, "b": 2}), json!([])];
        for given in cases {
            let given = match given {
                Value::Object(map) => Some(map),
                _ => None,
            };
            let typed = parse_typed::<AddArgs>(schema_of::<AddArgs>, given.as_ref()).unwrap_err();
            let checked = parse::<AddArgs>(&schema_of::<AddArgs>(), given.as_ref()).unwrap_err();
            assert_eq!(typed, checked, "{given:?}");
        }
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse::<AddArgs>(&schema_of::<AddArgs>(), Some(&args(json!({"a": 1})))).unwrap_err();
        assert_eq!(err, ArgumentError::Missing("b".into()));
        assert_eq!(err.to_string(), "missing required argument `b`");
    }

    #[test]
    fn absent_arguments_object_reports_first_missing_field() {
        let err = parse::<AddArgs>(&schema_of::<AddArgs>(), None).unwrap_err();
        assert_eq!(err, ArgumentError::Missing("a".into()));
    }

    #[test]
    fn wrong_type_is_named_with_expected_type() {
        let err = parse::<AddArgs>(&schema_of::<AddArgs>(), Some(&args(json!({"a": "1", "b": 2})))).unwrap_err();
        assert_eq!(err.to_string(), "argument `a` must be a number");
    }

    #[test]
    fn steps_out_of_range_is_named_with_bounds() {
        let schema = schema_of::<GenerateImageArgs>();
        for steps in [3, 9, -1, 1000] {
            let err =
                parse::<GenerateImageArgs>(&schema, Some(&args(json!({"prompt": "x", "steps": steps})))).unwrap_err();
            assert_eq!(err.to_string(), "argument `steps` must be between 4 and 8", "steps={steps}");
        }
    }

    #[test]
    fn fractional_steps_are_not_an_integer() {
        let schema = schema_of::<GenerateImageArgs>();
        let err = parse::<GenerateImageArgs>(&schema, Some(&args(json!({"prompt": "x", "steps": 4.5})))).unwrap_err();
        assert_eq!(err.to_string(), "argument `steps` must be an integer");
    }

    #[test]
    fn steps_default_to_four_and_accept_bounds() {
        let schema = schema_of::<GenerateImageArgs>();
        let parsed: GenerateImageArgs = parse(&schema, Some(&args(json!({"prompt": "cat"})))).unwrap();
        assert_eq!(parsed.steps, 4);
        let parsed: GenerateImageArgs = parse(&schema, Some(&args(json!({"prompt": "cat", "steps": 8})))).unwrap();
        assert_eq!(parsed.steps, 8);
    }

    #[test]
    fn prompt_must_be_a_string() {
        let schema = schema_of::<GenerateImageArgs>();
        let err = parse::<GenerateImageArgs>(&schema, Some(&args(json!({"prompt": 5})))).unwrap_err();
        assert_eq!(err.to_string(), "argument `prompt` must be a string");
    }
}
