//! What the common bill writes, held to the figure docs/scale.md prices: a bill by
//! mobile with a reference, no `Idempotency-Key`, no points spent, is one
//! `TransactWriteItems` of two items (the profile, and the sale item: the ledger entry,
//! the purchase and the reference as one), each under 1 KB, and one GSI1 entry (the
//! sale item in the member's history): 2 WRU an item and 1 for the index entry,
//! **5 WRU**.
//!
//! DynamoDB Local's own `ConsumedCapacity` does not follow the service's rules for
//! transactions, so the units are computed from the items as written, by the documented
//! rules (attribute names plus values; 2 WRU per KB of each item in a transaction, 1 WRU
//! per KB of each index entry written, GSI1 projecting every attribute).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use loyalty::store::Store;
use loyalty::Deps;
use serde_json::json;

use super::support::{Call, TestEnv};

type Key = HashMap<String, AttributeValue>;

/// The keys of every item each `TransactWriteItems` on the client wrote, call by call.
#[derive(Debug, Clone, Default)]
struct Transactions(Arc<Mutex<Vec<Vec<Key>>>>);

impl Transactions {
    fn take(&self) -> Vec<Vec<Key>> {
        self.0.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default()
    }
}

impl Intercept for Transactions {
    fn name(&self) -> &'static str {
        "Transactions"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = context.input().downcast_ref::<TransactWriteItemsInput>() else {
            return Ok(());
        };
        let keys = input
            .transact_items()
            .iter()
            .filter_map(|item| {
                let key = |attrs: &Key| -> Key {
                    ["PK", "SK"].iter().filter_map(|k| Some(((*k).to_owned(), attrs.get(*k)?.clone()))).collect()
                };
                if let Some(put) = item.put() {
                    return Some(key(put.item()));
                }
                if let Some(update) = item.update() {
                    return Some(key(update.key()));
                }
                item.delete().map(|d| key(d.key()))
            })
            .collect();
        if let Ok(mut log) = self.0.lock() {
            log.push(keys);
        }
        Ok(())
    }
}

/// An attribute value's size by DynamoDB's rules.
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let digits = n.trim_start_matches('-').replace('.', "").trim_start_matches('0').len().max(1);
            digits.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(n) => n.len() * 21,
        _ => 400_000,
    }
}

fn item_size(item: &Key) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

#[tokio::test]
async fn the_common_bill_writes_two_items_under_a_kilobyte_each() {
    let env = TestEnv::new().await;
    let t = env.tenant("capacity-cafe").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "500").await;
    let transactions = Transactions::default();
    let config = env.client.config().to_builder().interceptor(transactions.clone()).build();
    let deps = Deps::new(Store::new(Client::from_conf(config), env.table.clone()), env.clock.clone());

    // A long reference and description: the items stay under 1 KB with room.
    let reference = "POS-00042-STORE-BANGALORE-INDIRANAGAR-2026-11-30-000123";
    let body = json!({
        "mobile": "9876543210",
        "amount": 1234.56,
        "external_ref": reference,
        "description": "Dinner for four, table 12, with desserts and drinks",
    });
    let reply = Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let written = transactions.take();
    assert_eq!(written.len(), 1, "one transaction: {written:?}");
    let keys = &written[0];
    assert_eq!(keys.len(), 2, "profile, sale item (entry, purchase and reference): {keys:?}");
    let mut wru = 0;
    let mut indexed = Vec::new();
    for key in keys {
        let out = env.client.get_item().table_name(&env.table).set_key(Some(key.clone())).send().await.unwrap();
        let item = out.item().cloned().unwrap_or_default();
        let size = item_size(&item);
        eprintln!("{:?} {:?}: {size} bytes", key.get("PK"), key.get("SK"));
        assert!(size > 0 && size < 1024, "{key:?} is {size} bytes");
        wru += 2 * size.div_ceil(1024);
        if item.contains_key("GSI1PK") {
            indexed.push(key.get("SK").cloned());
            wru += size.div_ceil(1024);
        }
    }
    assert_eq!(indexed, vec![Some(AttributeValue::S("SALE".into()))], "only the sale is in GSI1 (its history)");
    assert_eq!(wru, 5, "the common bill's write units (docs/scale.md)");

    // In a program whose points expire the bill is the same: the profile's expiry keys
    // are the keys-only GSI3's, unchanged by a bill that keeps the due month, and the
    // profile stays out of GSI1.
    let expiring = loyalty::program::Program { points_expiry_months: Some(12), ..loyalty_admin::admin::demo_program() };
    let e = env.tenant_with("capacity-expiring", &expiring).await;
    env.seed_member(&e, "9876543211", "Asha Rao", "500").await;
    let profile_key = |item: &Key| item.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == "PROFILE");
    let expiry_keys = |item: &Key| (item.get("GSI3PK").cloned(), item.get("GSI3SK").cloned());
    let before = env.scan().await.into_iter().find(|i| {
        profile_key(i)
            && i.get("PK").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk.starts_with("TENANT#capacity-expiring#"))
    });
    let before = before.expect("the expiring member's profile");
    assert!(expiry_keys(&before).0.is_some(), "points that expire: in the expiry index");
    let expiring_bill = json!({ "mobile": "9876543211", "amount": 10, "external_ref": "POS-EXPIRING-1" });
    let billed = Call::bill(e.slug()).key(&e.live).json(&expiring_bill).send(&deps).await;
    assert_eq!(billed.status, 200, "{}", billed.text);
    let written = transactions.take();
    assert_eq!(written.len(), 1, "one transaction: {written:?}");
    let mut wru = 0;
    let mut indexed = Vec::new();
    for key in &written[0] {
        let out = env.client.get_item().table_name(&env.table).set_key(Some(key.clone())).send().await.unwrap();
        let item = out.item().cloned().unwrap_or_default();
        if profile_key(&item) {
            assert_eq!(expiry_keys(&item), expiry_keys(&before), "the same due month: the same GSI3 keys");
        }
        wru += 2 * item_size(&item).div_ceil(1024);
        if item.contains_key("GSI1PK") {
            indexed.push(key.get("SK").cloned());
            wru += item_size(&item).div_ceil(1024);
        }
    }
    assert_eq!(indexed, vec![Some(AttributeValue::S("SALE".into()))], "the profile stays out of GSI1");
    assert_eq!(wru, 5, "a bill in an expiring program (docs/scale.md)");

    // A retry of the reference is answered from the same item and writes nothing.
    let again = Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.str("transaction_id"), reply.str("transaction_id"));
}
