//! Large answers written as compact JSON into one buffer, byte for byte what
//! `serde_json::to_vec` writes, faster.
//!
//! A stacking basket's simulate answer is thousands of tiny tokens: each unit share is an
//! object of three keys and an amount. serde_json writes every key and every string
//! through its general escaping routine and an `io::Write`, a few bytes per call, and in
//! the 10 × 10 stacking answer that was as much time as pricing the basket. Here a string
//! that needs no escaping (every key, every amount) is one scan and one copy, and writes
//! cannot fail. The output is serde_json's compact form: the same escapes (`\"`, `\\`,
//! `\b \f \n \r \t`, `\u00xx` for other control characters, nothing else), integers in
//! decimal, `null` for `None` and `()`, and floats handed to serde_json itself; the property
//! tests below hold the two writers to the same bytes.
//!
//! What JSON cannot hold is refused as serde_json refuses it: a map key that is not a
//! string, a number, a bool or a char, or a float key that is not finite. One thing is not
//! the same: serde_json's `RawValue` (the storefront's decimal numbers) is written raw only
//! by serde_json, which recognises it by a private name, so answers holding one are written
//! with serde_json.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Why a value could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

impl ser::Error for JsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JsonError(msg.to_string())
    }
}

/// `value` as compact JSON, into a buffer of `capacity` to start with.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Result<Vec<u8>, JsonError> {
    let mut w = Writer { out: Vec::with_capacity(capacity) };
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// A `Serializer`'s integer methods, each handing its value to `self.$write`.
macro_rules! integers {
    ($write:ident) => {
        integers!($write; serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
            serialize_u128: u128);
    };
    ($write:ident; $($method:ident: $t:ty),*) => {
        $(
            fn $method(self, v: $t) -> Result<(), JsonError> {
                self.$write(v)
            }
        )*
    };
}

/// For each byte, what it is written as inside a JSON string: 0 as itself, `u` as
/// `\u00xx`, any other as a backslash and that byte (serde_json's table).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether no byte of `bytes` needs escaping, eight bytes at a time: a key or an amount is
/// one or two words, where a byte-by-byte table walk was a fifth of writing an answer.
#[inline]
fn plain(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        if special(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])) {
            return false;
        }
    }
    let rest = words.remainder();
    let mut last = [b'a'; 8];
    last[..rest.len()].copy_from_slice(rest);
    !special(u64::from_le_bytes(last))
}

/// Whether a byte of the word is a control character, `"` or `\\`. The classic zero-byte
/// test `(x - 0x01…) & !x & 0x80…` can flag a byte above a true hit, never a word without
/// one, so "any" is exact; a byte of 0x80 or more has its high bit set in `x` and is never
/// flagged.
#[inline]
fn special(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let q = x ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let b = x ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b & HIGH;
    control | quote | backslash != 0
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    #[inline]
    fn string(&mut self, s: &str) {
        let bytes = s.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        if plain(bytes) {
            self.out.extend_from_slice(bytes);
        } else {
            self.escaped(bytes);
        }
        self.out.push(b'"');
    }

    #[cold]
    fn escaped(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let e = ESCAPE[b as usize];
            if e == 0 {
                continue;
            }
            self.out.extend_from_slice(&bytes[start..i]);
            if e == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
            } else {
                self.out.extend_from_slice(&[b'\\', e]);
            }
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
    }

    #[inline]
    fn int(&mut self, n: impl itoa::Integer) -> Result<(), JsonError> {
        self.out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        Ok(())
    }

    /// A float as serde_json writes it (`null` when not finite).
    fn float<F: Serialize>(&mut self, f: F) -> Result<(), JsonError> {
        serde_json::to_writer(&mut self.out, &f).map_err(|e| JsonError(e.to_string()))
    }
}

/// A sequence or map being written: whether the next element is the first.
pub struct Compound<'w> {
    w: &'w mut Writer,
    first: bool,
    /// Struct and map variants close an extra object.
    close_variant: bool,
}

impl Compound<'_> {
    #[inline]
    fn comma(&mut self) {
        if !std::mem::replace(&mut self.first, false) {
            self.w.out.push(b',');
        }
    }

    #[inline]
    fn close(self, bracket: u8) {
        self.w.out.push(bracket);
        if self.close_variant {
            self.w.out.push(b'}');
        }
    }
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(int);
    fn serialize_f32(self, v: f32) -> Result<(), JsonError> {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), JsonError> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), JsonError> {
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), JsonError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), JsonError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), JsonError> {
        self.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.out.push(b'{');
        self.string(variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w>, JsonError> {
        self.out.push(b'[');
        Ok(Compound { w: self, first: true, close_variant: false })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'w>, JsonError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w>, JsonError> {
        self.out.push(b'{');
        self.string(variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound { w: self, first: true, close_variant: true })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w>, JsonError> {
        self.out.push(b'{');
        Ok(Compound { w: self, first: true, close_variant: false })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'w>, JsonError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w>, JsonError> {
        self.out.push(b'{');
        self.string(variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound { w: self, first: true, close_variant: true })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = JsonError;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), JsonError> {
        self.close(b']');
        Ok(())
    }
}

/// Tuples of every kind are written as sequences.
macro_rules! as_seq {
    ($($tr:ident :: $method:ident),*) => {
        $(
            impl ser::$tr for Compound<'_> {
                type Ok = ();
                type Error = JsonError;
                fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
                    ser::SerializeSeq::serialize_element(self, value)
                }
                fn end(self) -> Result<(), JsonError> {
                    ser::SerializeSeq::end(self)
                }
            }
        )*
    };
}

