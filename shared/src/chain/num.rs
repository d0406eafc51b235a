//! The chain encodes many integers as JSON strings (cosmos-sdk's int64/uint64
//! convention) and others as numbers. Fields read either through
//! `serde_with` (see [`Int`]); the counters, kept as text, through
//! [`counter`] and [`counter_or_empty`].

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde_with::{DisplayFromStr, PickFirst, Same};

/// An integer sent as a JSON number or as a string holding one:
/// `#[serde_as(as = "num::Int")]`, `Option<num::Int>` where it may be null
/// or missing, `DefaultOnNull<num::Int>` where null reads as 0.
pub type Int = PickFirst<(Same, DisplayFromStr)>;

/// Hand-written: serde_with has no adapter that keeps a JSON number as its
/// decimal text (its `DisplayFromStr` reads strings only).
struct DecimalText;

impl<'de> Visitor<'de> for DecimalText {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal string or an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Counters are kept as the chain's decimal strings (the API contract returns
/// them as strings); numbers are converted so either encoding reads the same,
/// and null reads as `"0"`.
pub fn counter<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_option(DecimalText)?
        .unwrap_or_else(|| "0".into()))
}

/// A port may be a string or a number upstream; the API returns a string
/// (empty for null).
pub fn counter_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_option(DecimalText)?.unwrap_or_default())
}

/// An optional text field the chain may send as a string or an integer
/// (token counts, heights kept as text); null or missing reads as `None`.
pub fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(DecimalText)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_with::{serde_as, DefaultOnNull};

    use super::*;

    #[serde_as]
    #[derive(Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde_as(as = "Int")]
        id: u64,
        #[serde_as(as = "Option<Int>")]
        weight: Option<i64>,
        #[serde(default)]
        #[serde_as(as = "DefaultOnNull<Int>")]
        count: u64,
        #[serde(default = "zero", deserialize_with = "counter")]
        coins: String,
        #[serde(default, deserialize_with = "counter_or_empty")]
        port: String,
    }

    fn zero() -> String {
        "0".into()
    }

    fn row(json: &str) -> Result<Row, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numbers_read_as_numbers_or_strings() {
        let full = row(r#"{"id":"56","weight":-3,"count":"2","coins":38627452617213,"port":8080}"#);
        assert_eq!(
            full.unwrap(),
            Row {
                id: 56,
                weight: Some(-3),
                count: 2,
                coins: "38627452617213".into(),
                port: "8080".into(),
            }
        );
        let sparse = row(r#"{"id":7,"weight":null,"count":null,"coins":null,"port":null}"#);
        assert_eq!(
            sparse.unwrap(),
            Row {
                id: 7,
                weight: None,
                count: 0,
                coins: "0".into(),
                port: String::new(),
            }
        );
        let missing = row(r#"{"id":"7","weight":"-1"}"#).unwrap();
        assert_eq!(
            (
                missing.weight,
                missing.count,
                missing.coins.as_str(),
                missing.port.as_str()
            ),
            (Some(-1), 0, "0", "")
        );
        for bad in [
            r#"{"id":"-1"}"#,
            r#"{"id":-1}"#,
            r#"{"id":"x"}"#,
            r#"{"id":1.5}"#,
            r#"{"id":"18446744073709551616"}"#,
            r#"{}"#,
            r#"{"id":1,"coins":true}"#,
            r#"{"id":1,"port":[]}"#,
        ] {
            assert!(row(bad).is_err(), "{bad}");
        }
    }
}
