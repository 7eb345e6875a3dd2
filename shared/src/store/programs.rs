//! Program items: `TENANT#{t}` / `PROGRAM`, the rules as one JSON attribute.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{key, s, ts, Item};
use super::{condition_held, pk, Store, StoreError};
use crate::domain::TenantSlug;
use crate::program::Program;

impl Store {
    pub async fn get_program(&self, tenant: &TenantSlug) -> Result<Option<Program>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::tenant(tenant), "PROGRAM")))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(attrs) = out.item() else {
            return Ok(None);
        };
        let rules = Item(attrs).str("rules")?;
        serde_json::from_str(rules).map(Some).map_err(|e| StoreError::Corrupt(format!("program rules: {e}")))
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
        let rules = serde_json::to_string(program).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut attrs = key(pk::tenant(tenant), "PROGRAM");
        attrs.insert("tenant".into(), s(tenant.as_str()));
        attrs.insert("name".into(), s(&program.name));
        attrs.insert("rules".into(), AttributeValue::S(rules));
        attrs.insert("updated_at".into(), ts(now));
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(attrs));
        if !replace {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        condition_held(put.send().await)
    }
}
