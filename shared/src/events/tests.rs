//! Each mapping from item images built with the store's own item structs and keys.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::{Code, Mobile};
use crate::model::{CodeKind, Coupon, Customer, EntryKind, LedgerEntry};
use crate::program::{default_program, ProgramVersion};
use crate::store::item_key::{ItemKey, LedgerCursor};
use crate::store::items::encode;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z").unwrap().to_utc()
}

fn tenant() -> TenantSlug {
    TenantSlug::parse("acme").unwrap()
}

fn image<T: StoredItem>(key: &ItemKey, item: &T) -> serde_dynamo::Item {
    encode(key, item).unwrap().into()
}

fn record(change: Change, key: &ItemKey, old: serde_dynamo::Item, new: serde_dynamo::Item) -> Record {
    Record { change, keys: key.attrs().into(), old_image: old, new_image: new }
}

fn none() -> serde_dynamo::Item {
    serde_dynamo::Item::from(std::collections::HashMap::<String, serde_dynamo::AttributeValue>::new())
}

fn entry(member: CustomerId, kind: EntryKind, points: i64, balance_after: i64) -> LedgerEntry {
    LedgerEntry {
        txn_id: uuid::Uuid::new_v4(),
        customer_id: member,
        kind,
        points,
        lifetime_points: points.max(0),
        amount_minor: Some(50_000),
        reference: Some("bill-1".into()),
        description: None,
        balance_after,
        created_at: now(),
        sold_at: None,
    }
}

fn entry_record(member: CustomerId, version: u64, place: usize, e: &LedgerEntry) -> Record {
    let key = ItemKey::ledger_entry(&tenant(), &member, LedgerCursor { version, place });
    record(Change::Insert, &key, none(), image(&key, &LedgerEntryItem::from(e)))
}

fn member(lifetime: i64, version: u64) -> Customer {
    let mut c =
        Customer::new(CustomerId::new_random(), "Asha".into(), Some(Mobile::parse("9876543210").unwrap()), None, now());
    c.lifetime_points = lifetime;
    c.points_balance = lifetime;
    c.version = version;
    c
}

fn programs() -> ProgramVersions {
    ProgramVersions::new(vec![ProgramVersion { effective_from: None, rules: Arc::new(default_program("Acme")) }])
        .unwrap()
}

#[test]
fn each_ledger_entry_type_makes_its_points_event() {
    let id = CustomerId::new_random();
    for (kind, points, expected) in [
        (EntryKind::Earn, 120, "points.earned"),
        (EntryKind::Redeem, -50, "points.redeemed"),
        (EntryKind::Coupon, -50, "points.redeemed"),
        (EntryKind::Refund, -30, "points.refunded"),
        (EntryKind::Adjustment, 10, "points.adjusted"),
        (EntryKind::Expire, -40, "points.expired"),
    ] {
        let e = entry(id, kind, points, 500);
        let events = events_of(&entry_record(id, 4, 0, &e), None).unwrap();
        assert_eq!(events.len(), 1, "{kind:?}");
        let ev = &events[0];
        assert_eq!(ev.r#type, expected);
        assert_eq!(ev.tenant, "acme");
        assert_eq!(ev.timestamp, now());
        assert_eq!(ev.data["member_id"], id.to_string());
        assert_eq!(ev.data["points"], points);
        assert_eq!(ev.data["balance_after"], 500);
        assert_eq!(ev.data["reference"], "bill-1");
        assert_eq!(ev.data["entry_id"], e.txn_id.to_string());
        assert!(ev.id.starts_with("evt_") && ev.id.len() == 4 + 64);
    }
}

#[test]
fn one_change_shares_its_transaction_id_and_a_record_read_twice_has_one_id() {
    let id = CustomerId::new_random();
    let spend = entry_record(id, 9, 0, &entry(id, EntryKind::Redeem, -100, 400));
    let earn = entry_record(id, 9, 1, &entry(id, EntryKind::Earn, 60, 460));
    let next = entry_record(id, 10, 0, &entry(id, EntryKind::Earn, 60, 520));
    let [spend, earn, next] = [spend, earn, next].map(|r| events_of(&r, None).unwrap().remove(0));
    assert_eq!(spend.transaction_id, earn.transaction_id, "a bill's spending and earning");
    assert_ne!(earn.transaction_id, next.transaction_id);
    assert_ne!(spend.id, earn.id);
    let again = events_of(&entry_record(id, 9, 1, &entry(id, EntryKind::Earn, 60, 460)), None).unwrap().remove(0);
    assert_eq!(again.id, earn.id, "the id is the item's key and version, not its content's randomness");
}

#[test]
fn an_enrolment_makes_member_enrolled_and_profile_updates_without_a_new_tier_make_none() {
    let c = member(0, 1);
    let key = ItemKey::profile(&tenant(), &c.id);
    let created = image(&key, &ProfileItem::new(&tenant(), &c, now()));
    let events = events_of(&record(Change::Insert, &key, none(), created.clone()), None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].r#type, "member.enrolled");
    assert_eq!(events[0].data["member_id"], c.id.to_string());
    assert_eq!(events[0].data["mobile"], "9876543210");
    // A first bill: its entry and the profile's version share the transaction.
    let earned = entry_record(c.id, 1, 0, &entry(c.id, EntryKind::Earn, 10, 10));
    assert_eq!(events_of(&earned, None).unwrap()[0].transaction_id, events[0].transaction_id);

    let mut richer = member(1_000, 2);
    richer.id = c.id;
    let modified = record(Change::Modify, &key, created, image(&key, &ProfileItem::new(&tenant(), &richer, now())));
    assert!(needs_program(&modified));
    assert!(events_of(&modified, Some(&programs())).unwrap().is_empty(), "Silver stays Silver");
}

#[test]
fn crossing_a_threshold_makes_member_tier_changed_both_ways() {
    let before = member(249_000, 5);
    let mut after = member(251_000, 6);
    after.id = before.id;
    let key = ItemKey::profile(&tenant(), &before.id);
    let old = image(&key, &ProfileItem::new(&tenant(), &before, now()));
    let new = image(&key, &ProfileItem::new(&tenant(), &after, now()));
    let up = record(Change::Modify, &key, old.clone(), new.clone());
    assert!(events_of(&up, None).unwrap().is_empty(), "without the program the tier is unknown");
    let events = events_of(&up, Some(&programs())).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].r#type, "member.tier_changed");
    assert_eq!(events[0].data["from_tier"], "Silver");
    assert_eq!(events[0].data["to_tier"], "Gold");
    assert_eq!(events[0].data["upgraded"], true);
    let down = events_of(&record(Change::Modify, &key, new, old), Some(&programs())).unwrap();
    assert_eq!(down[0].data["upgraded"], false, "a refund takes lifetime points back");
}

