//! An event as far as a visit needs it, decoded from its stored bytes without the rest and its
//! strings borrowed from them: the build reads the whole log so, the follower each changed
//! customer's run of events, and the live report the newest end of the log. It reads as a [`Hit`] through [`Fields`], as a stored
//! `EventRecord`'s JSON does, so both are read by the one `Hit::read`.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::store::records::EventKind;
use crate::store::{self, ReadTx};
use crate::traffic::Hit;
use crate::traffic::visit::{Fields, makes_visits};

/// An event as far as a visit needs it, its strings borrowed from the stored bytes.
#[derive(Deserialize)]
pub struct Slim<'a> {
    pub kind: EventKind,
    pub customer: u64,
    #[serde(default, borrow)]
    pub event: Option<&'a str>,
    pub timestamp: i64,
    /// When the server stored it (the live report's "now" is either time).
    #[serde(default)]
    pub received_at: i64,
    #[serde(default, borrow)]
    properties: Loose<SlimProps<'a>>,
    #[serde(default, borrow)]
    context: Loose<SlimContext<'a>>,
}

#[derive(Deserialize, Default)]
struct SlimProps<'a> {
    #[serde(borrow)]
    url: Option<Scalar<'a>>,
    #[serde(borrow)]
    path: Option<Scalar<'a>>,
    #[serde(borrow)]
    referrer: Option<Scalar<'a>>,
    #[serde(borrow)]
    order_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    product_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    #[serde(borrow)]
    sku: Option<Scalar<'a>>,
    #[serde(borrow)]
    total: Option<Scalar<'a>>,
    #[serde(borrow)]
    revenue: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
struct SlimContext<'a> {
    #[serde(default, borrow)]
    page: Loose<SlimPage<'a>>,
    #[serde(default, borrow)]
    campaign: Loose<SlimCampaign<'a>>,
    #[serde(rename = "userAgent", borrow)]
    user_agent: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
struct SlimPage<'a> {
    #[serde(borrow)]
    url: Option<Scalar<'a>>,
    #[serde(borrow)]
    path: Option<Scalar<'a>>,
    #[serde(borrow)]
    referrer: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
struct SlimCampaign<'a> {
    #[serde(borrow)]
    source: Option<Scalar<'a>>,
    #[serde(borrow)]
    medium: Option<Scalar<'a>>,
    #[serde(borrow)]
    name: Option<Scalar<'a>>,
}

/// A field's value as a hit reads it: a string, a number, or something it does not read.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Text(&'a str),
    Number(f64),
    Other,
}

impl<'a> Scalar<'a> {
    fn text(v: Option<Self>) -> Option<&'a str> {
        match v {
            Some(Scalar::Text(s)) => Some(s),
            _ => None,
        }
    }

    fn number(v: Option<Self>) -> Option<f64> {
        match v {
            Some(Scalar::Number(n)) => Some(n),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(v))
            }

            // MessagePack read from a slice always lends its strings.
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Err(E::custom("a string not borrowed from the record"))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(v as f64))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(v as f64))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(v))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }

            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A map read as `T`; anything else (null, a string, a list) as nothing, as the JSON reading of
/// a stored event passes over an object that is not one.
struct Loose<T>(Option<T>);

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Loose<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Loose(Some(t)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'a> Fields<'a> for Slim<'a> {
    fn property(&self, key: &str) -> Option<&'a str> {
        Scalar::text(self.property_value(key))
    }

    fn property_number(&self, key: &str) -> Option<f64> {
        Scalar::number(self.property_value(key))
    }

    fn page(&self, key: &str) -> Option<&'a str> {
        let page = self.context.0.as_ref()?.page.0.as_ref()?;
        Scalar::text(match key {
            "url" => page.url,
            "path" => page.path,
            "referrer" => page.referrer,
            _ => None,
        })
    }

    fn campaign(&self, key: &str) -> Option<&'a str> {
        let c = self.context.0.as_ref()?.campaign.0.as_ref()?;
        Scalar::text(match key {
            "source" => c.source,
            "medium" => c.medium,
            "name" => c.name,
            _ => None,
        })
    }

    fn user_agent(&self) -> Option<&'a str> {
        Scalar::text(self.context.0.as_ref()?.user_agent)
    }
}

