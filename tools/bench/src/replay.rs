//! Raw DynamoDB calls: the calls a function made on one invocation (as the proxy
//! captured them), issued again by the bench with the SDK, in the same order and with
//! the same concurrency (calls that overlapped run together).
//!
//! Reads are issued exactly as captured. Writes cannot be repeated as they are (their
//! conditions held once), so each keeps its operation, item count, attributes and
//! expressions, with its key moved out of the way of the real data:
//!
//! - a `Put` writes a fresh key (`PK#RAW#...`), conditioned on `attribute_not_exists(PK)`;
//! - an `Update` (or `Delete`, `ConditionCheck`) of an existing item acts on a copy of
//!   that item made beforehand (one of a few slots, `PK#RAWSLOT#n`), conditioned on
//!   `attribute_exists(PK)`; of a missing item, on a fresh key;
//!   a copy is the item as it is after the function's write, with any attribute the
//!   update removes put back (a used code gets its GSI1 keys again), so that the raw
//!   update has the same work to do;
//! - a `GSI1PK` (and an expiry `GSI3PK`) is suffixed too, so copies never show up in a
//!   member's coupon list or the expiry index;
//! - expression names and values no longer used are dropped; each transaction gets its
//!   own `ClientRequestToken`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use crate::error::Error;
use crate::proxy::{round_trip_groups, Call};

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// A new key on every execution.
    Fresh,
    /// A copy of the item, one per slot.
    Slot,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum WriteKind {
    Put,
    Update,
    Delete,
    Check,
}

#[derive(Debug, Clone)]
struct Write {
    kind: WriteKind,
    table: String,
    /// The item of a put, the key otherwise.
    item: Item,
    update: Option<String>,
    condition: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
    return_values: Option<String>,
    return_on_failure: Option<String>,
    target: Target,
}

#[derive(Debug, Clone)]
enum Op {
    Get {
        table: String,
        key: Item,
        consistent: Option<bool>,
        projection: Option<String>,
        names: Option<HashMap<String, String>>,
    },
    Query {
        table: String,
        index: Option<String>,
        key_condition: Option<String>,
        filter: Option<String>,
        projection: Option<String>,
        names: Option<HashMap<String, String>>,
        values: Option<Item>,
        limit: Option<i32>,
        forward: Option<bool>,
        consistent: Option<bool>,
        start: Option<Item>,
        select: Option<String>,
    },
    Write(Write),
    Transact(Vec<Write>),
}

/// One captured invocation's calls, ready to be issued again.
pub struct Replay {
    ops: Vec<(String, Op)>,
    groups: Vec<Vec<usize>>,
    tag: String,
    slots: u64,
    counter: AtomicU64,
}

