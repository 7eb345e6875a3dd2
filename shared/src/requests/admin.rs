//! Requests of the management API (`/v1/admin/...`): bodies as serde structs of the
//! field types in [`super`], path and query parameters, and the `Idempotency-Key`
//! header. A 400 names the field that caused it ([`ApiError::Invalid`]), so the console
//! shows it next to that field.

use chrono::NaiveDate;
use lambda_http::Request;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;

use super::{raw, text_of, Flag, Text, TextOrNumber};
use crate::domain::{Code, CustomerId, Email, IdempotencyKey, Mobile};
use crate::engine::{page_limit, MemberRef};
use crate::error::ApiError;
use crate::http::{path_param, query};
use crate::keys::{Channel, KeyMode, Scope};
use crate::manage::{Adjustment, CouponSpec, MemberEdit, NewKeySpec};
use crate::model::{CodeKind, Reward};
use crate::webhooks::endpoints::NewEndpoint;
use crate::webhooks::DeliveryStatus;

/// The request's `Idempotency-Key`, if it carries one.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get(crate::idempotency::HEADER) else { return Ok(None) };
    let text = value.to_str().map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    IdempotencyKey::parse(text.trim())
        .map(Some)
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
}

/// The longest id a path may name (every id this API makes is far shorter).
const MAX_PATH_ID: usize = 128;

/// A path parameter the route's path always has: an id of at most [`MAX_PATH_ID`]
/// visible ASCII characters. Anything else names no resource (404 `what`) and is never
/// looked up.
pub fn path<'a>(req: &'a Request, name: &str, what: &'static str) -> Result<&'a str, ApiError> {
    path_param(req, name)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_PATH_ID && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ApiError::NotFound(what))
}

/// The `{customer_id}` of the path: one that is not a customer id names no customer.
pub fn customer_id(req: &Request) -> Result<CustomerId, ApiError> {
    CustomerId::parse(path(req, "customer_id", "Customer")?).map_err(|_| ApiError::NotFound("Customer"))
}

/// `?limit=&cursor=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Page {
    pub fn parse(req: &Request) -> Result<Page, ApiError> {
        Ok(Page { limit: page_limit(query(req, "limit"))?, cursor: query(req, "cursor").map(str::to_owned) })
    }
}

/// `?tier=&cursor=` of a members export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersExport {
    pub tier: Option<String>,
    pub cursor: Option<String>,
}

impl MembersExport {
    pub fn parse(req: &Request) -> Result<MembersExport, ApiError> {
        Ok(MembersExport {
            tier: query(req, "tier").map(str::to_owned),
            cursor: query(req, "cursor").map(str::to_owned),
        })
    }
}

/// `?from=&to=&cursor=` of a ledger export (dates `YYYY-MM-DD`, both included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerExport {
    pub range: crate::manage::DateRange,
    pub cursor: Option<String>,
}

impl LedgerExport {
    pub fn parse(req: &Request) -> Result<LedgerExport, ApiError> {
        let day = |name: &str| {
            crate::http::required_query(req, name, |v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "must be a date, YYYY-MM-DD")
            })
        };
        let range = crate::manage::DateRange::new(day("from")?, day("to")?)?;
        Ok(LedgerExport { range, cursor: query(req, "cursor").map(str::to_owned) })
    }
}

/// The largest CSV text one import may send.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024;

/// An import's body: CSV text (UTF-8, at most [`MAX_IMPORT_BYTES`]).
pub fn import_text(req: &Request) -> Result<String, ApiError> {
    let bytes = super::body_bytes(req);
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_IMPORT_BYTES));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("body", "must be UTF-8 CSV text"))?;
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

/// `?q=`: a mobile number, an email address or a customer id, told apart by their shape.
pub fn member_query(req: &Request) -> Result<MemberRef, ApiError> {
    let q =
        query(req, "q").ok_or_else(|| ApiError::invalid("q", "is required: a mobile number, email or customer id"))?;
    member_ref(q)
}

/// What a search text names.
pub fn member_ref(q: &str) -> Result<MemberRef, ApiError> {
    let q = q.trim();
    if q.contains('@') {
        return Email::parse(q).map(MemberRef::Email).map_err(|e| ApiError::invalid("q", e.to_string()));
    }
    if let Ok(id) = CustomerId::parse(q) {
        return Ok(MemberRef::Id(id));
    }
    Mobile::parse(q)
        .map(MemberRef::Mobile)
        .map_err(|_| ApiError::invalid("q", "must be a mobile number, an email address or a customer id"))
}

