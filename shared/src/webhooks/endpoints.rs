//! A tenant's webhook endpoints, for an [`Actor`](crate::actor::Actor): owners only.
