//! Payment event v1 as the fast path reads it: the schema's rules, checked while parsing with serde.
//!
//! Every rule is the Python codec's (schemas/events.py, schemas/json_shape.py) or stricter. The
//! parse takes objects only (serde's derive would also take arrays), refuses a repeated member name
//! at any depth and nesting deeper than [`MAX_DEPTH`], borrows strings that have no escapes and
//! reads fields it does not know only to check those two rules, as the codec does.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::timestamp::is_rfc3339;

/// A JSON string, borrowed from the input when it has no escapes.
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// `amount`: a decimal string, or a JSON number of a plain size.
struct Amount;

fn is_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                if is_decimal(v) {
                    Ok(Amount)
                } else {
                    Err(E::custom("not a decimal"))
                }
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Amount, E> {
                Ok(Amount)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                if i64::try_from(v).is_ok() {
                    Ok(Amount)
                } else {
                    Err(E::custom("integer too large"))
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                // Integers too large for 64 bits arrive here too: leave every large number to Python.
                if v.is_finite() && v.abs() < 1e15 {
                    Ok(Amount)
                } else {
                    Err(E::custom("number too large"))
                }
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

/// The deepest nesting an event may have (`schemas.json_shape.MAX_DEPTH`): the event object is
/// level 1 and each object or array inside one adds a level. serde_json's own limit is 128.
pub const MAX_DEPTH: usize = 64;

/// Levels of the objects this parse reads field by field.
const EVENT_DEPTH: usize = 1;
const PARTY_DEPTH: usize = 2;
const INNER_DEPTH: usize = 3; // an agent or an address object

/// How many member names of one object are compared one by one before a hash set takes over.
const FEW_NAMES: usize = 8;

/// The member names of one object seen so far: a repeated one is refused (I-JSON, RFC 7493).
struct MemberNames<'de> {
    few: [Cow<'de, str>; FEW_NAMES],
    len: usize,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> MemberNames<'de> {
    fn new() -> Self {
        MemberNames {
            few: [const { Cow::Borrowed("") }; FEW_NAMES],
            len: 0,
            many: None,
        }
    }

    /// Records `name`; an error when the object already has a member of that name.
    fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let fresh = if let Some(many) = &mut self.many {
            many.insert(name)
        } else if self.few[..self.len].contains(&name) {
            false
        } else if self.len < FEW_NAMES {
            self.few[self.len] = name;
            self.len += 1;
            true
        } else {
            let mut many: HashSet<Cow<'de, str>> = self.few.iter().cloned().collect();
            let fresh = many.insert(name);
            self.many = Some(many);
            fresh
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom("a member name is repeated"))
        }
    }
}

/// Any JSON value, read only to check it: no repeated member name in its objects, and no object or
/// array deeper than [`MAX_DEPTH`]. `depth` is the level the value has if it is an object or array.
#[derive(Clone, Copy)]
struct Checked {
    depth: usize,
}