fn base64_decode(text: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err("bad base64 in a binary attribute".into()),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// DynamoDB JSON to an SDK attribute value.
pub fn attr(v: &Value) -> Result<AttributeValue, Error> {
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or("attribute value must have one type")?;
    let (t, inner) = obj.iter().next().ok_or("empty attribute value")?;
    let str_of = |x: &Value| x.as_str().map(str::to_owned).ok_or_else(|| Error::from("string expected"));
    let list = || inner.as_array().ok_or_else(|| Error::from("list expected"));
    Ok(match t.as_str() {
        "S" => AttributeValue::S(str_of(inner)?),
        "N" => AttributeValue::N(str_of(inner)?),
        "B" => AttributeValue::B(Blob::new(base64_decode(&str_of(inner)?)?)),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("bool expected")?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(list()?.iter().map(str_of).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list()?.iter().map(str_of).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(
            list()?.iter().map(|b| Ok(Blob::new(base64_decode(&str_of(b)?)?))).collect::<Result<_, Error>>()?,
        ),
        "L" => AttributeValue::L(list()?.iter().map(attr).collect::<Result<_, _>>()?),
        "M" => AttributeValue::M(item(inner)?),
        other => return Err(format!("unknown attribute type {other}").into()),
    })
}

/// A DynamoDB JSON map to an SDK item.
pub fn item(v: &Value) -> Result<Item, Error> {
    v.as_object().ok_or("map expected")?.iter().map(|(k, v)| Ok((k.clone(), attr(v)?))).collect()
}

fn opt_item(v: Option<&Value>) -> Result<Option<Item>, Error> {
    v.map(item).transpose()
}

fn opt_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn names(v: &Value) -> Option<HashMap<String, String>> {
    v.get("ExpressionAttributeNames")?
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
}

fn table(v: &Value) -> Result<String, Error> {
    opt_str(v, "TableName").ok_or_else(|| "call without TableName".into())
}

fn write(kind: WriteKind, v: &Value) -> Result<Write, Error> {
    let item = match kind {
        WriteKind::Put => item(v.get("Item").ok_or("Put without Item")?)?,
        _ => item(v.get("Key").ok_or("write without Key")?)?,
    };
    Ok(Write {
        kind,
        table: table(v)?,
        item,
        update: opt_str(v, "UpdateExpression"),
        condition: opt_str(v, "ConditionExpression"),
        names: names(v),
        values: opt_item(v.get("ExpressionAttributeValues"))?,
        return_values: opt_str(v, "ReturnValues"),
        return_on_failure: opt_str(v, "ReturnValuesOnConditionCheckFailure"),
        target: Target::Fresh,
    })
}

fn parse(call: &Call) -> Result<Op, Error> {
    let r = &call.request;
    Ok(match call.op.as_str() {
        "GetItem" => Op::Get {
            table: table(r)?,
            key: item(r.get("Key").ok_or("GetItem without Key")?)?,
            consistent: r.get("ConsistentRead").and_then(Value::as_bool),
            projection: opt_str(r, "ProjectionExpression"),
            names: names(r),
        },
        "Query" => Op::Query {
            table: table(r)?,
            index: opt_str(r, "IndexName"),
            key_condition: opt_str(r, "KeyConditionExpression"),
            filter: opt_str(r, "FilterExpression"),
            projection: opt_str(r, "ProjectionExpression"),
            names: names(r),
            values: opt_item(r.get("ExpressionAttributeValues"))?,
            limit: r.get("Limit").and_then(Value::as_i64).map(|l| l as i32),
            forward: r.get("ScanIndexForward").and_then(Value::as_bool),
            consistent: r.get("ConsistentRead").and_then(Value::as_bool),
            start: opt_item(r.get("ExclusiveStartKey"))?,
            select: opt_str(r, "Select"),
        },
        "PutItem" => Op::Write(write(WriteKind::Put, r)?),
        "UpdateItem" => Op::Write(write(WriteKind::Update, r)?),
        "DeleteItem" => Op::Write(write(WriteKind::Delete, r)?),
        "TransactWriteItems" => {
            let items = r.get("TransactItems").and_then(Value::as_array).ok_or("TransactWriteItems without items")?;
            let mut writes = Vec::new();
            for ti in items {
                let (kind, v) = if let Some(v) = ti.get("Put") {
                    (WriteKind::Put, v)
                } else if let Some(v) = ti.get("Update") {
                    (WriteKind::Update, v)
                } else if let Some(v) = ti.get("Delete") {
                    (WriteKind::Delete, v)
                } else if let Some(v) = ti.get("ConditionCheck") {
                    (WriteKind::Check, v)
                } else {
                    return Err("unknown transaction item".into());
                };
                writes.push(write(kind, v)?);
            }
            Op::Transact(writes)
        }
        other => return Err(format!("raw replay of {other} is not supported").into()),
    })
}

fn moved(item: &Item, suffix: &str) -> Item {
    let mut out = item.clone();
    for name in ["PK", "GSI1PK", "GSI3PK"] {
        if let Some(AttributeValue::S(s)) = out.get(name) {
            let new = if name == "PK" { format!("{s}{suffix}") } else { format!("{s}#RAW") };
            out.insert(name.into(), AttributeValue::S(new));
        }
    }
    out
}

/// The attributes an update expression's `REMOVE` clause names.
fn removed(update: Option<&str>, names: Option<&HashMap<String, String>>) -> Vec<String> {
    let Some(expr) = update else { return vec![] };
    let upper = expr.to_ascii_uppercase();
    let Some(at) = upper.find("REMOVE ") else { return vec![] };
    let rest = &expr[at + 7..];
    let end = ["SET ", "ADD ", "DELETE "]
        .iter()
        .filter_map(|k| rest.to_ascii_uppercase().find(k))
        .min()
        .unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| names.and_then(|m| m.get(n)).cloned().unwrap_or_else(|| n.to_owned()))
        .collect()
}

/// `:value` and `#name` tokens used by the expressions.
fn tokens(exprs: &[Option<&str>]) -> HashSet<String> {
    let mut out = HashSet::new();
    for e in exprs.iter().flatten() {
        let bytes = e.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b':' || bytes[i] == b'#' {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.insert(e[start..i].to_owned());
            } else {
                i += 1;
            }
        }
    }
    out
}

