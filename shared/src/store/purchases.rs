//! Purchase items: `TENANT#{t}#SALE#{txnId}` / `SALE`, one per sale, holding what a
//! refund needs (amount, points earned and redeemed) and how much was refunded so far.
//! They are written and refunded inside a [`Mutation`](super::Mutation).

use super::client::{Store, StoreError};
use super::item_key::ItemKey;
use super::items::{decode, PurchaseItem};
use crate::domain::TenantSlug;
use crate::model::Purchase;

impl Store {
    pub async fn get_purchase(&self, tenant: &TenantSlug, txn_id: &uuid::Uuid) -> Result<Option<Purchase>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::purchase(tenant, txn_id).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<PurchaseItem>(attrs).map(Purchase::from)).transpose()
    }
}
