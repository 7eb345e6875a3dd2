//! Every member of a tenant, without a scan: the members index (`GSI2`, keys only),
//! `MEMBERS#{t}#{shard}` / `{tier}#{customer_id}`, walked shard by shard, then the
//! profiles read with `BatchGetItem`.

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::client::{Store, StoreError, GSI2};
use super::item_key::{
    member_of_members_sk, members_index_partition, members_tier_prefix, Attrs, ItemKey, GSI2PK, GSI2SK, MEMBERS_SHARDS,
    PK, SK,
};
use super::items::{decode, value, ProfileItem};
use crate::domain::TenantSlug;
use crate::model::Customer;

/// The most members one page holds (one `BatchGetItem`).
pub const MEMBERS_PAGE: usize = 100;

/// Where a walk of a tenant's members stopped: the shard and the last index sort key
/// read in it. Opaque to callers as text ([`MembersCursor::encode`]); text that is not
/// one this store gave out does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersCursor {
    shard: u32,
    /// The last `GSI2SK` read in `shard`; `None`: the shard is to be read from its start.
    after: Option<String>,
}

impl MembersCursor {
    pub fn encode(&self) -> String {
        hex::encode(format!("{:02}|{}", self.shard, self.after.as_deref().unwrap_or("")))
    }

    /// The cursor `text` names, if it is one for a walk of `tier` (or of every tier).
    pub fn decode(text: &str, tier: Option<&str>) -> Option<MembersCursor> {
        if text.len() > 600 {
            return None;
        }
        let text = String::from_utf8(hex::decode(text).ok()?).ok()?;
        let (shard, after) = text.split_once('|')?;
        if shard.len() != 2 {
            return None;
        }
        let shard: u32 = shard.parse().ok()?;
        if shard >= MEMBERS_SHARDS {
            return None;
        }
        if after.is_empty() {
            return Some(MembersCursor { shard, after: None });
        }
        let id = member_of_members_sk(after)?;
        if id.shard(MEMBERS_SHARDS) != shard || tier.is_some_and(|t| !after.starts_with(&members_tier_prefix(t))) {
            return None;
        }
        Some(MembersCursor { shard, after: Some(after.to_owned()) })
    }
}

/// A page of a tenant's members, in index order, and where the next one starts.
#[derive(Debug, Clone)]
pub struct MembersPage {
    pub members: Vec<Customer>,
    pub next: Option<MembersCursor>,
}

impl Store {
    /// Up to [`MEMBERS_PAGE`] of `tenant`'s members (of `tier` alone when given: tier
    /// names as the program spells them), from `cursor` (`None`: the first page). The
    /// next page's cursor is `None` once every shard is read. Reads the keys-only index
    /// (eventually consistent: a member enrolled a moment ago may show on a later walk)
    /// and then the profiles. A member is listed once they have made a change since the
    /// index existed.
    pub async fn members_page(
        &self,
        tenant: &TenantSlug,
        tier: Option<&str>,
        cursor: Option<MembersCursor>,
    ) -> Result<MembersPage, StoreError> {
        self.members_page_of(tenant, tier, cursor, MEMBERS_PAGE).await
    }

    /// [`Store::members_page`] with pages of `size` members (1 to [`MEMBERS_PAGE`]).
    pub async fn members_page_of(
        &self,
        tenant: &TenantSlug,
        tier: Option<&str>,
        cursor: Option<MembersCursor>,
        size: usize,
    ) -> Result<MembersPage, StoreError> {
        let size = size.clamp(1, MEMBERS_PAGE);
        let mut at = cursor.unwrap_or(MembersCursor { shard: 0, after: None });
        let mut keys: Vec<Attrs> = Vec::new();
        let next = loop {
            let want = size - keys.len();
            let (found, last) = self.members_of_shard(tenant, tier, &at, want).await?;
            keys.extend(found);
            match last {
                Some(sk) => at.after = Some(sk),
                None if at.shard + 1 < MEMBERS_SHARDS => at = MembersCursor { shard: at.shard + 1, after: None },
                None => break None,
            }
            if keys.len() >= size {
                break Some(at);
            }
        };
        Ok(MembersPage { members: self.profiles(keys).await?, next })
    }

