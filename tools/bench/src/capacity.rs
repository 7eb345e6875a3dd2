//! Read and write request units of one call, computed from item sizes by DynamoDB's
//! documented rules, because DynamoDB Local's own `ConsumedCapacity` is not those rules
//! for transactions (it reports 4 units for a transaction of one, two or three small
//! items). The rules used:
//!
//! - item size: attribute names plus values (strings and binaries by length, numbers
//!   about one byte per two significant digits plus one, booleans and nulls one byte,
//!   lists and maps 3 bytes plus one per element plus the elements);
//! - `GetItem`: 1 RRU per 4 KB of the item (at least 1; a missing item still costs
//!   it), half for an eventually consistent read;
//! - `Query`: the returned items' total size, rounded up to 4 KB, at least 1 unit;
//!   half when eventually consistent (every GSI query is);
//! - `PutItem` / `UpdateItem` / `DeleteItem`: 1 WRU per KB of the larger of the item
//!   before and after (at least 1), charged also when the condition fails;
//! - `TransactWriteItems`: 2 WRU per KB of each item (prepare and commit), charged
//!   also when the transaction is cancelled;
//! - GSI1 (all attributes projected): a write that leaves an item with `GSI1PK` and
//!   `GSI1SK`, or whose update expression sets or removes them (the index entry is
//!   added or deleted), also writes the index, 1 WRU per KB of the item, at the
//!   standard rate (index propagation happens after a transaction commits); nothing
//!   when the write failed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::proxy::Call;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub rru: f64,
    pub wru: f64,
}

impl std::ops::AddAssign for Units {
    fn add_assign(&mut self, other: Units) {
        self.rru += other.rru;
        self.wru += other.wru;
    }
}

/// What the bench read after the calls: the size of each item a write named by key,
/// and whether it carries the GSI1 key.
#[derive(Debug, Clone, Copy)]
pub struct ItemInfo {
    pub size: usize,
    pub in_gsi: bool,
}

/// What a call wrote: the kind of each item, its size after the write, and whether it
/// is in GSI1. Puts are sized from the request, updates from `after`.
pub fn written(call: &Call, after: &HashMap<String, ItemInfo>) -> Vec<(String, ItemInfo)> {
    let kind = |v: Option<&Value>| {
        let v = v.unwrap_or(&Value::Null);
        let s = |k: &str| v.get(k).and_then(|x| x.get("S")).and_then(Value::as_str).unwrap_or("");
        crate::proxy::item_kind(s("PK"), s("SK")).to_owned()
    };
    let one = |action: &str, v: &Value| -> Option<(String, ItemInfo)> {
        match action {
            "Put" | "PutItem" => {
                let item = v.get("Item")?;
                Some((kind(Some(item)), ItemInfo { size: item_size(item), in_gsi: in_gsi(item) }))
            }
            "Update" | "UpdateItem" => {
                let key = v.get("Key")?;
                Some((kind(Some(key)), *after.get(&key_id(key)?)?))
            }
            _ => None,
        }
    };
    match call.op.as_str() {
        "TransactWriteItems" => call
            .request
            .get("TransactItems")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|ti| {
                        let (action, v) = ti.as_object()?.iter().next()?;
                        one(action, v)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        op => one(op, &call.request).into_iter().collect(),
    }
}

/// `PK|SK` of a key map in DynamoDB JSON.
pub fn key_id(key: &Value) -> Option<String> {
    let pk = key.get("PK")?.get("S")?.as_str()?;
    let sk = key.get("SK")?.get("S")?.as_str()?;
    Some(format!("{pk}|{sk}"))
}

fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(|c| c.is_ascii_digit()).collect();
    let trimmed = digits.trim_start_matches('0').trim_end_matches('0');
    trimmed.len().div_ceil(2) + 1
}

fn value_size(v: &Value) -> usize {
    let Some(obj) = v.as_object() else { return 0 };
    let Some((t, inner)) = obj.iter().next() else { return 0 };
    match t.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" => inner.as_array().map_or(0, |a| a.iter().filter_map(|s| s.as_str()).map(str::len).sum()),
        "NS" => inner.as_array().map_or(0, |a| a.iter().filter_map(|s| s.as_str()).map(number_size).sum()),
        "BS" => inner.as_array().map_or(0, |a| a.iter().filter_map(|s| s.as_str()).map(|b| b.len() * 3 / 4).sum()),
        "L" => 3 + inner.as_array().map_or(0, |a| a.iter().map(|e| 1 + value_size(e)).sum()),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum()),
        _ => 0,
    }
}

/// Size of an item in DynamoDB JSON.
pub fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |m| m.iter().map(|(k, v)| k.len() + value_size(v)).sum())
}

fn in_gsi(item: &Value) -> bool {
    item.get("GSI1PK").is_some() && item.get("GSI1SK").is_some()
}