impl Checked {
    fn enter<E: de::Error>(self) -> Result<Checked, E> {
        if self.depth > MAX_DEPTH {
            return Err(E::custom("nested too deep"));
        }
        Ok(Checked {
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        let mut names = MemberNames::new();
        while let Some(key) = map.next_key::<Text>()? {
            names.insert(key.0)?;
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// `address`: a string or an object (its content is only checked, as [`Checked`] does).
struct Address;

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AddressVisitor;
        impl<'de> Visitor<'de> for AddressVisitor {
            type Value = Address;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an object")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Address, E> {
                Ok(Address)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Address, A::Error> {
                Checked { depth: INNER_DEPTH }.visit_map(map)?;
                Ok(Address)
            }
        }
        deserializer.deserialize_any(AddressVisitor)
    }
}

/// The members of each object of an event that the parse reads by name, as declared by the
/// schema's properties and the Python structs (`schemas/events.py`): a test in each language keeps
/// them in step (`matchers._native.FIELDS` in Python; `the_catalogue_is_what_the_parse_reads` here).
pub const EVENT_FIELDS: [&str; 7] = [
    "id",
    "created_at",
    "amount",
    "currency",
    "debtor",
    "creditor",
    "remittance",
];
/// See [`EVENT_FIELDS`]: the members of a debtor or creditor.
pub const PARTY_FIELDS: [&str; 5] = ["name", "account", "address", "country", "agent"];
/// See [`EVENT_FIELDS`]: the members of a party's agent.
pub const AGENT_FIELDS: [&str; 2] = ["bic", "name"];

/// Fills a field once: a repeated field is refused (the full path dead-letters the event).
fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

pub struct Agent<'a> {
    pub name: Option<Text<'a>>,
}

impl<'de> Deserialize<'de> for Agent<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AgentVisitor;
        impl<'de> Visitor<'de> for AgentVisitor {
            type Value = Agent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an agent object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Agent<'de>, A::Error> {
                let (mut bic, mut name): (Option<Option<Text>>, Option<Option<Text>>) =
                    (None, None);
                let mut others = MemberNames::new();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_ref() {
                        "bic" => set_once(&mut bic, map.next_value()?, "bic")?,
                        "name" => set_once(&mut name, map.next_value()?, "name")?,
                        _ => {
                            others.insert(key.0)?;
                            map.next_value_seed(Checked {
                                depth: INNER_DEPTH + 1,
                            })?;
                        }
                    }
                }
                Ok(Agent {
                    name: name.flatten(),
                })
            }
        }
        deserializer.deserialize_map(AgentVisitor)
    }
}

pub struct Party<'a> {
    pub name: Text<'a>,
    pub country: Option<Text<'a>>,
    pub agent: Option<Agent<'a>>,
}

impl<'de> Deserialize<'de> for Party<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PartyVisitor;
        impl<'de> Visitor<'de> for PartyVisitor {
            type Value = Party<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a party object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Party<'de>, A::Error> {
                let mut name: Option<Text> = None;
                let mut account: Option<Option<Text>> = None;
                let mut address: Option<Option<Address>> = None;
                let mut country: Option<Option<Text>> = None;
                let mut agent: Option<Option<Agent>> = None;
                let mut others = MemberNames::new();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_ref() {
                        "name" => set_once(&mut name, map.next_value()?, "name")?,
                        "account" => set_once(&mut account, map.next_value()?, "account")?,
                        "address" => set_once(&mut address, map.next_value()?, "address")?,
                        "country" => set_once(&mut country, map.next_value()?, "country")?,
                        "agent" => set_once(&mut agent, map.next_value()?, "agent")?,
                        _ => {
                            others.insert(key.0)?;
                            map.next_value_seed(Checked {
                                depth: PARTY_DEPTH + 1,
                            })?;
                        }
                    }
                }
                let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
                Ok(Party {
                    name,
                    country: country.flatten(),
                    agent: agent.flatten(),
                })
            }
        }
        deserializer.deserialize_map(PartyVisitor)
    }
}

pub struct Event<'a> {
    pub id: Text<'a>,
    pub created_at: Text<'a>,
    pub currency: Text<'a>,
    pub debtor: Party<'a>,
    pub creditor: Party<'a>,
    pub remittance: Option<Text<'a>>,
}