impl<'a> Slim<'a> {
    pub fn read(seq: u64, bytes: &'a [u8]) -> Result<Slim<'a>, store::Error> {
        ReadTx::decode_event(seq, bytes)
    }

    /// The event as a hit, if it is part of a visit.
    pub fn hit(&self, seq: u64) -> Option<Hit<'a>> {
        makes_visits(self.kind, self.event).then(|| {
            let mut hit = self.any_hit();
            hit.seq = seq;
            hit
        })
    }

    /// The event read as a hit whether or not it is part of a visit.
    pub fn any_hit(&self) -> Hit<'a> {
        Hit::read(self.kind, self.event, self.timestamp, self)
    }

    fn property_value(&self, key: &str) -> Option<Scalar<'a>> {
        let p = self.properties.0.as_ref()?;
        match key {
            "url" => p.url,
            "path" => p.path,
            "referrer" => p.referrer,
            "order_id" => p.order_id,
            "product_id" => p.product_id,
            "id" => p.id,
            "sku" => p.sku,
            "total" => p.total,
            "revenue" => p.revenue,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::EventRecord;

    fn stored(v: serde_json::Value) -> EventRecord {
        serde_json::from_value(v).unwrap()
    }

    /// What a hit holds, to compare.
    fn seen(h: &Hit) -> String {
        format!("{h:?}")
    }

    #[test]
    fn an_event_read_slim_is_the_hit_its_json_is() {
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 KAKAOTALK 10.4.5";
        let events = [
            serde_json::json!({
                "kind": "page", "customer": 7, "message_id": "m1", "timestamp": 5, "received_at": 6,
                "name": "Home", "anonymous_id": "a",
                "properties": {"url": " https://shop.example/p/1?utm_source=x ", "referrer": "https://m.blog.naver.com/a/1",
                               "title": "홈", "path": ""},
                "context": {"userAgent": ua, "ip": "1.2.3.4", "library": {"name": "x", "version": "1"},
                            "campaign": {"source": "naver_blog", "medium": "social", "name": "spring", "term": "t"},
                            "page": {"path": "/ignored", "url": "https://shop.example/ignored"}}
            }),
            serde_json::json!({
                "kind": "track", "customer": 7, "message_id": "m2", "timestamp": 9, "received_at": 9,
                "event": "Order Completed",
                "properties": {"order_id": 12, "total": "12000", "revenue": 3, "products": [{"product_id": "P1"}]},
                "context": {"page": {"url": "https://shop.example/order/done"}, "campaign": "not a map"}
            }),
            serde_json::json!({
                "kind": "track", "customer": 7, "message_id": "m3", "timestamp": 10, "received_at": 10,
                "event": "Order Completed", "properties": {"order_id": "o-3", "revenue": 4500.5, "sku": "S1"},
                "context": {"userAgent": 42, "page": ["not", "a", "map"]}
            }),
            serde_json::json!({
                "kind": "track", "customer": 7, "message_id": "m4", "timestamp": 11, "received_at": 11,
                "event": "Product Viewed", "properties": {"product_id": " ", "id": "P9", "url": "https://x.example/"},
            }),
            serde_json::json!({
                "kind": "screen", "customer": 7, "message_id": "m5", "timestamp": 12, "received_at": 12,
                "properties": null, "context": null
            }),
        ];
        for v in events {
            let e = stored(v);
            let bytes = crate::store::codec::encode(&e);
            let got = Slim::read(1, &bytes).unwrap().hit(1).unwrap();
            let mut want = Hit::of(&e);
            want.seq = 1;
            assert_eq!(seen(&got), seen(&want), "{e:?}");
        }
    }
}
