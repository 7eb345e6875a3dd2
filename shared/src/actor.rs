//! Who acts through the management API (or `loyalty-admin`): a person of one tenant with
//! one role. The session layer builds an [`Actor`] from a verified token (the tenant
//! and the role from its claims, never from a URL or a body); the operator CLI builds
//! [`Actor::operator`]. Every management operation checks the role itself
//! ([`Actor::require`]), so no route can forget to.

use serde::{Deserialize, Serialize};

use crate::domain::TenantSlug;
use crate::error::ApiError;

/// A person's role in their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    /// Everything, API keys included.
    Owner,
    /// Rewards, members, point adjustments and coupons; reads everything but API keys.
    Manager,
    /// Reads everything but API keys; changes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Manager, Role::Viewer];

    /// Also the name of the person's Cognito group.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
}

/// What an operation needs of its actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read members, rewards and the audit log.
    Read,
    /// Change rewards, adjust points, issue coupons.
    Manage,
    /// List, issue, change, revoke or rotate API keys (the secrets' side).
    Keys,
    /// Erase a member's personal data (owners only: it cannot be undone).
    Erase,
    /// List, invite, change or remove the tenant's people.
    Team,
}

impl Role {
    pub fn allows(self, need: Permission) -> bool {
        match need {
            Permission::Read => true,
            Permission::Manage => matches!(self, Role::Owner | Role::Manager),
            Permission::Keys | Permission::Erase | Permission::Team => self == Role::Owner,
        }
    }
}

/// The acting person: their tenant, who they are (the token's `sub`, or its email) and
/// their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub tenant: TenantSlug,
    pub who: String,
    pub role: Role,
}

/// The `who` of changes made with `loyalty-admin`.
pub const OPERATOR: &str = "operator (loyalty-admin)";

impl Actor {
    pub fn new(tenant: TenantSlug, who: impl Into<String>, role: Role) -> Self {
        Actor { tenant, who: who.into(), role }
    }

    /// The platform operator acting on a tenant through `loyalty-admin`: an owner.
    pub fn operator(tenant: TenantSlug) -> Self {
        Actor::new(tenant, OPERATOR, Role::Owner)
    }

    /// `Ok` if the role allows `need`, else 403.
    pub fn require(&self, need: Permission) -> Result<(), ApiError> {
        if self.role.allows(need) {
            Ok(())
        } else {
            Err(ApiError::Role { role: self.role, need })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_allows_what_it_may_do() {
        use Permission::*;
        let table = [
            (Role::Owner, [true, true, true, true, true]),
            (Role::Manager, [true, true, false, false, false]),
            (Role::Viewer, [true, false, false, false, false]),
        ];
        for (role, allowed) in table {
            for (need, ok) in [Read, Manage, Keys, Erase, Team].into_iter().zip(allowed) {
                assert_eq!(role.allows(need), ok, "{role:?} {need:?}");
            }
        }
        assert_eq!(Role::parse(" manager"), Some(Role::Manager));
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(serde_json::to_string(&Role::Viewer).unwrap(), "\"viewer\"");
    }
}