impl Write {
    /// This write for one execution: key moved, condition replaced, unused names and
    /// values dropped.
    fn for_run(&self, suffix: &str) -> Write {
        let mut w = self.clone();
        w.item = moved(&self.item, suffix);
        w.condition = match (self.kind, self.target) {
            (WriteKind::Put, _) => Some("attribute_not_exists(PK)".into()),
            (WriteKind::Delete, _) => None,
            (_, Target::Slot) => Some("attribute_exists(PK)".into()),
            (WriteKind::Check, Target::Fresh) => Some("attribute_not_exists(PK)".into()),
            (WriteKind::Update, Target::Fresh) => Some("attribute_not_exists(PK)".into()),
        };
        let used = tokens(&[w.update.as_deref(), w.condition.as_deref()]);
        w.values = w
            .values
            .map(|v| v.into_iter().filter(|(k, _)| used.contains(k)).collect())
            .filter(|v: &Item| !v.is_empty());
        w.names = w
            .names
            .map(|n| n.into_iter().filter(|(k, _)| used.contains(k)).collect())
            .filter(|n: &HashMap<_, _>| !n.is_empty());
        w
    }

    fn transact_item(&self) -> Result<TransactWriteItem, Error> {
        let rof = self.return_on_failure.as_deref().map(ReturnValuesOnConditionCheckFailure::from);
        let b = TransactWriteItem::builder();
        Ok(match self.kind {
            WriteKind::Put => b
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(self.item.clone()))
                        .set_condition_expression(self.condition.clone())
                        .set_expression_attribute_names(self.names.clone())
                        .set_expression_attribute_values(self.values.clone())
                        .set_return_values_on_condition_check_failure(rof)
                        .build()?,
                )
                .build(),
            WriteKind::Update => b
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(self.item.clone()))
                        .set_update_expression(self.update.clone())
                        .set_condition_expression(self.condition.clone())
                        .set_expression_attribute_names(self.names.clone())
                        .set_expression_attribute_values(self.values.clone())
                        .set_return_values_on_condition_check_failure(rof)
                        .build()?,
                )
                .build(),
            WriteKind::Delete => b
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(self.item.clone()))
                        .set_condition_expression(self.condition.clone())
                        .set_expression_attribute_names(self.names.clone())
                        .set_expression_attribute_values(self.values.clone())
                        .set_return_values_on_condition_check_failure(rof)
                        .build()?,
                )
                .build(),
            WriteKind::Check => b
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(self.item.clone()))
                        .set_condition_expression(self.condition.clone())
                        .set_expression_attribute_names(self.names.clone())
                        .set_expression_attribute_values(self.values.clone())
                        .set_return_values_on_condition_check_failure(rof)
                        .build()?,
                )
                .build(),
        })
    }
}

fn sdk_err<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug + Send + Sync + 'static>(
    op: &str,
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> Error {
    format!("raw {op}: {}", DisplayErrorContext(&e)).into()
}

/// Where one execution's writes go.
struct Keys<'a> {
    tag: &'a str,
    n: u64,
    slots: u64,
    op_index: usize,
}

impl Keys<'_> {
    fn suffix(&self, target: Target, sub: usize) -> String {
        match target {
            Target::Slot => format!("#RAWSLOT#{}#{}", self.tag, self.n % self.slots),
            Target::Fresh => format!("#RAW#{}#{}#{}#{sub}", self.tag, self.n, self.op_index),
        }
    }
}

async fn exec(client: &Client, name: &str, op: &Op, keys: &Keys<'_>) -> Result<(), Error> {
    match op {
        Op::Get { table, key, consistent, projection, names } => {
            client
                .get_item()
                .table_name(table)
                .set_key(Some(key.clone()))
                .set_consistent_read(*consistent)
                .set_projection_expression(projection.clone())
                .set_expression_attribute_names(names.clone())
                .send()
                .await
                .map_err(|e| sdk_err(name, e))?;
        }
        Op::Query {
            table,
            index,
            key_condition,
            filter,
            projection,
            names,
            values,
            limit,
            forward,
            consistent,
            start,
            select,
        } => {
            client
                .query()
                .table_name(table)
                .set_index_name(index.clone())
                .set_key_condition_expression(key_condition.clone())
                .set_filter_expression(filter.clone())
                .set_projection_expression(projection.clone())
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .set_limit(*limit)
                .set_scan_index_forward(*forward)
                .set_consistent_read(*consistent)
                .set_exclusive_start_key(start.clone())
                .set_select(select.as_deref().map(Select::from))
                .send()
                .await
                .map_err(|e| sdk_err(name, e))?;
        }
        Op::Write(w) => {
            let w = w.for_run(&keys.suffix(w.target, 0));
            let rv = w.return_values.as_deref().map(ReturnValue::from);
            let rof = w.return_on_failure.as_deref().map(ReturnValuesOnConditionCheckFailure::from);
            match w.kind {
                WriteKind::Put => {
                    client
                        .put_item()
                        .table_name(&w.table)
                        .set_item(Some(w.item))
                        .set_condition_expression(w.condition)
                        .set_expression_attribute_names(w.names)
                        .set_expression_attribute_values(w.values)
                        .set_return_values(rv)
                        .set_return_values_on_condition_check_failure(rof)
                        .send()
                        .await
                        .map_err(|e| sdk_err(name, e))?;
                }
                WriteKind::Update => {
                    client
                        .update_item()
                        .table_name(&w.table)
                        .set_key(Some(w.item))
                        .set_update_expression(w.update)
                        .set_condition_expression(w.condition)
                        .set_expression_attribute_names(w.names)
                        .set_expression_attribute_values(w.values)
                        .set_return_values(rv)
                        .set_return_values_on_condition_check_failure(rof)
                        .send()
                        .await
                        .map_err(|e| sdk_err(name, e))?;
                }
                WriteKind::Delete | WriteKind::Check => {
                    client
                        .delete_item()
                        .table_name(&w.table)
                        .set_key(Some(w.item))
                        .set_condition_expression(w.condition)
                        .set_expression_attribute_names(w.names)
                        .set_expression_attribute_values(w.values)
                        .send()
                        .await
                        .map_err(|e| sdk_err(name, e))?;
                }
            }
        }
        Op::Transact(writes) => {
            let items = writes
                .iter()
                .enumerate()
                .map(|(i, w)| w.for_run(&keys.suffix(w.target, i)).transact_item())
                .collect::<Result<Vec<_>, _>>()?;
            client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await
                .map_err(|e| sdk_err(name, e))?;
        }
    }
    Ok(())
}

