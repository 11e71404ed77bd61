//! Order and order-item status codes, as Akinon numbers them.
//!
//! The ledger stores the numeric code; every dialect renders it its own way (Omnitron as a
//! string code plus `status_display`, OMS as a `state` object with translations). Keeping the
//! table here means the code, its snake-case name and its translations cannot drift apart.

use std::fmt;

/// One Akinon order status. Only the codes of the table ([`OrderStatus::all`]) can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderStatus(u16);

struct Entry {
    code: u16,
    name: &'static str,
    en: &'static str,
    tr: &'static str,
}

const TABLE: &[Entry] = &[
    Entry { code: 50, name: "cancellation_waiting", en: "Cancellation Waiting", tr: "İptal Bekliyor" },
    Entry { code: 100, name: "cancelled", en: "Cancelled", tr: "İptal Edildi" },
    Entry { code: 200, name: "waiting", en: "Waiting", tr: "Bekliyor" },
    Entry { code: 300, name: "payment_waiting", en: "Payment Waiting", tr: "Ödeme Bekleniyor" },
    Entry { code: 350, name: "confirmation_waiting", en: "Confirmation Waiting", tr: "Onay Bekleniyor" },
    Entry { code: 400, name: "approved", en: "Approved", tr: "Onaylandı" },
    Entry { code: 450, name: "preparing", en: "Preparing", tr: "Hazırlanıyor" },
    Entry { code: 500, name: "shipped", en: "Shipped", tr: "Kargolandı" },
    Entry { code: 510, name: "shipped_and_informed", en: "Shipped and Informed", tr: "Kargolandı ve Bilgilendirildi" },
    Entry { code: 520, name: "ready_for_pickup", en: "Ready for Pickup", tr: "Teslim Alınmaya Hazır" },
    Entry { code: 540, name: "attempted_delivery", en: "Attempted Delivery", tr: "Teslimat Denendi" },
    Entry { code: 544, name: "review_started", en: "Review Started", tr: "İnceleme Başladı" },
    Entry { code: 545, name: "review_waiting", en: "Review Waiting", tr: "İnceleme Bekliyor" },
    Entry { code: 546, name: "waiting_for_payment", en: "Waiting for Payment", tr: "Ödeme Bekleniyor" },
    Entry { code: 547, name: "paid", en: "Paid", tr: "Ödendi" },
    Entry { code: 550, name: "delivered", en: "Delivered", tr: "Teslim Edildi" },
    Entry { code: 600, name: "refunded", en: "Refunded", tr: "İade Edildi" },
];

/// A status code that is not in the Akinon table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a valid choice.")]
pub struct UnknownStatus(pub String);

impl OrderStatus {
    pub const CANCELLATION_WAITING: Self = Self(50);
    pub const CANCELLED: Self = Self(100);
    pub const WAITING: Self = Self(200);
    pub const APPROVED: Self = Self(400);
    pub const PREPARING: Self = Self(450);
    pub const SHIPPED: Self = Self(500);
    pub const DELIVERED: Self = Self(550);
    pub const REFUNDED: Self = Self(600);

    /// Every status, in code order (the order OMS assigns state ids in).
    pub fn all() -> impl Iterator<Item = OrderStatus> {
        TABLE.iter().map(|e| OrderStatus(e.code))
    }

    pub fn from_code(code: i64) -> Result<Self, UnknownStatus> {
        TABLE
            .iter()
            .find(|e| i64::from(e.code) == code)
            .map(|e| OrderStatus(e.code))
            .ok_or_else(|| UnknownStatus(code.to_string()))
    }

    pub fn parse(s: &str) -> Result<Self, UnknownStatus> {
        let code: i64 = s.trim().parse().map_err(|_| UnknownStatus(s.to_owned()))?;
        Self::from_code(code)
    }

    fn entry(self) -> &'static Entry {
        TABLE.iter().find(|e| e.code == self.0).expect("constructed from the table")
    }

    pub fn code(self) -> u16 {
        self.0
    }
    /// The snake-case name Omnitron shows as `status_display`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }
    pub fn label_en(self) -> &'static str {
        self.entry().en
    }
    pub fn label_tr(self) -> &'static str {
        self.entry().tr
    }
    /// 1-based position in the table: the stable id OMS gives the `state` object.
    pub fn state_id(self) -> i64 {
        TABLE.iter().position(|e| e.code == self.0).expect("in table") as i64 + 1
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for s in OrderStatus::all() {
            assert_eq!(OrderStatus::parse(&s.to_string()).unwrap(), s);
        }
        assert_eq!(OrderStatus::APPROVED.name(), "approved");
        assert_eq!(OrderStatus::PREPARING.label_tr(), "Hazırlanıyor");
        assert!(OrderStatus::parse("401").is_err());
        assert!(OrderStatus::parse("abc").is_err());
    }
}