fn av_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(a) => a.iter().map(String::len).sum(),
        AttributeValue::Ns(a) => a.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(a) => a.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(a) => 3 + a.iter().map(|e| 1 + av_size(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + av_size(e)).sum::<usize>(),
        _ => 0,
    }
}

/// Size and GSI membership of an item the SDK read.
pub fn info_of(item: &HashMap<String, AttributeValue>) -> ItemInfo {
    ItemInfo {
        size: item.iter().map(|(k, v)| k.len() + av_size(v)).sum(),
        in_gsi: item.contains_key("GSI1PK") && item.contains_key("GSI1SK"),
    }
}

/// An update that sets or removes the index keys changes the index entry.
fn touches_gsi(op: &Value) -> bool {
    op.get("UpdateExpression").and_then(Value::as_str).is_some_and(|e| e.contains("GSI1PK") || e.contains("GSI1SK"))
}

fn kb(size: usize) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

fn four_kb(size: usize) -> f64 {
    size.div_ceil(4096).max(1) as f64
}

/// The keys of items a call writes other than by a full `Put` (their size after the
/// call is read back by the bench).
pub fn updated_keys(call: &Call) -> Vec<Value> {
    let r = &call.request;
    match call.op.as_str() {
        "UpdateItem" | "DeleteItem" => r.get("Key").cloned().into_iter().collect(),
        "TransactWriteItems" => r
            .get("TransactItems")
            .and_then(|t| t.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|ti| {
                        ti.get("Update")
                            .or_else(|| ti.get("Delete"))
                            .or_else(|| ti.get("ConditionCheck"))?
                            .get("Key")
                            .cloned()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The units one call costs under the rules above. `after` holds the size read back
/// for keys written by update; a key missing there counts as 1 KB.
pub fn units(call: &Call, after: &HashMap<String, ItemInfo>) -> Units {
    let r = &call.request;
    let resp = &call.response;
    let ok = call.status < 400;
    let consistent = r.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
    let size_after = |key: Option<&Value>| key.and_then(key_id).and_then(|k| after.get(&k).copied());
    // The old item returned by a failed condition (ReturnValuesOnConditionCheckFailure).
    let old_size = resp.get("Item").map(item_size).unwrap_or(0);
    match call.op.as_str() {
        "GetItem" => {
            let size = resp.get("Item").map(item_size).unwrap_or(0);
            Units { rru: four_kb(size) * if consistent { 1.0 } else { 0.5 }, wru: 0.0 }
        }
        "Query" => {
            let total: usize = resp.get("Items").and_then(Value::as_array).map_or(0, |a| a.iter().map(item_size).sum());
            let strong = consistent && r.get("IndexName").is_none();
            Units { rru: four_kb(total) * if strong { 1.0 } else { 0.5 }, wru: 0.0 }
        }
        "PutItem" => {
            let item = r.get("Item").cloned().unwrap_or(Value::Null);
            let size = item_size(&item).max(old_size);
            let gsi = if ok && in_gsi(&item) { kb(size) } else { 0.0 };
            Units { rru: 0.0, wru: kb(size) + gsi }
        }
        "UpdateItem" | "DeleteItem" => {
            let returned = resp.get("Attributes").map(|a| ItemInfo { size: item_size(a), in_gsi: in_gsi(a) });
            let info = returned.or_else(|| size_after(r.get("Key")));
            let size = info.map_or(1024, |i| i.size).max(old_size);
            let indexed = info.is_some_and(|i| i.in_gsi) || touches_gsi(r);
            let gsi = if ok && indexed { kb(size) } else { 0.0 };
            Units { rru: 0.0, wru: kb(size) + gsi }
        }
        "TransactWriteItems" => {
            let mut u = Units::default();
            let items = r.get("TransactItems").and_then(Value::as_array).cloned().unwrap_or_default();
            for ti in &items {
                if let Some(put) = ti.get("Put") {
                    let item = put.get("Item").cloned().unwrap_or(Value::Null);
                    let size = item_size(&item);
                    u.wru += 2.0 * kb(size);
                    if ok && in_gsi(&item) {
                        u.wru += kb(size);
                    }
                } else if let Some(op) =
                    ti.get("Update").or_else(|| ti.get("Delete")).or_else(|| ti.get("ConditionCheck"))
                {
                    let info = size_after(op.get("Key"));
                    let size = info.map_or(1024, |i| i.size);
                    u.wru += 2.0 * kb(size);
                    let indexed = info.is_some_and(|i| i.in_gsi) || touches_gsi(op);
                    if ok && ti.get("ConditionCheck").is_none() && indexed {
                        u.wru += kb(size);
                    }
                }
            }
            u
        }
        "TransactGetItems" | "BatchGetItem" | "Scan" | "BatchWriteItem" => Units::default(),
        _ => Units::default(),
    }
}
