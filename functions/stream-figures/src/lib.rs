//! The table's stream to the programs' daily figures (`loyalty::figures`): a batch of
//! one shard's records in, one `ADD` per (tenant, day) and the shard's checkpoint in one
//! transaction out. The event source mapping has a tumbling window so that each batch
//! names its shard (`shardId`), which the checkpoint is kept by; the window's state is
//! not used (every batch is written as it comes).
//!
//! All or nothing: on a store failure the batch's first record is reported
//! (`ReportBatchItemFailures`) and Lambda retries the whole batch; what a previous try
//! counted is at or before the checkpoint and is not counted again.

use aws_lambda_events::event::dynamodb::{EventRecord, TimeWindowEvent, TimeWindowEventResponse};
use aws_lambda_events::event::streams::DynamoDbBatchItemFailure;
use loyalty::events::{Change, Record};
use loyalty::figures::Counter;

/// One Lambda record with its sequence number, as the counter reads it; `None` for an
/// event name it does not know or a record without a sequence number.
pub fn record(r: &EventRecord) -> Option<(String, Record)> {
    Some((
        r.change.sequence_number.clone()?,
        Record {
            change: Change::parse(&r.event_name)?,
            keys: r.change.keys.clone(),
            old_image: r.change.old_image.clone(),
            new_image: r.change.new_image.clone(),
        },
    ))
}

/// Counts the batch. A batch without a shard id (a mapping without a tumbling window)
/// is an error: without it nothing says which checkpoint it moves.
pub async fn handle(
    counter: &Counter,
    event: TimeWindowEvent,
) -> Result<TimeWindowEventResponse, lambda_runtime::Error> {
    let Some(shard) = event.time_window_properties.shard_id.clone() else {
        return Err("a stream batch without shardId: the event source mapping needs TumblingWindowInSeconds".into());
    };
    let records: Vec<(String, Record)> = event.dynamo_db_event.records.iter().filter_map(record).collect();
    let mut response = TimeWindowEventResponse::default();
    if records.is_empty() {
        return Ok(response);
    }
    match counter.count(&shard, &records).await {
        Ok(counted) => tracing::info!(
            shard = %shard,
            records = counted.records,
            added = counted.added,
            skipped = counted.skipped,
            writes = counted.writes,
            "figures batch"
        ),
        Err(e) => {
            tracing::warn!(shard = %shard, error = %e, "figures batch failed; it is read again");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = records.first().map(|(seq, _)| seq.clone());
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use loyalty::figures::contribution_of;

    use super::*;

    /// The sample batch reads as the runtime hands it over: its shard, the sale's entry
    /// and the voucher used count; the profile update and the sale reference do not.
    #[test]
    fn the_sample_batch_names_its_shard_and_counts_its_records() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/stream-figures/bill-and-voucher.json");
        let event: TimeWindowEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(event.time_window_properties.shard_id.as_deref(), Some("shardId-00000001773556000000-0a1b2c3d"));
        let added: Vec<_> = event
            .dynamo_db_event
            .records
            .iter()
            .filter_map(record)
            .filter_map(|(_, r)| contribution_of(&r).unwrap())
            .map(|c| c.figures)
            .collect();
        assert_eq!(added.len(), 2);
        assert_eq!(added[0].points_earned, added[0].points_net);
        assert!(added[0].points_earned > 0);
        assert_eq!(added[1].vouchers_used, 1);
    }
}