impl<'de> Deserialize<'de> for Event<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl<'de> Visitor<'de> for EventVisitor {
            type Value = Event<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a payment event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
                let (mut id, mut created_at, mut currency): (
                    Option<Text>,
                    Option<Text>,
                    Option<Text>,
                ) = (None, None, None);
                let mut amount: Option<Amount> = None;
                let (mut debtor, mut creditor): (Option<Party>, Option<Party>) = (None, None);
                let mut remittance: Option<Option<Text>> = None;
                let mut others = MemberNames::new();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_ref() {
                        "id" => set_once(&mut id, map.next_value()?, "id")?,
                        "created_at" => set_once(&mut created_at, map.next_value()?, "created_at")?,
                        "amount" => set_once(&mut amount, map.next_value()?, "amount")?,
                        "currency" => set_once(&mut currency, map.next_value()?, "currency")?,
                        "debtor" => set_once(&mut debtor, map.next_value()?, "debtor")?,
                        "creditor" => set_once(&mut creditor, map.next_value()?, "creditor")?,
                        "remittance" => set_once(&mut remittance, map.next_value()?, "remittance")?,
                        _ => {
                            others.insert(key.0)?;
                            map.next_value_seed(Checked {
                                depth: EVENT_DEPTH + 1,
                            })?;
                        }
                    }
                }
                amount.ok_or_else(|| de::Error::missing_field("amount"))?;
                Ok(Event {
                    id: id.ok_or_else(|| de::Error::missing_field("id"))?,
                    created_at: created_at.ok_or_else(|| de::Error::missing_field("created_at"))?,
                    currency: currency.ok_or_else(|| de::Error::missing_field("currency"))?,
                    debtor: debtor.ok_or_else(|| de::Error::missing_field("debtor"))?,
                    creditor: creditor.ok_or_else(|| de::Error::missing_field("creditor"))?,
                    remittance: remittance.flatten(),
                })
            }
        }
        deserializer.deserialize_map(EventVisitor)
    }
}