/// The values a [`OneOf`] field takes, as the API spells them.
pub trait Choices: DeserializeOwned {
    const NAMES: &'static [&'static str];
}

impl Choices for KeyMode {
    const NAMES: &'static [&'static str] = &["live", "test"];
}

impl Choices for Channel {
    const NAMES: &'static [&'static str] = &["pos", "app"];
}

impl Choices for Scope {
    const NAMES: &'static [&'static str] = &["read:customers", "write:transactions"];
}

impl Choices for CodeKind {
    const NAMES: &'static [&'static str] = &["fixed", "percent", "service"];
}

/// A string naming one of `T`'s values; absent is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOf<T>(pub Option<T>);

impl<T> Default for OneOf<T> {
    fn default() -> Self {
        OneOf(None)
    }
}

impl<'de, T: Choices> Deserialize<'de> for OneOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(OneOf(None)) };
        let refused = || de::Error::custom(format!("must be one of {}", T::NAMES.join(", ")));
        let text = text_of(raw.get().trim()).ok_or_else(refused)?;
        serde_json::from_value(serde_json::Value::String(text.trim().to_owned()))
            .map(|v| OneOf(Some(v)))
            .map_err(|_| refused())
    }
}

/// A whole number, either sign; absent is `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Signed(pub Option<i64>);

impl<'de> Deserialize<'de> for Signed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(Signed(None)) };
        raw.get()
            .trim()
            .parse::<i64>()
            .map(|v| Signed(Some(v)))
            .map_err(|_| de::Error::custom("must be a whole number"))
    }
}

/// A calendar day, `YYYY-MM-DD`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub Option<NaiveDate>);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text::<32>(text) = Text::deserialize(d)?;
        let Some(text) = text else { return Ok(Day(None)) };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(|day| Day(Some(day)))
            .map_err(|_| de::Error::custom("must be a date such as 2027-01-31"))
    }
}

fn needed<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// An array of scope names; absent is empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScopeList(pub Vec<Scope>);

impl<'de> Deserialize<'de> for ScopeList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let refused = || de::Error::custom(format!("must be an array of {}", Scope::NAMES.join(", ")));
        let Some(raw) = raw(d)? else { return Ok(ScopeList::default()) };
        let names: Vec<OneOf<Scope>> = serde_json::from_str(raw.get()).map_err(|_| refused())?;
        if names.len() > 8 {
            return Err(de::Error::custom("may name at most 8 scopes"));
        }
        names.into_iter().map(|n| n.0.ok_or_else(refused)).collect::<Result<_, _>>().map(ScopeList)
    }
}

/// `POST /v1/admin/keys`.
#[derive(Debug, Deserialize)]
pub struct NewKeyRequest {
    #[serde(default)]
    label: Text<100>,
    #[serde(default)]
    mode: OneOf<KeyMode>,
    #[serde(default)]
    channel: OneOf<Channel>,
    #[serde(default)]
    scopes: ScopeList,
}

impl TryFrom<NewKeyRequest> for NewKeySpec {
    type Error = ApiError;

    fn try_from(r: NewKeyRequest) -> Result<Self, ApiError> {
        Ok(NewKeySpec {
            label: needed(r.label.0, "label")?,
            mode: needed(r.mode.0, "mode")?,
            channel: needed(r.channel.0, "channel")?,
            scopes: r.scopes.0,
        })
    }
}

/// `POST /v1/admin/keys/{key_id}/scopes`.
#[derive(Debug, Deserialize)]
pub struct ScopesRequest {
    #[serde(default)]
    pub scopes: ScopeList,
}

/// A reward's fields, as added (`reward_id` in the body) or edited (`reward_id` from
/// the path; `active` absent keeps it as it is).
#[derive(Debug, Deserialize)]
pub struct RewardRequest {
    #[serde(default)]
    reward_id: TextOrNumber<64>,
    #[serde(default)]
    name: Text<200>,
    #[serde(default)]
    description: Text<1000>,
    #[serde(default)]
    points_cost: Signed,
    #[serde(default)]
    kind: OneOf<CodeKind>,
    #[serde(default)]
    value_minor: Signed,
    #[serde(default)]
    discount_percent: Signed,
    #[serde(default)]
    active: Flag,
}

