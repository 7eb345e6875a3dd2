//! Program items: `TENANT#{t}` / `PROGRAM`, the rules as one JSON attribute.

use super::client::{condition_held, Store, StoreError};
use super::item_key::ItemKey;
use super::items::{decode, encode, ProgramItem};
use crate::domain::TenantSlug;
use crate::program::Program;

impl Store {
    pub async fn get_program(&self, tenant: &TenantSlug) -> Result<Option<Program>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::program(tenant).attrs()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<ProgramItem>(attrs).map(|p| p.rules)).transpose()
    }

    /// Writes a program; with `replace == false` an existing one is left alone and
    /// `false` is returned.
    pub async fn put_program(
        &self,
        tenant: &TenantSlug,
        program: &Program,
        replace: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let item =
            ProgramItem { tenant: tenant.clone(), name: program.name.clone(), rules: program.clone(), updated_at: now };
        let mut put =
            self.client.put_item().table_name(&self.table).set_item(Some(encode(&ItemKey::program(tenant), &item)?));
        if !replace {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        condition_held(put.send().await)
    }
}
