//! Typed values (anything serde can write) as native DynamoDB attributes: an enum with
//! serde's tag becomes a map (`M`) whose `type` says the variant, readable in the console
//! and by any SDK, and read back into the same type.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

/// Why a typed attribute could not be written or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TypedAttributeError {
    #[error("cannot be written: {0}")]
    Write(#[source] serde_json::Error),
    #[error("is not a {expected}: {source}")]
    Read {
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("holds {0}, which no typed value is written as")]
    Unsupported(&'static str),
    #[error("holds the number {0:?}, which is not one")]
    Number(String),
}

/// `value` as an attribute (a map for a struct or a tagged enum).
pub(crate) fn to_attribute<T: Serialize>(value: &T) -> Result<AttributeValue, TypedAttributeError> {
    serde_json::to_value(value)
        .map(|json| attribute_of(&json))
        .map_err(TypedAttributeError::Write)
}

/// The value of type `T` that [`to_attribute`] wrote as `attribute`.
pub(crate) fn from_attribute<T: DeserializeOwned>(
    attribute: &AttributeValue,
) -> Result<T, TypedAttributeError> {
    serde_json::from_value(json_of(attribute)?).map_err(|source| TypedAttributeError::Read {
        expected: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value"),
        source,
    })
}

fn attribute_of(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute_of).collect()),
        Value::Object(fields) => AttributeValue::M(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), attribute_of(v)))
                .collect(),
        ),
    }
}

fn json_of(attribute: &AttributeValue) -> Result<Value, TypedAttributeError> {
    Ok(match attribute {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(items) => {
            Value::Array(items.iter().map(json_of).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, v)| Ok((name.clone(), json_of(v)?)))
                .collect::<Result<Map<_, _>, TypedAttributeError>>()?,
        ),
        AttributeValue::B(_) => return Err(TypedAttributeError::Unsupported("binary")),
        AttributeValue::Bs(_) | AttributeValue::Ns(_) | AttributeValue::Ss(_) => {
            return Err(TypedAttributeError::Unsupported("a set"));
        }
        _ => return Err(TypedAttributeError::Unsupported("an unknown type")),
    })
}

fn number(text: &str) -> Result<Number, TypedAttributeError> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(Number::from(n));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Number::from(n));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| TypedAttributeError::Number(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiktok_publish_core::store::{Cause, Fact};
    use tiktok_publish_domain::errors::ErrorKind;

    #[test]
    fn a_tagged_enum_is_a_map_and_comes_back() {
        let fact = Fact::Retried {
            attempt: 2,
            after: Some(ErrorKind::TikTokUnavailable),
        };
        let attribute = to_attribute(&fact).unwrap();
        let AttributeValue::M(fields) = &attribute else {
            panic!("{attribute:?}");
        };
        assert_eq!(fields["type"], AttributeValue::S("retried".into()));
        assert_eq!(fields["attempt"], AttributeValue::N("2".into()));
        assert_eq!(
            fields["after"],
            AttributeValue::S("TikTokUnavailable".into())
        );
        assert_eq!(from_attribute::<Fact>(&attribute).unwrap(), fact);

        let nested = Fact::Failed {
            cause: Cause::PipelineStopped {
                error: "States.Timeout".into(),
                detail: None,
            },
        };
        let attribute = to_attribute(&nested).unwrap();
        assert_eq!(from_attribute::<Fact>(&attribute).unwrap(), nested);
    }

    #[test]
    fn what_no_value_was_written_as_is_refused() {
        let unknown =
            AttributeValue::M([("type".to_owned(), AttributeValue::S("x".into()))].into());
        let err = from_attribute::<Fact>(&unknown).unwrap_err();
        assert!(matches!(err, TypedAttributeError::Read { .. }), "{err}");
        assert!(matches!(
            from_attribute::<Fact>(&AttributeValue::Ss(vec!["a".into()])),
            Err(TypedAttributeError::Unsupported(_))
        ));
        assert!(matches!(
            from_attribute::<u64>(&AttributeValue::N("many".into())),
            Err(TypedAttributeError::Number(_))
        ));
        assert_eq!(
            from_attribute::<i64>(&AttributeValue::N("-3".into())).unwrap(),
            -3
        );
    }
}
