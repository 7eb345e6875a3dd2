//! Purchase items: `TENANT#{t}#SALE#{txnId}` / `SALE`, one per sale, holding what a
//! refund needs (amount, points earned and redeemed) and how much was refunded so far.
//! They are written and refunded inside a [`Mutation`](super::Mutation).
//!
//! A sale with a reference has its id derived from the tenant and the reference
//! ([`sale_id`]), and its purchase item is also its reference: it holds the outcome a
//! retry is answered with, and its put (`attribute_not_exists`) is what makes the
//! reference pay once. So a refund by reference and one by `transaction_id` read the
//! same item, and a bill writes one item for both.

use sha2::{Digest, Sha256};

use super::client::{Store, StoreError};
use super::item_key::ItemKey;
use super::items::{decode, PurchaseItem};
use crate::domain::{Reference, TenantSlug};
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

/// The transaction id of the sale recorded under `reference` in `tenant`: the first 16
/// bytes of SHA-256 over both, as a version 8 (custom) UUID. The same reference always
/// names the same purchase item, so a second sale on it finds the first one's item.
pub fn sale_id(tenant: &TenantSlug, reference: &Reference) -> uuid::Uuid {
    let digest = Sha256::new()
        .chain_update(b"sale-reference\0")
        .chain_update(tenant.to_string().as_bytes())
        .chain_update(b"\0")
        .chain_update(reference.as_str().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_one_sale_per_tenant() {
        let a = TenantSlug::parse("acme").unwrap();
        let b = TenantSlug::parse("beta").unwrap();
        let r = Reference::from("bill-1");
        assert_eq!(sale_id(&a, &r), sale_id(&a, &Reference::from("bill-1")));
        assert_ne!(sale_id(&a, &r), sale_id(&b, &r));
        assert_ne!(sale_id(&a, &r), sale_id(&a, &Reference::from("bill-2")));
        assert_eq!(sale_id(&a, &r).get_version_num(), 8);
    }
}
