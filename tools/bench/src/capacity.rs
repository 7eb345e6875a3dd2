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
//!   when the write failed;
//! - GSI2 and GSI3 (keys only, [`KeysOnly`]): an entry is written only when a write
//!   sets the index keys of an item outside the index (1 WRU), removes them (1 WRU) or
//!   changes them (a delete and a put, 2 WRU), never when it changes other attributes
//!   or writes the keys with the values they had. What the keys were is what the calls
//!   before showed (the item read, or written); an item not seen counts as outside.

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

/// The keys-only indexes: name, partition and sort key attributes.
pub const KEYS_ONLY: [(&str, &str, &str); 2] = [("GSI2", "GSI2PK", "GSI2SK"), ("GSI3", "GSI3PK", "GSI3SK")];

/// An item's keys in each keys-only index (`None`: not in it), as [`KEYS_ONLY`] lists them.
type IndexKeys = [Option<(String, String)>; KEYS_ONLY.len()];

/// The keys-only indexes' writes of a sequence of calls: what each item's index keys
/// were, as the calls so far read or wrote them, so that a write is charged only when
/// it moves an index entry.
#[derive(Debug, Default)]
pub struct KeysOnly {
    known: HashMap<String, IndexKeys>,
}

impl KeysOnly {
    /// The WRU `call` writes to the keys-only indexes (nothing when it failed), after
    /// learning what it read.
    pub fn step(&mut self, call: &Call) -> f64 {
        let r = &call.request;
        let ok = call.status < 400;
        match call.op.as_str() {
            "GetItem" => {
                if let Some(item) = call.response.get("Item").filter(|_| r.get("ProjectionExpression").is_none()) {
                    self.learn(item);
                }
                0.0
            }
            "Query" | "Scan" if r.get("ProjectionExpression").is_none() && r.get("IndexName").is_none() => {
                for item in call.response.get("Items").and_then(Value::as_array).into_iter().flatten() {
                    self.learn(item);
                }
                0.0
            }
            "BatchGetItem" => {
                let tables = call.response.get("Responses").and_then(Value::as_object);
                for item in tables.into_iter().flat_map(|t| t.values()).filter_map(Value::as_array).flatten() {
                    self.learn(item);
                }
                0.0
            }
            "PutItem" | "UpdateItem" | "DeleteItem" if ok => self.write(&call.op, r),
            "TransactWriteItems" if ok => {
                let items = r.get("TransactItems").and_then(Value::as_array).cloned().unwrap_or_default();
                items
                    .iter()
                    .filter_map(|ti| ti.as_object()?.iter().next())
                    .map(|(action, v)| self.write(action, v))
                    .sum()
            }
            _ => 0.0,
        }
    }

    fn learn(&mut self, item: &Value) {
        if let Some(id) = key_id(item) {
            self.known.insert(id, index_keys(item));
        }
    }

    /// One write's index entries: 1 WRU for an entry put or deleted, 2 for one moved.
    fn write(&mut self, action: &str, op: &Value) -> f64 {
        let (id, after) = match action {
            "Put" | "PutItem" => {
                let Some(item) = op.get("Item") else { return 0.0 };
                (key_id(item), index_keys(item))
            }
            "Update" | "UpdateItem" => {
                let Some(key) = op.get("Key") else { return 0.0 };
                let id = key_id(key);
                let before = id.as_ref().and_then(|k| self.known.get(k)).cloned().unwrap_or_default();
                (id, updated_keys_of(op, before))
            }
            "Delete" | "DeleteItem" => (op.get("Key").and_then(key_id), IndexKeys::default()),
            _ => return 0.0,
        };
        let Some(id) = id else { return 0.0 };
        let before = self.known.insert(id, after.clone()).unwrap_or_default();
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| match (b, a) {
                (b, a) if b == a => 0.0,
                (Some(_), Some(_)) => 2.0,
                _ => 1.0,
            })
            .sum()
    }
}

/// An item's keys in each keys-only index (both keys present, as strings).
fn index_keys(item: &Value) -> IndexKeys {
    let s = |name: &str| item.get(name).and_then(|v| v.get("S")).and_then(Value::as_str).map(str::to_owned);
    KEYS_ONLY.map(|(_, pk, sk)| s(pk).zip(s(sk)))
}

/// The index keys after an update expression, from the keys `before`: a key it sets to a
/// value takes that value (any other expression counts as a new value), a key it
/// removes goes, the others stay.
fn updated_keys_of(op: &Value, before: IndexKeys) -> IndexKeys {
    let expression = op.get("UpdateExpression").and_then(Value::as_str).unwrap_or("");
    let names = op.get("ExpressionAttributeNames");
    let values = op.get("ExpressionAttributeValues");
    let name = |n: &str| names.and_then(|m| m.get(n)).and_then(Value::as_str).unwrap_or(n).to_owned();
    let mut changes: HashMap<String, Option<String>> = HashMap::new();
    for (keyword, body) in clauses(expression) {
        for part in top_level(&body) {
            match keyword.as_str() {
                "SET" => {
                    let Some((lhs, rhs)) = part.split_once('=') else { continue };
                    let rhs = rhs.trim();
                    let set = values
                        .and_then(|m| m.get(rhs))
                        .and_then(|v| v.get("S"))
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("<{rhs}>"), str::to_owned);
                    changes.insert(name(lhs.trim()), Some(set));
                }
                "REMOVE" => {
                    changes.insert(name(part.trim()), None);
                }
                _ => {}
            }
        }
    }
    let mut after = before;
    for (slot, (_, pk, sk)) in after.iter_mut().zip(KEYS_ONLY) {
        if !changes.contains_key(pk) && !changes.contains_key(sk) {
            continue;
        }
        let old = slot.take().unzip();
        let pick = |attr: &str, old: Option<String>| changes.get(attr).cloned().unwrap_or(old);
        *slot = pick(pk, old.0).zip(pick(sk, old.1));
    }
    after
}