/// Parses one raw event; `None` when it is not a valid payment event by the rules above.
pub fn parse_valid<'a>(raw: &'a [u8], countries: &HashSet<String>) -> Option<Event<'a>> {
    // Validated once here, so that the parse does not validate each string again.
    let text = std::str::from_utf8(raw).ok()?;
    let event: Event = serde_json::from_str(text).ok()?;
    let id_chars = event.id.0.chars().count();
    if !(1..=128).contains(&id_chars) || !is_rfc3339(&event.created_at.0) {
        return None;
    }
    let currency = event.currency.0.as_bytes();
    if currency.len() != 3 || !currency.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    for party in [&event.debtor, &event.creditor] {
        // Not blank: at least one letter or digit (stricter than "not only whitespace").
        if !party.name.0.chars().any(char::is_alphanumeric) {
            return None;
        }
        if let Some(country) = &party.country {
            if !countries.contains(country.0.as_ref()) {
                return None;
            }
        }
    }
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn countries() -> HashSet<String> {
        ["DE", "US"].iter().map(|c| (*c).to_owned()).collect()
    }

    const GOOD: &str = r#"{"id":"p1","created_at":"2020-10-01T12:00:00Z","amount":"12.50","currency":"EUR",
        "debtor":{"name":"Ann","country":"DE","agent":{"bic":"X","name":"Bank"}},
        "creditor":{"name":"Bob","address":{"city":"Oslo"}},"remittance":null,"extra":[1,{"a":2}]}"#;

    #[test]
    fn a_valid_event_parses_with_its_texts() {
        let event = parse_valid(GOOD.as_bytes(), &countries()).expect("valid");
        assert_eq!(event.debtor.name.0, "Ann");
        assert_eq!(
            event
                .debtor
                .agent
                .and_then(|a| a.name)
                .map(|n| n.0.into_owned()),
            Some("Bank".into())
        );
        assert!(event.remittance.is_none());
    }

    #[test]
    fn anything_off_the_schema_is_refused() {
        for (from, to) in [
            (r#""amount":"12.50""#, r#""amount":"12.5x""#),
            (r#""amount":"12.50""#, r#""amount":1e300"#),
            (r#""currency":"EUR""#, r#""currency":"eur""#),
            (r#""name":"Ann""#, r#""name":"  ""#),
            (r#""country":"DE""#, r#""country":"XX""#),
            (r#""remittance":null"#, r#""remittance":null,"id":"again""#),
            (
                r#""debtor":{"name":"Ann","#,
                r#""debtor":["Ann"],"x":{"name":"Ann","#,
            ),
            (r#""address":{"city":"Oslo"}"#, r#""address":[1]"#),
            (r#""id":"p1""#, r#""id":"""#),
        ] {
            let raw = GOOD.replacen(from, to, 1);
            assert_ne!(raw, GOOD, "{from}");
            assert!(parse_valid(raw.as_bytes(), &countries()).is_none(), "{to}");
        }
        assert!(parse_valid(b"[1]", &countries()).is_none());
        assert!(parse_valid(format!("{GOOD} x").as_bytes(), &countries()).is_none());
    }
    #[test]
    fn a_repeated_member_name_at_any_depth_is_refused() {
        for (from, to) in [
            (r#""remittance":null"#, r#""remittance":null,"x":1,"x":2"#),
            (r#""name":"Ann""#, r#""name":"Ann","x":1,"x":2"#),
            (r#""bic":"X""#, r#""bic":"X","x":1,"x":2"#),
            (r#""city":"Oslo""#, r#""city":"Oslo","city":"Bergen""#),
            (r#"{"a":2}"#, r#"{"a":2,"a":3}"#),
            (r#"{"a":2}"#, r#"{"a":{"b":[{"c":1,"c":1}]}}"#),
            (r#""extra":[1"#, r#""extra":[1,{"a":1,"a":2}"#),
        ] {
            let raw = GOOD.replacen(from, to, 1);
            assert_ne!(raw, GOOD, "{from}");
            assert!(parse_valid(raw.as_bytes(), &countries()).is_none(), "{to}");
        }
        let many: String = (0..40).map(|i| format!(r#""k{i}":{i},"#)).collect();
        let raw = GOOD.replacen(r#""a":2"#, &format!(r#"{many}"a":2"#), 1);
        assert!(parse_valid(raw.as_bytes(), &countries()).is_some());
        let raw = GOOD.replacen(r#""a":2"#, &format!(r#"{many}"k39":2"#), 1);
        assert!(parse_valid(raw.as_bytes(), &countries()).is_none());
    }

    #[test]
    fn the_catalogue_is_what_the_parse_reads() {
        // A catalogued member holding an array is refused (none of them may be one); an unknown
        // member holding one is skipped. So each catalogued name is read by the parse.
        let good: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        let parses = |value: &serde_json::Value| {
            parse_valid(value.to_string().as_bytes(), &countries()).is_some()
        };
        assert!(parses(&good));
        let objects: [(&[&str], &[&str]); 3] = [
            (&[], &EVENT_FIELDS),
            (&["debtor"], &PARTY_FIELDS),
            (&["debtor", "agent"], &AGENT_FIELDS),
        ];
        for (path, names) in objects {
            for name in names.iter().chain(&["not_in_the_catalogue"]) {
                let mut event = good.clone();
                let mut object = &mut event;
                for step in path {
                    object = &mut object[*step];
                }
                object[*name] = serde_json::json!([]);
                assert_eq!(parses(&event), !names.contains(name), "{path:?} {name}");
            }
        }
    }

    /// GOOD with an extra field nesting `levels` arrays, so that the event is `levels + 1` deep.
    fn nested(levels: usize, address: bool) -> String {
        let inner = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        if address {
            GOOD.replacen(r#""city":"Oslo""#, &format!(r#""city":{inner}"#), 1)
        } else {
            GOOD.replacen(r#""extra":[1,{"a":2}]"#, &format!(r#""extra":{inner}"#), 1)
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        assert!(parse_valid(nested(MAX_DEPTH - 1, false).as_bytes(), &countries()).is_some());
        assert!(parse_valid(nested(MAX_DEPTH, false).as_bytes(), &countries()).is_none());
        assert!(parse_valid(nested(100_000, false).as_bytes(), &countries()).is_none());
        // The address object is level 3, so its member may hold 61 more levels.
        assert!(parse_valid(nested(MAX_DEPTH - 3, true).as_bytes(), &countries()).is_some());
        assert!(parse_valid(nested(MAX_DEPTH - 2, true).as_bytes(), &countries()).is_none());
    }
}
