//! The table's stream to webhook events (`loyalty::events`): a batch of stream records
//! in, the deliveries of their events in the outbox, and the records to read again out
//! (`ReportBatchItemFailures`: the first failed record's sequence number; Lambda retries
//! the batch from it, and what was already enqueued is not enqueued twice).

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use loyalty::events::consumer::Consumer;
use loyalty::events::{Change, Record};

/// One Lambda record as the consumer reads it; `None` for an event name it does not know
/// (none exists today).
pub fn record(r: &EventRecord) -> Option<Record> {
    Some(Record {
        change: Change::parse(&r.event_name)?,
        keys: r.change.keys.clone(),
        old_image: r.change.old_image.clone(),
        new_image: r.change.new_image.clone(),
    })
}

pub async fn handle(consumer: &Consumer, event: Event) -> DynamoDbEventResponse {
    let (sequence, records): (Vec<Option<String>>, Vec<Record>) =
        event.records.iter().filter_map(|r| Some((r.change.sequence_number.clone(), record(r)?))).unzip();
    let outcome = consumer.handle(&records).await;
    tracing::info!(
        records = records.len(),
        handled = outcome.handled,
        events = outcome.events,
        deliveries = outcome.deliveries,
        failed = outcome.failed_at.is_some(),
        "stream batch"
    );
    let mut response = DynamoDbEventResponse::default();
    if let Some(i) = outcome.failed_at {
        let mut item = DynamoDbBatchItemFailure::default();
        item.item_identifier = sequence.get(i).cloned().flatten();
        response.batch_item_failures.push(item);
    }
    response
}

#[cfg(test)]
mod tests {
    use loyalty::events::events_of;

    use super::*;

    /// The sample batch maps as the runtime hands it over: the sale's entry, the voucher
    /// used; the profile's tier change needs the program, the sale reference makes none.
    #[test]
    fn the_sample_batch_maps_to_its_events() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/stream-events/bill-and-voucher.json");
        let event: Event = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let types: Vec<String> = event
            .records
            .iter()
            .filter_map(record)
            .flat_map(|r| events_of(&r, None).unwrap())
            .map(|e| e.r#type)
            .collect();
        assert_eq!(types, ["points.earned", "coupon.redeemed"]);
    }
}