/// An update expression's clauses: (`SET`/`REMOVE`/`ADD`/`DELETE`, its text).
fn clauses(expression: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in expression.split_whitespace() {
        let upper = word.to_ascii_uppercase();
        if ["SET", "REMOVE", "ADD", "DELETE"].contains(&upper.as_str()) {
            out.push((upper, String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(word);
            body.push(' ');
        }
    }
    out
}

/// A clause's comma-separated parts (commas inside parentheses are a function's).
fn top_level(body: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth) = (Vec::new(), String::new(), 0usize);
    for c in body.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;

    fn call(op: &str, request: Value, response: Value) -> Call {
        let now = Instant::now();
        Call { op: op.into(), request, response, status: 200, start: now, answered: now, end: now }
    }

    fn profile(due: Option<&str>) -> Value {
        let mut item =
            json!({ "PK": { "S": "TENANT#a#CUST#1" }, "SK": { "S": "PROFILE" }, "points_balance": { "N": "5" } });
        if let Some(due) = due {
            item["GSI3PK"] = json!({ "S": format!("EXPIRY#{due}#03") });
            item["GSI3SK"] = json!({ "S": "TENANT#a#CUST#1" });
        }
        item
    }

    /// The balance update the engine writes: the index keys set when indexed (to the
    /// values they may already have), removed otherwise.
    fn balance(due: Option<&str>) -> Call {
        let key = json!({ "PK": { "S": "TENANT#a#CUST#1" }, "SK": { "S": "PROFILE" } });
        let (expression, values) = match due {
            Some(due) => (
                "SET #points_balance = :v0, #GSI3PK = :v1, #GSI3SK = :v2",
                json!({ ":v0": { "N": "9" }, ":v1": { "S": format!("EXPIRY#{due}#03") }, ":v2": { "S": "TENANT#a#CUST#1" } }),
            ),
            None => ("SET #points_balance = :v0 REMOVE #GSI3PK, #GSI3SK", json!({ ":v0": { "N": "9" } })),
        };
        let update = json!({
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": { "#points_balance": "points_balance", "#GSI3PK": "GSI3PK", "#GSI3SK": "GSI3SK" },
            "ExpressionAttributeValues": values,
        });
        call("TransactWriteItems", json!({ "TransactItems": [{ "Update": update }] }), json!({}))
    }

    fn read(item: Value) -> Call {
        call("GetItem", json!({ "Key": {} }), json!({ "Item": item }))
    }

    #[test]
    fn a_keys_only_index_is_written_only_when_its_keys_are_set_moved_or_removed() {
        let cases = [
            (Some("2027-04"), Some("2027-04"), 0.0, "a balance change that keeps the due month"),
            (None, None, 0.0, "a program without expiry: the keys removed were not there"),
            (None, Some("2027-04"), 1.0, "points that will expire: the entry is put"),
            (Some("2027-04"), None, 1.0, "nothing left to expire: the entry is deleted"),
            (Some("2027-04"), Some("2027-05"), 2.0, "the due month moves: a delete and a put"),
        ];
        for (before, after, wru, what) in cases {
            let mut meter = KeysOnly::default();
            assert_eq!(meter.step(&read(profile(before))), 0.0);
            assert_eq!(meter.step(&balance(after)), wru, "{what}");
            assert_eq!(meter.step(&balance(after)), 0.0, "{what}, written again the same");
        }
        // A failed write moves nothing; a put of a new item in the index is one entry.
        let mut meter = KeysOnly::default();
        let mut failed = balance(Some("2027-04"));
        failed.status = 400;
        assert_eq!(meter.step(&failed), 0.0);
        assert_eq!(meter.step(&call("PutItem", json!({ "Item": profile(Some("2027-04")) }), json!({}))), 1.0);
        let delete = json!({ "Key": { "PK": { "S": "TENANT#a#CUST#1" }, "SK": { "S": "PROFILE" } } });
        assert_eq!(meter.step(&call("DeleteItem", delete, json!({}))), 1.0);
    }

    #[test]
    fn gsi1_keeps_its_rule_and_a_keys_only_key_is_not_gsi1s() {
        let after = HashMap::from([(
            "TENANT#a#CUST#1|PROFILE".to_owned(),
            info_of(&HashMap::from([("GSI3PK".to_owned(), AttributeValue::S("EXPIRY#2027-04#03".into()))])),
        )]);
        let u = units(&balance(Some("2027-04")), &after);
        assert_eq!(u.wru, 2.0, "a profile with expiry keys is out of GSI1: the transaction's 2 WRU only");
        assert!(!after.values().any(|i| i.in_gsi));
    }
}
