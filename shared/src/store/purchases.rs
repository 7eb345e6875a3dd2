//! Purchase items: `TENANT#{t}#SALE#{txnId}` / `SALE`, one per sale, holding what a
//! refund needs (amount, points earned and redeemed) and how much was refunded so far.

use super::item::{key, n, put_opt, s, ts, Attrs, Item};
use super::{pk, Store, StoreError};
use crate::domain::{CustomerId, TenantSlug};
use crate::model::Purchase;

pub(crate) fn purchase_key(tenant: &TenantSlug, txn_id: &uuid::Uuid) -> Attrs {
    key(format!("{}#SALE#{txn_id}", pk::tenant(tenant)), "SALE")
}

pub(crate) fn purchase_attrs(tenant: &TenantSlug, p: &Purchase) -> Attrs {
    let mut attrs = purchase_key(tenant, &p.txn_id);
    attrs.insert("txn_id".into(), s(p.txn_id.to_string()));
    attrs.insert("customer_id".into(), s(p.customer_id.to_string()));
    attrs.insert("amount_minor".into(), n(p.amount_minor));
    attrs.insert("points_earned".into(), n(p.points_earned));
    attrs.insert("points_redeemed".into(), n(p.points_redeemed));
    put_opt(&mut attrs, "reference", p.reference.as_deref().map(s));
    attrs.insert("created_at".into(), ts(p.created_at));
    attrs.insert("refunded_minor".into(), n(p.refunded_minor));
    attrs.insert("earn_reversed".into(), n(p.earn_reversed));
    attrs.insert("redeem_restored".into(), n(p.redeem_restored));
    attrs.insert("version".into(), n(p.version));
    attrs
}

fn decode_purchase(attrs: &Attrs) -> Result<Purchase, StoreError> {
    let item = Item(attrs);
    Ok(Purchase {
        txn_id: item.parsed("txn_id", uuid::Uuid::parse_str)?,
        customer_id: item.parsed("customer_id", CustomerId::parse)?,
        amount_minor: item.int("amount_minor")?,
        points_earned: item.int("points_earned")?,
        points_redeemed: item.int("points_redeemed")?,
        reference: item.opt_str("reference")?.map(str::to_owned),
        created_at: item.time("created_at")?,
        refunded_minor: item.int("refunded_minor")?,
        earn_reversed: item.int("earn_reversed")?,
        redeem_restored: item.int("redeem_restored")?,
        version: item.int("version")?,
    })
}

impl Store {
    pub async fn get_purchase(&self, tenant: &TenantSlug, txn_id: &uuid::Uuid) -> Result<Option<Purchase>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(purchase_key(tenant, txn_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_purchase).transpose()
    }
}
