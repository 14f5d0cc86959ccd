//! Typed values (anything serde can write) as native DynamoDB attributes: an enum with
//! serde's tag becomes a map (`M`) whose `type` says the variant, readable in the console
//! and by any SDK, and read back into the same type. `serde_dynamo` does the conversion.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::{from_attribute_value, to_attribute_value};

/// Why a typed attribute could not be written or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TypedAttributeError {
    #[error("cannot be written: {0}")]
    Write(#[source] serde_dynamo::Error),
    #[error("is not a {expected}: {source}")]
    Read {
        expected: &'static str,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("holds {0}, which no typed value is written as")]
    Unsupported(&'static str),
}

/// `value` as an attribute (a map for a struct or a tagged enum).
pub(crate) fn to_attribute<T: Serialize>(value: &T) -> Result<AttributeValue, TypedAttributeError> {
    to_attribute_value(value).map_err(TypedAttributeError::Write)
}

/// The value of type `T` that [`to_attribute`] wrote as `attribute`.
pub(crate) fn from_attribute<T: DeserializeOwned>(
    attribute: &AttributeValue,
) -> Result<T, TypedAttributeError> {
    refuse_unwritten(attribute)?;
    from_attribute_value(attribute.clone()).map_err(|source| TypedAttributeError::Read {
        expected: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value"),
        source,
    })
}

/// Refuses the types [`to_attribute`] never writes: serde_dynamo would read a set as a list,
/// and panics on a type the SDK does not know.
fn refuse_unwritten(attribute: &AttributeValue) -> Result<(), TypedAttributeError> {
    match attribute {
        AttributeValue::L(items) => items.iter().try_for_each(refuse_unwritten),
        AttributeValue::M(fields) => fields.values().try_for_each(refuse_unwritten),
        AttributeValue::B(_) => Err(TypedAttributeError::Unsupported("binary")),
        AttributeValue::Bs(_) | AttributeValue::Ns(_) | AttributeValue::Ss(_) => {
            Err(TypedAttributeError::Unsupported("a set"))
        }
        other if other.is_unknown() => Err(TypedAttributeError::Unsupported("an unknown type")),
        _ => Ok(()),
    }
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
        let AttributeValue::M(fields) = &attribute else {
            panic!("{attribute:?}");
        };
        // An absent option is written as NULL, as before serde_dynamo.
        let AttributeValue::M(cause) = &fields["cause"] else {
            panic!("{attribute:?}");
        };
        assert_eq!(cause["detail"], AttributeValue::Null(true));
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
        let offered_as_set = AttributeValue::M(
            [
                ("type".to_owned(), AttributeValue::S("failed".into())),
                (
                    "cause".to_owned(),
                    AttributeValue::M([("offered".to_owned(), AttributeValue::Ss(vec![]))].into()),
                ),
            ]
            .into(),
        );
        assert!(matches!(
            from_attribute::<Fact>(&offered_as_set),
            Err(TypedAttributeError::Unsupported(_))
        ));
        assert!(matches!(
            from_attribute::<u64>(&AttributeValue::N("many".into())),
            Err(TypedAttributeError::Read { .. })
        ));
        assert_eq!(
            from_attribute::<i64>(&AttributeValue::N("-3".into())).unwrap(),
            -3
        );
    }
}
