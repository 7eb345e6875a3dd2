//! Following the table's stream locally (DynamoDB Local has streams, Lambda's event
//! source mapping does not exist there): read every shard from its checkpoint
//! (`AFTER_SEQUENCE_NUMBER`) or its start (`TRIM_HORIZON`), hand each batch to the same
//! [`Consumer`] the `stream-events` function runs, and keep the checkpoint (per shard, the
//! last sequence number handled) in a JSON file, not in the table (a checkpoint written
//! to the table would make stream records of its own). A stopped follower resumes where
//! it stopped; a record read twice adds nothing (the outbox keeps one delivery per event
//! and endpoint).
//!
//! With [`Follower::with_figures`] each batch is also counted into the daily figures
//! (the `stream-figures` function's code), before its events: their checkpoint is in the
//! table, per shard, written with the figures (`loyalty::figures`), so a batch read
//! again is not counted again, whatever this file says.
//!
//! The streams client takes its endpoint from `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`, not
//! from the DynamoDB one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use loyalty::events::consumer::Consumer;
use loyalty::events::{Change, Record};
use loyalty::figures::Counter;
use serde::{Deserialize, Serialize};

use crate::AdminError;

/// Where each shard was read up to.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The stream it belongs to: a checkpoint of another stream (the table recreated)
    /// is not used.
    pub stream_arn: String,
    /// Shard id -> the sequence number of the last record handled.
    pub shards: BTreeMap<String, String>,
}

impl Checkpoint {
    /// The file's checkpoint, or an empty one for `stream_arn` when there is none (or it
    /// is another stream's).
    pub fn load(path: &Path, stream_arn: &str) -> Result<Self, AdminError> {
        let fresh = || Checkpoint { stream_arn: stream_arn.to_owned(), shards: BTreeMap::new() };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let saved: Checkpoint = serde_json::from_str(&text)
                    .map_err(|e| AdminError::Invalid(format!("checkpoint {}: {e}", path.display())))?;
                Ok(if saved.stream_arn == stream_arn { saved } else { fresh() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fresh()),
            Err(e) => Err(AdminError::Invalid(format!("checkpoint {}: {e}", path.display()))),
        }
    }