/// A reward to add, or to put in place of the one with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardChange {
    pub reward: Reward,
    /// `active` as the request gave it (an edit keeps the stored one when absent).
    pub active: Option<bool>,
}

impl RewardRequest {
    /// The reward this request describes; `id` is the path's, for an edit.
    pub fn into_change(self, id: Option<&str>) -> Result<RewardChange, ApiError> {
        let public_id = match id {
            Some(id) => id.to_owned(),
            None => needed(self.reward_id.0, "reward_id")?,
        };
        let percent = self
            .discount_percent
            .0
            .map(|p| u32::try_from(p).map_err(|_| ApiError::invalid("discount_percent", "must be from 1 to 100")))
            .transpose()?;
        let reward = Reward {
            public_id,
            name: needed(self.name.0, "name")?,
            description: self.description.0.unwrap_or_default(),
            points_cost: needed(self.points_cost.0, "points_cost")?,
            kind: needed(self.kind.0, "kind")?,
            value_minor: self.value_minor.0.unwrap_or(0),
            discount_percent: percent,
            active: self.active.0.unwrap_or(true),
        };
        Ok(RewardChange { reward, active: self.active.0 })
    }
}

/// `POST /v1/admin/members/{customer_id}/adjustments`.
#[derive(Debug, Deserialize)]
pub struct AdjustRequest {
    #[serde(default)]
    points: Signed,
    #[serde(default)]
    reason: Text<{ crate::manage::MAX_REASON_CHARS }>,
}

impl AdjustRequest {
    pub fn into_adjustment(self, customer_id: CustomerId) -> Result<Adjustment, ApiError> {
        Ok(Adjustment {
            customer_id,
            points: needed(self.points.0, "points")?,
            reason: needed(self.reason.0, "reason")?,
        })
    }
}

/// `PUT /v1/admin/members/{customer_id}`: the details to change; an absent field keeps
/// what is there.
#[derive(Debug, Deserialize)]
pub struct MemberEditRequest {
    #[serde(default)]
    name: Text<{ crate::manage::MAX_NAME_CHARS }>,
    #[serde(default)]
    mobile: super::MobileField,
    #[serde(default)]
    email: super::EmailField,
}

impl MemberEditRequest {
    pub fn into_edit(self, customer_id: CustomerId) -> Result<MemberEdit, ApiError> {
        if self.name.0.is_none() && self.mobile.0.is_none() && self.email.0.is_none() {
            return Err(ApiError::bad_request("give at least one of name, mobile or email"));
        }
        Ok(MemberEdit { customer_id, name: self.name.0, mobile: self.mobile.0, email: self.email.0 })
    }
}

/// `POST /v1/admin/members/{customer_id}/coupons`.
#[derive(Debug, Deserialize)]
pub struct CouponRequest {
    #[serde(default)]
    value_minor: Signed,
    #[serde(default)]
    percent: Signed,
    #[serde(default)]
    expires: Day,
    #[serde(default)]
    code: TextOrNumber<40>,
    #[serde(default)]
    source: Text<40>,
}

impl CouponRequest {
    pub fn into_spec(self, customer_id: CustomerId) -> Result<CouponSpec, ApiError> {
        let percent = self
            .percent
            .0
            .map(|p| u32::try_from(p).map_err(|_| ApiError::invalid("percent", "must be from 1 to 100")))
            .transpose()?;
        let code =
            self.code.0.map(|c| Code::parse(&c).map_err(|e| ApiError::invalid("code", e.to_string()))).transpose()?;
        Ok(CouponSpec {
            customer_id,
            value_minor: self.value_minor.0,
            percent,
            expires: needed(self.expires.0, "expires")?,
            code,
            source: self.source.0.unwrap_or_else(|| "console".to_owned()),
        })
    }
}

/// An array of event type names; absent is empty (every type). Which names exist is
/// the engine's check ([`crate::webhooks::EVENT_TYPES`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EventTypeList(pub Vec<String>);

impl<'de> Deserialize<'de> for EventTypeList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let refused = || de::Error::custom("must be an array of event type names, such as points.earned");
        let Some(raw) = raw(d)? else { return Ok(EventTypeList::default()) };
        let names: Vec<String> = serde_json::from_str(raw.get()).map_err(|_| refused())?;
        if names.len() > crate::webhooks::EVENT_TYPES.len() {
            return Err(de::Error::custom("names more event types than there are"));
        }
        Ok(EventTypeList(names))
    }
}