fn coupon(used: bool) -> Coupon {
    Coupon {
        coupon_id: uuid::Uuid::new_v4(),
        code: Code::parse("VOUCH-ABC123").unwrap(),
        customer_id: Some(CustomerId::new_random()),
        kind: CodeKind::Fixed,
        value_minor: 10_000,
        discount_percent: None,
        source: "reward".into(),
        reward_id: Some("r1".into()),
        reward_name: Some("Coffee".into()),
        status: if used { CodeStatus::Used } else { CodeStatus::Active },
        expires_at: now() + Duration::days(30),
        expiry_date: (now() + Duration::days(30)).date_naive(),
        created_at: now(),
        used_at: used.then(|| now() + Duration::hours(1)),
    }
}

#[test]
fn a_code_makes_voucher_issued_then_coupon_redeemed_once() {
    let t = tenant();
    let issued = coupon(false);
    let mut used = coupon(true);
    used.coupon_id = issued.coupon_id;
    used.customer_id = issued.customer_id;
    let key = ItemKey::code(&t, &issued.code);
    let old = image(&key, &CodeItem::new(&t, &issued));
    let new = image(&key, &CodeItem::new(&t, &used));
    let events = events_of(&record(Change::Insert, &key, none(), old.clone()), None).unwrap();
    assert_eq!(events[0].r#type, "voucher.issued");
    assert_eq!(events[0].data["code"], "VOUCH-ABC123");
    assert_eq!(events[0].data["reward_id"], "r1");
    let redeemed = events_of(&record(Change::Modify, &key, old, new.clone()), None).unwrap();
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0].r#type, "coupon.redeemed");
    assert_eq!(redeemed[0].timestamp, now() + Duration::hours(1));
    assert_ne!(redeemed[0].id, events[0].id);
    assert!(events_of(&record(Change::Modify, &key, new.clone(), new), None).unwrap().is_empty());
}

#[test]
fn other_items_and_removals_make_none() {
    let t = tenant();
    let c = member(0, 1);
    let key = ItemKey::profile(&t, &c.id);
    let profile = image(&key, &ProfileItem::new(&tenant(), &c, now()));
    assert!(events_of(&record(Change::Remove, &key, profile.clone(), none()), None).unwrap().is_empty());
    for other in [
        ItemKey::program(&t),
        ItemKey::otp(&t, &Mobile::parse("9876543210").unwrap()),
        ItemKey::key_id("key_1"),
        ItemKey::purchase(&t, &uuid::Uuid::nil()),
    ] {
        let r = record(Change::Insert, &other, none(), profile.clone());
        assert!(events_of(&r, None).unwrap().is_empty(), "{other}");
        assert_eq!(tenant_of(&r), None);
    }
}