    /// Written to a file beside it, then renamed over it: a stop mid-write leaves the
    /// previous checkpoint whole.
    pub fn save(&self, path: &Path) -> Result<(), AdminError> {
        let io = |e: std::io::Error| AdminError::Invalid(format!("checkpoint {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let tmp: PathBuf = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// What one pass over the stream did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub records: usize,
    pub events: usize,
    pub deliveries: usize,
    /// Records that added to the daily figures (none without them).
    pub figures: usize,
    /// Shards that stopped at a failed record (read again from it on the next pass).
    pub failed_shards: usize,
}

pub struct Follower {
    streams: Client,
    consumer: Consumer,
    counter: Option<Counter>,
    checkpoint_path: PathBuf,
}

fn sdk(e: impl std::fmt::Display) -> AdminError {
    AdminError::Invalid(format!("stream: {e}"))
}

impl Follower {
    pub fn new(streams: Client, consumer: Consumer, checkpoint_path: impl Into<PathBuf>) -> Self {
        Follower { streams, consumer, counter: None, checkpoint_path: checkpoint_path.into() }
    }

    /// Counts every batch into the daily figures too.
    pub fn with_figures(mut self, counter: Counter) -> Self {
        self.counter = Some(counter);
        self
    }

    /// The streams client from the standard AWS settings.
    pub async fn client_from_env() -> Client {
        Client::new(&loyalty::store::Store::load_aws_config().await)
    }

    /// Reads every shard up to its end (what is there now), handling each batch, and
    /// saves the checkpoint after each batch.
    pub async fn pass(&self) -> Result<Pass, AdminError> {
        let stream_arn = self
            .consumer
            .deps()
            .store
            .stream_arn()
            .await?
            .ok_or_else(|| AdminError::Invalid("the table has no stream: run `loyalty-admin init`".into()))?;
        let mut checkpoint = Checkpoint::load(&self.checkpoint_path, &stream_arn)?;
        let mut pass = Pass::default();
        for shard in self.shards(&stream_arn).await? {
            self.read_shard(&stream_arn, &shard, &mut checkpoint, &mut pass).await?;
        }
        Ok(pass)
    }

    /// Passes forever, `poll` apart (a pass that failed is logged and tried again).
    pub async fn follow(&self, poll: Duration) -> Result<(), AdminError> {
        loop {
            match self.pass().await {
                Ok(p) if p.records > 0 => tracing::info!(
                    records = p.records,
                    events = p.events,
                    deliveries = p.deliveries,
                    failed_shards = p.failed_shards,
                    "stream pass"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "stream pass failed"),
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Every shard of the stream, parents before children (DescribeStream lists them in
    /// that order), all pages.
    async fn shards(&self, stream_arn: &str) -> Result<Vec<String>, AdminError> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(|e| sdk(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            let description = out.stream_description();
            shards.extend(
                description
                    .map(|d| d.shards())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned)),
            );
            start = description.and_then(|d| d.last_evaluated_shard_id()).map(str::to_owned);
            if start.is_none() {
                return Ok(shards);
            }
        }
    }

    async fn read_shard(
        &self,
        stream_arn: &str,
        shard: &str,
        checkpoint: &mut Checkpoint,
        pass: &mut Pass,
    ) -> Result<(), AdminError> {
        let request = self.streams.get_shard_iterator().stream_arn(stream_arn).shard_id(shard);
        let request = match checkpoint.shards.get(shard) {
            Some(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| sdk(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
            .shard_iterator
            .clone();
        while let Some(it) = iterator {
            let out = self
                .streams
                .get_records()
                .shard_iterator(it)
                .limit(100)
                .send()
                .await
                .map_err(|e| sdk(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            let batch: Vec<(String, Record)> = out.records().iter().filter_map(record).collect();
            if out.records().is_empty() {
                return Ok(()); // caught up (an open shard) or at its end (a closed one)
            }
            if let Some(counter) = &self.counter {
                match counter.count(shard, &batch).await {
                    Ok(counted) => pass.figures += counted.added,
                    Err(e) => {
                        // Nothing of this batch is handed on: read again from its start.
                        tracing::warn!(error = %e, shard, "figures batch failed; it is read again");
                        pass.failed_shards += 1;
                        return Ok(());
                    }
                }
            }
            let records: Vec<Record> = batch.iter().map(|(_, r)| r.clone()).collect();
            let outcome = self.consumer.handle(&records).await;
            pass.records += outcome.handled;
            pass.events += outcome.events;
            pass.deliveries += outcome.deliveries;
            let done = match outcome.failed_at {
                Some(i) => i.checked_sub(1),
                None => batch.len().checked_sub(1),
            };
            let last = match (outcome.failed_at, done) {
                (_, Some(i)) => batch.get(i).map(|(seq, _)| seq.clone()),
                // Every record was one this consumer skips: the last sequence number read.
                (None, None) => {
                    out.records().last().and_then(|r| r.dynamodb()).and_then(|d| d.sequence_number()).map(str::to_owned)
                }
                (Some(_), None) => None,
            };
            if let Some(seq) = last {
                checkpoint.shards.insert(shard.to_owned(), seq);
                checkpoint.save(&self.checkpoint_path)?;
            }
            if outcome.failed_at.is_some() {
                pass.failed_shards += 1;
                return Ok(());
            }
            iterator = out.next_shard_iterator;
        }
        Ok(())
    }
}

/// One SDK stream record as the consumer reads it, with its sequence number.
fn record(r: &aws_sdk_dynamodbstreams::types::Record) -> Option<(String, Record)> {
    let change = match r.event_name()? {
        OperationType::Insert => Change::Insert,
        OperationType::Modify => Change::Modify,
        OperationType::Remove => Change::Remove,
        _ => return None,
    };
    let d = r.dynamodb()?;
    let item = |image: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        serde_dynamo::Item::from(image.cloned().unwrap_or_default())
    };
    Some((
        d.sequence_number()?.to_owned(),
        Record { change, keys: item(d.keys()), old_image: item(d.old_image()), new_image: item(d.new_image()) },
    ))
}