/// `POST /v1/admin/webhooks`.
#[derive(Debug, Deserialize)]
pub struct NewEndpointRequest {
    #[serde(default)]
    url: Text<2048>,
    #[serde(default)]
    event_types: EventTypeList,
}

impl TryFrom<NewEndpointRequest> for NewEndpoint {
    type Error = ApiError;

    fn try_from(r: NewEndpointRequest) -> Result<Self, ApiError> {
        Ok(NewEndpoint { url: needed(r.url.0, "url")?, event_types: r.event_types.0 })
    }
}

/// `POST /v1/admin/webhooks/{endpoint_id}/replay`: one dead delivery (its event's id),
/// or every dead one (no body).
#[derive(Debug, Deserialize)]
pub struct ReplayRequest {
    #[serde(default)]
    pub event_id: Text<200>,
}

/// `?status=pending|delivered|dead` of an endpoint's deliveries; absent is all.
pub fn delivery_status(req: &Request) -> Result<Option<DeliveryStatus>, ApiError> {
    let Some(text) = query(req, "status").map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    text.parse().map(Some).map_err(|_| ApiError::invalid("status", "must be one of pending, delivered, dead"))
}

/// A report's `?from=&to=` (YYYY-MM-DD, the program's days); either may be left out.
pub fn report_range(req: &Request) -> Result<(Option<NaiveDate>, Option<NaiveDate>), ApiError> {
    let date = |name: &'static str| match query(req, name).map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::invalid(name, "must be a date as YYYY-MM-DD")),
    };
    Ok((date("from")?, date("to")?))
}

/// A management body parsed as `R`; no body at all is `{}` (for routes that need none).
pub fn body<R: DeserializeOwned>(req: &Request) -> Result<R, ApiError> {
    let bytes = super::body_bytes(req);
    if bytes.is_empty() {
        return super::from_bytes(b"{}");
    }
    super::from_bytes(bytes)
}

/// A role by name (`owner`, `manager`, `viewer`).
impl Choices for crate::actor::Role {
    const NAMES: &'static [&'static str] = &["owner", "manager", "viewer"];
}

/// `POST /v1/admin/team`: invite a person with a role.
#[cfg(feature = "cognito")]
#[derive(Debug, Deserialize)]
pub struct InviteRequest {
    #[serde(default)]
    email: Text<254>,
    #[serde(default)]
    role: OneOf<crate::actor::Role>,
}

#[cfg(feature = "cognito")]
impl TryFrom<InviteRequest> for crate::manage::Invitation {
    type Error = ApiError;

    fn try_from(r: InviteRequest) -> Result<Self, ApiError> {
        let email = needed(r.email.0, "email")?;
        let email = Email::parse(&email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
        Ok(crate::manage::Invitation { email, role: needed(r.role.0, "role")? })
    }
}

/// `PUT /v1/admin/team/{email}`: the person's new role.
#[derive(Debug, Deserialize)]
pub struct RoleRequest {
    #[serde(default)]
    role: OneOf<crate::actor::Role>,
}

impl RoleRequest {
    pub fn into_role(self) -> Result<crate::actor::Role, ApiError> {
        needed(self.role.0, "role")
    }
}

/// The `{email}` of a team path, percent-decoded (`%40` for `@`): one that is not an
/// email names no person (404).
pub fn team_email(req: &Request) -> Result<Email, ApiError> {
    let raw = path_param(req, "email").ok_or(ApiError::NotFound("Person"))?;
    let decoded = percent_decoded(raw).ok_or(ApiError::NotFound("Person"))?;
    Email::parse(&decoded).map_err(|_| ApiError::NotFound("Person"))
}

fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed<R: DeserializeOwned>(text: &str) -> Result<R, ApiError> {
        super::super::from_bytes::<R>(text.as_bytes())
    }

    fn err<R: DeserializeOwned + std::fmt::Debug>(text: &str) -> ApiError {
        parsed::<R>(text).unwrap_err()
    }

    const ID: &str = "3f1c2b9e-8a7d-4e6f-9b1a-2c3d4e5f6a7b";