    /// The customer ids of `tenant`'s members of `tier` (as the program spells it), from
    /// the keys-only index alone (no profile read), at most `limit` + 1 of them: a caller
    /// that gets more than `limit` knows the tier is larger.
    pub async fn member_ids_of_tier(
        &self,
        tenant: &TenantSlug,
        tier: &str,
        limit: usize,
    ) -> Result<Vec<crate::domain::CustomerId>, StoreError> {
        let mut ids = Vec::new();
        for shard in 0..MEMBERS_SHARDS {
            let mut at = MembersCursor { shard, after: None };
            loop {
                let (keys, last) = self.members_of_shard(tenant, Some(tier), &at, 1_000).await?;
                for key in &keys {
                    let pk = key.get(PK).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
                    let id = pk
                        .rsplit_once("#CUST#")
                        .and_then(|(_, id)| crate::domain::CustomerId::parse(id).ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("members index entry {pk:?} names no member")))?;
                    ids.push(id);
                }
                if ids.len() > limit {
                    return Ok(ids);
                }
                match last {
                    Some(sk) => at.after = Some(sk),
                    None => break,
                }
            }
        }
        Ok(ids)
    }

    /// Up to `want` profile keys of one shard after the cursor's, and the last index
    /// sort key read when the shard may hold more.
    async fn members_of_shard(
        &self,
        tenant: &TenantSlug,
        tier: Option<&str>,
        at: &MembersCursor,
        want: usize,
    ) -> Result<(Vec<Attrs>, Option<String>), StoreError> {
        let partition = members_index_partition(tenant, at.shard);
        let mut condition = format!("{GSI2PK} = :pk");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI2)
            .expression_attribute_values(":pk", value(partition.clone())?)
            .limit(i32::try_from(want.max(1)).unwrap_or(1));
        if let Some(tier) = tier {
            condition.push_str(&format!(" AND begins_with({GSI2SK}, :tier)"));
            query = query.expression_attribute_values(":tier", value(members_tier_prefix(tier))?);
        }
        if let Some(after) = &at.after {
            let id = member_of_members_sk(after)
                .ok_or_else(|| StoreError::Corrupt(format!("members cursor {after:?} names no member")))?;
            let profile = ItemKey::profile(tenant, &id);
            let mut start = profile.attrs();
            start.insert(GSI2PK.to_owned(), value(partition)?);
            start.insert(GSI2SK.to_owned(), value(after.clone())?);
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query.key_condition_expression(condition).send().await.map_err(StoreError::from_sdk)?;
        let mut keys = Vec::new();
        for item in out.items() {
            let (Some(pk), Some(sk)) = (item.get(PK), item.get(SK)) else {
                return Err(StoreError::Corrupt("members index entry without its keys".into()));
            };
            keys.push(Attrs::from([(PK.to_owned(), pk.clone()), (SK.to_owned(), sk.clone())]));
        }
        let last = out.last_evaluated_key().and_then(|k| k.get(GSI2SK)).and_then(|v| v.as_s().ok()).cloned();
        Ok((keys, last))
    }

    /// The profiles of `keys` (at most 100), in that order; one gone meanwhile is left out.
    async fn profiles(&self, keys: Vec<Attrs>) -> Result<Vec<Customer>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let order: Vec<String> = keys.iter().filter_map(|k| k.get(PK).and_then(|v| v.as_s().ok()).cloned()).collect();
        let mut found: std::collections::HashMap<String, Customer> = std::collections::HashMap::new();
        let mut pending = keys;
        for _ in 0..8 {
            if pending.is_empty() {
                break;
            }
            let ask = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for attrs in out.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                let pk = attrs.get(PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                found.insert(pk, decode::<ProfileItem>(attrs).map(Customer::from)?);
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable("profiles left unread after retries".into()));
        }
        Ok(order.iter().filter_map(|pk| found.remove(pk)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CustomerId;

    fn id_in(shard: u32) -> CustomerId {
        loop {
            let id = CustomerId::new_random();
            if id.shard(MEMBERS_SHARDS) == shard {
                return id;
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let id = id_in(3);
        let at = MembersCursor { shard: 3, after: Some(format!("Gold#{id}")) };
        assert_eq!(MembersCursor::decode(&at.encode(), None), Some(at.clone()));
        assert_eq!(MembersCursor::decode(&at.encode(), Some("Gold")), Some(at.clone()));
        assert_eq!(MembersCursor::decode(&at.encode(), Some("Silver")), None);
        let fresh = MembersCursor { shard: 15, after: None };
        assert_eq!(MembersCursor::decode(&fresh.encode(), None), Some(fresh));
        let wrong_shard = MembersCursor { shard: 4, after: Some(format!("Gold#{id}")) };
        assert_eq!(MembersCursor::decode(&wrong_shard.encode(), None), None);
        assert_eq!(MembersCursor::decode(&hex::encode("16|"), None), None);
        assert_eq!(MembersCursor::decode(&hex::encode("03|Gold#not-an-id"), None), None);
        assert_eq!(MembersCursor::decode("zz", None), None);
        assert_eq!(MembersCursor::decode("", None), None);
    }
}