impl Replay {
    /// Prepares the captured calls of one invocation; makes `slots` copies of every item
    /// a write updates. Fails on a call that failed when captured (its replay would not
    /// be the same work).
    pub async fn prepare(calls: &[Call], client: &Client, tag: &str, slots: u64) -> Result<Replay, Error> {
        let mut ops = Vec::new();
        for call in calls {
            if let Some(err) = call.error_type() {
                return Err(format!("captured {} failed ({err}): not replayable", call.op).into());
            }
            let mut op = parse(call)?;
            let writes: Vec<&mut Write> = match &mut op {
                Op::Write(w) => vec![w],
                Op::Transact(ws) => ws.iter_mut().collect(),
                _ => vec![],
            };
            for w in writes {
                if w.kind == WriteKind::Put {
                    continue;
                }
                let existing = client
                    .get_item()
                    .table_name(&w.table)
                    .set_key(Some(w.item.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| sdk_err("GetItem (copy)", e))?;
                let Some(found) = existing.item() else { continue };
                let mut found = found.clone();
                for name in removed(w.update.as_deref(), w.names.as_ref()) {
                    let placeholder = match found.get("PK") {
                        Some(AttributeValue::S(pk)) => format!("{pk}#REMOVED"),
                        _ => "REMOVED".to_owned(),
                    };
                    found.entry(name).or_insert(AttributeValue::S(placeholder));
                }
                for slot in 0..slots {
                    client
                        .put_item()
                        .table_name(&w.table)
                        .set_item(Some(moved(&found, &format!("#RAWSLOT#{tag}#{slot}"))))
                        .send()
                        .await
                        .map_err(|e| sdk_err("PutItem (copy)", e))?;
                }
                w.target = Target::Slot;
            }
            ops.push((call.op.clone(), op));
        }
        Ok(Replay {
            ops,
            groups: round_trip_groups(calls),
            tag: tag.to_owned(),
            slots: slots.max(1),
            counter: AtomicU64::new(0),
        })
    }

    pub fn calls(&self) -> usize {
        self.ops.len()
    }

    pub fn round_trips(&self) -> usize {
        self.groups.len()
    }

    fn keys(&self, n: u64, op_index: usize) -> Keys<'_> {
        Keys { tag: &self.tag, n, slots: self.slots, op_index }
    }

    /// Issues every call once, as the function did; returns the time taken.
    pub async fn run_once(&self, client: &Client) -> Result<Duration, Error> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        for group in &self.groups {
            let runs = group.iter().map(|&i| {
                let (name, op) = &self.ops[i];
                let keys = self.keys(n, i);
                async move { exec(client, name, op, &keys).await }
            });
            for result in futures_util::future::join_all(runs).await {
                result?;
            }
        }
        Ok(start.elapsed())
    }

    /// Issues only the captured calls of operation `name` (e.g. the bill's
    /// `TransactWriteItems`), once each.
    pub async fn run_only(&self, client: &Client, name: &str) -> Result<usize, Error> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut count = 0;
        for (i, (op_name, op)) in self.ops.iter().enumerate() {
            if op_name == name {
                exec(client, op_name, op, &self.keys(n, i)).await?;
                count += 1;
            }
        }
        Ok(count)
    }
}