    #[test]
    fn a_bad_field_is_named_and_the_rest_is_a_sentence() {
        assert_eq!(err::<NewKeyRequest>(r#"{"mode": "prod"}"#), ApiError::invalid("mode", "must be one of live, test"));
        assert_eq!(err::<NewKeyRequest>(r#"{"scopes": ["read:customers", "admin"]}"#).field(), Some("scopes"));
        assert_eq!(err::<NewKeyRequest>(r#"{"scopes": "read:customers"}"#).field(), Some("scopes"));
        assert_eq!(err::<AdjustRequest>(r#"{"points": 1.5}"#), ApiError::invalid("points", "must be a whole number"));
        assert_eq!(err::<CouponRequest>(r#"{"expires": "31/01/2027"}"#).field(), Some("expires"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let r: NewKeyRequest = parsed(r#"{"label": "Till 1", "mode": "live"}"#).unwrap();
        assert_eq!(NewKeySpec::try_from(r).unwrap_err(), ApiError::invalid("channel", "is required"));
        let r: AdjustRequest = parsed(r#"{"points": -20, "reason": "  "}"#).unwrap();
        let id = CustomerId::parse(ID).unwrap();
        assert_eq!(r.into_adjustment(id).unwrap_err(), ApiError::invalid("reason", "is required"));
        let r: CouponRequest = parsed(r#"{"value_minor": 500}"#).unwrap();
        assert_eq!(r.into_spec(id).unwrap_err(), ApiError::invalid("expires", "is required"));
    }

    #[test]
    fn a_path_id_that_no_resource_can_have_is_not_found_without_a_lookup() {
        use lambda_http::RequestExt;
        let with = |id: &str| {
            lambda_http::http::Request::builder()
                .body(lambda_http::Body::Empty)
                .unwrap()
                .with_path_parameters(std::collections::HashMap::from([("endpoint_id".to_owned(), id.to_owned())]))
        };
        assert_eq!(path(&with("ep_123"), "endpoint_id", "Endpoint").unwrap(), "ep_123");
        for bad in ["", " ", "ep_\u{f1}", "ep 1", &"x".repeat(129)] {
            assert_eq!(path(&with(bad), "endpoint_id", "Endpoint"), Err(ApiError::NotFound("Endpoint")), "{bad:?}");
        }
    }

    #[test]
    fn a_search_text_is_told_apart_by_its_shape() {
        assert!(matches!(member_ref("9876543210"), Ok(MemberRef::Mobile(_))));
        assert!(matches!(member_ref("ravi@example.com"), Ok(MemberRef::Email(_))));
        assert!(matches!(member_ref(ID), Ok(MemberRef::Id(_))));
        assert_eq!(member_ref("ravi").unwrap_err().field(), Some("q"));
        assert_eq!(member_ref("a@b").unwrap_err().field(), Some("q"));
    }

    #[test]
    fn an_endpoint_needs_a_url_and_names_its_types_as_strings() {
        let r: NewEndpointRequest = parsed(r#"{"event_types": ["points.earned"]}"#).unwrap();
        assert_eq!(NewEndpoint::try_from(r).unwrap_err(), ApiError::invalid("url", "is required"));
        assert_eq!(
            err::<NewEndpointRequest>(r#"{"url": "https://a.example", "event_types": "points.earned"}"#).field(),
            Some("event_types")
        );
        assert_eq!(err::<NewEndpointRequest>(r#"{"url": 5}"#).field(), Some("url"));
        let r: NewEndpointRequest = parsed(r#"{"url": " https://a.example/h "}"#).unwrap();
        assert_eq!(NewEndpoint::try_from(r).unwrap().event_types, Vec::<String>::new());
    }

    #[test]
    fn an_edit_keeps_the_stored_state_unless_it_says() {
        let r: RewardRequest = parsed(r#"{"name": "Chai", "points_cost": 50, "kind": "service"}"#).unwrap();
        let change = r.into_change(Some("rwd-1")).unwrap();
        assert_eq!((change.reward.public_id.as_str(), change.active), ("rwd-1", None));
        let r: RewardRequest = parsed(r#"{"name": "Chai", "points_cost": 50}"#).unwrap();
        assert_eq!(r.into_change(None).unwrap_err(), ApiError::invalid("reward_id", "is required"));
    }

    #[test]
    fn a_team_path_names_an_email_encoded_or_not() {
        assert_eq!(percent_decoded("ana%40acme.example").as_deref(), Some("ana@acme.example"));
        assert_eq!(percent_decoded("ana@acme.example").as_deref(), Some("ana@acme.example"));
        assert_eq!(percent_decoded("bad%4"), None);
        assert_eq!(percent_decoded("bad%zz"), None);
    }
}