as_seq!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
        self.comma();
        key.serialize(KeyWriter(&mut *self.w))?;
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), JsonError> {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = JsonError;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), JsonError> {
        self.comma();
        self.w.string(key);
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), JsonError> {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), JsonError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), JsonError> {
        ser::SerializeStruct::end(self)
    }
}

/// A map key: JSON keys are strings, so integers, bools and chars are written quoted, as
/// serde_json does, and anything else is refused.
struct KeyWriter<'w>(&'w mut Writer);

fn key_must_be_a_string() -> JsonError {
    JsonError("key must be a string".into())
}

impl KeyWriter<'_> {
    fn quoted(self, text: &str) -> Result<(), JsonError> {
        self.0.out.push(b'"');
        self.0.out.extend_from_slice(text.as_bytes());
        self.0.out.push(b'"');
        Ok(())
    }

    fn quoted_int(self, n: impl itoa::Integer) -> Result<(), JsonError> {
        self.quoted(itoa::Buffer::new().format(n))
    }

    fn float<F: Serialize>(self, finite: bool, f: F) -> Result<(), JsonError> {
        if !finite {
            return Err(JsonError("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.0.out.push(b'"');
        self.0.float(f)?;
        self.0.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = Impossible<(), JsonError>;
    type SerializeTuple = Impossible<(), JsonError>;
    type SerializeTupleStruct = Impossible<(), JsonError>;
    type SerializeTupleVariant = Impossible<(), JsonError>;
    type SerializeMap = Impossible<(), JsonError>;
    type SerializeStruct = Impossible<(), JsonError>;
    type SerializeStructVariant = Impossible<(), JsonError>;

    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        self.0.string(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        self.0.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.quoted(if v { "true" } else { "false" })
    }
    integers!(quoted_int);
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), JsonError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_f32(self, v: f32) -> Result<(), JsonError> {
        self.float(v.is_finite(), v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), JsonError> {
        self.float(v.is_finite(), v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, JsonError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn same<T: Serialize>(v: &T) {
        let theirs = serde_json::to_vec(v).expect("serde_json writes it");
        let ours = to_vec(v, 0).expect("we write it");
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            // Every control character, quotes, backslashes, DEL and beyond ASCII.
            "[\\x00-\\x7f\u{80}-\u{10ffff}\"\\\\]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[\\x00-\\x7f\u{80}-\u{ff}]{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn writes_what_serde_json_writes(v in json()) {
            same(&v);
        }

        #[test]
        fn finds_every_byte_that_needs_escaping(s in prop::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(plain(&s), s.iter().all(|&b| ESCAPE[b as usize] == 0));
        }

        #[test]
        fn writes_strings_as_serde_json_does(s in "\\PC{0,40}|[\\x00-\\x1f\"\\\\/\\x7f]{0,10}") {
            same(&s);
            same(&[s.as_str(), "x"]);
        }
    }

    #[derive(Serialize)]
    enum Kind {
        Unit,
        Newtype(u8),
        Tuple(i32, &'static str),
        Struct { a: Option<u32>, b: char },
    }

    #[derive(Serialize)]
    struct Shape<'a> {
        name: &'a str,
        #[serde(rename = "with \"quote\"")]
        quoted: (),
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        kinds: Vec<Kind>,
        bytes: &'a [u8],
        by_int: BTreeMap<i64, bool>,
        by_bool: BTreeMap<bool, i128>,
        by_char: BTreeMap<char, u128>,
        by_option: BTreeMap<Option<u8>, ()>,
        ratio: f32,
        nothing: Option<f64>,
    }

    #[test]
    fn writes_derived_structs_and_enums_as_serde_json_does() {
        same(&Shape {
            name: "a\tb\u{1}é",
            quoted: (),
            skipped: None,
            kinds: vec![Kind::Unit, Kind::Newtype(7), Kind::Tuple(-3, "t"), Kind::Struct { a: None, b: '"' }],
            bytes: &[0, 255],
            by_int: [(-1, true), (2, false)].into_iter().collect(),
            by_bool: [(true, -5), (false, i128::MIN)].into_iter().collect(),
            by_char: [('k', u128::MAX)].into_iter().collect(),
            by_option: [(Some(3), ())].into_iter().collect(),
            ratio: 0.1,
            nothing: Some(f64::NAN),
        });
        same(&Kind::Struct { a: Some(1), b: '\\' });
        same(&());
    }

    #[test]
    fn refuses_keys_json_cannot_hold() {
        let m: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(to_vec(&m, 0).is_err());
        assert!(serde_json::to_vec(&m).is_err());
        let m: BTreeMap<Option<u8>, u8> = [(None, 1)].into_iter().collect();
        assert!(to_vec(&m, 0).is_err());
        assert!(serde_json::to_vec(&m).is_err());
    }

    #[test]
    fn writes_float_keys_as_serde_json_does() {
        let finite: Vec<(f64, u8)> = vec![(1.5, 1), (-0.0, 2), (1e300, 3)];
        for (k, v) in finite {
            same(&std::collections::HashMap::from([(OrdF(k), v)]));
        }
        let nan = std::collections::HashMap::from([(OrdF(f64::NAN), 1)]);
        assert!(to_vec(&nan, 0).is_err());
        assert!(serde_json::to_vec(&nan).is_err());
    }

    /// A float map key (a `HashMap` needs `Eq + Hash`, which `f64` lacks).
    #[derive(PartialEq)]
    struct OrdF(f64);
    impl Eq for OrdF {}
    impl std::hash::Hash for OrdF {
        fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
            self.0.to_bits().hash(h)
        }
    }
    impl Serialize for OrdF {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_f64(self.0)
        }
    }
}