#[test]
fn an_unreadable_image_is_an_error_naming_the_item() {
    let id = CustomerId::new_random();
    let key = ItemKey::ledger_entry(&tenant(), &id, LedgerCursor { version: 1, place: 0 });
    let err = events_of(&record(Change::Insert, &key, none(), key.attrs().into()), None).unwrap_err();
    assert!(err.to_string().contains("ledger entry"), "{err}");
}

#[test]
fn a_review_moving_the_held_tier_makes_member_tier_changed_and_its_entry_no_points_event() {
    // A period program: lifetime points stay, the held tier moves at the review.
    let mut before = member(900_000, 7);
    before.tier = Some(crate::tiers::TierState { name: "Gold".into(), ..Default::default() });
    let mut after = before.clone();
    after.version = 8;
    after.tier = Some(crate::tiers::TierState { name: "Silver".into(), ..Default::default() });
    let key = ItemKey::profile(&tenant(), &before.id);
    let old = image(&key, &ProfileItem::new(&tenant(), &before, now()));
    let new = image(&key, &ProfileItem::new(&tenant(), &after, now()));
    let down = record(Change::Modify, &key, old.clone(), new);
    assert!(needs_program(&down), "the held tier moved");
    let events = events_of(&down, Some(&programs())).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].r#type, "member.tier_changed");
    assert_eq!((&events[0].data["from_tier"], &events[0].data["to_tier"]), (&json!("Gold"), &json!("Silver")));
    assert_eq!(events[0].data["upgraded"], false);
    // The same tier held: nothing, whatever the lifetime points say.
    let same = record(Change::Modify, &key, old.clone(), old);
    assert!(events_of(&same, Some(&programs())).unwrap().is_empty());
    let entry = crate::tiers::TierChange { from: "Gold".into(), to: "Silver".into() }.entry(before.id, 0, now());
    assert!(
        events_of(&entry_record(before.id, 8, 0, &entry), None).unwrap().is_empty(),
        "a tier entry moves no points"
    );
}

/// A sale item as a bill writes it: its entry (listed in the member's history at
/// `version`, `place`) with the purchase.
pub(crate) fn sale_image(version: u64, place: usize, e: &LedgerEntry) -> (ItemKey, serde_dynamo::Item) {
    use crate::store::items::SaleItem;
    let key = ItemKey::purchase(&tenant(), &e.txn_id);
    let item = SaleItem {
        entry: LedgerEntryItem::from(e).in_history(&tenant(), LedgerCursor { version, place }),
        points_redeemed: 0,
        refunded_minor: 0,
        earn_reversed: 0,
        redeem_restored: 0,
        version: 0,
        coupon: None,
        outcome: None,
    };
    (key.clone(), image(&key, &item))
}

#[test]
fn a_sale_item_makes_the_events_of_its_entry_once() {
    let id = CustomerId::new_random();
    let e = entry(id, EntryKind::Earn, 120, 620);
    let as_entry = events_of(&entry_record(id, 3, 1, &e), None).unwrap();
    let (key, new) = sale_image(3, 1, &e);
    let inserted = record(Change::Insert, &key, none(), new.clone());
    let as_sale = events_of(&inserted, None).unwrap();
    assert_eq!(as_sale, as_entry, "the same event, with the same id, as its ledger entry would make");
    assert_eq!(as_sale.len(), 1);
    assert_eq!(as_sale[0].r#type, "points.earned");
    assert_eq!(events_of(&inserted, None).unwrap()[0].id, as_sale[0].id, "a redelivery makes the same id");
    assert_eq!(tenant_of(&inserted), Some(tenant()));

    // A refund rewrites the sale item: no event (the refund's own entry makes one).
    let mut refunded = new.clone();
    refunded.insert("refunded_minor".into(), serde_dynamo::AttributeValue::N("100".into()));
    let modified = record(Change::Modify, &key, new, refunded);
    assert!(events_of(&modified, None).unwrap().is_empty());

    // The daily figures count the sale once, as its entry.
    let counted = crate::figures::contribution_of(&inserted).unwrap().unwrap();
    let as_entry = crate::figures::contribution_of(&entry_record(id, 3, 1, &e)).unwrap().unwrap();
    assert_eq!(counted, as_entry);
    assert_eq!(counted.figures.points_earned, 120);
    assert_eq!(crate::figures::contribution_of(&modified).unwrap(), None);
}
