//! Writes that both dialects make with one engine call: each dialect's function states
//! only its route, its request body and its rendering.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;

use crate::endpoint::{Context, Route, Write};
use crate::engine::{self, Sale, SaleResult};
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::requests;

/// A sale in one dialect (`pos-bill`, `public-earn`).
pub trait SaleDialect: Send + Sync {
    const ROUTE: Route;
    /// The dialect's request body.
    type Request: DeserializeOwned;
    fn render(result: &SaleResult, sandbox: bool) -> Response<Body>;
}

/// The write of a sale in dialect `D`: points by the program's rules, a retry answered
/// from its reference or `Idempotency-Key`, a preview claiming nothing.
pub struct SaleRoute<D>(PhantomData<D>);

impl<D> Write for SaleRoute<D>
where
    D: SaleDialect,
    Sale: TryFrom<D::Request, Error = ApiError>,
{
    const ROUTE: Route = D::ROUTE;
    type Input = Sale;
    type Output = SaleResult;

    fn parse(req: &Request) -> Result<Sale, ApiError> {
        requests::parse::<D::Request, _>(req)
    }

    /// A sale time (`sold_at` / `soldAt`) within its bounds of now.
    fn check(sale: &Sale, now: DateTime<Utc>) -> Result<(), ApiError> {
        sale.check_sold_at(now)
    }

    /// A preview writes nothing, so it has nothing to make idempotent.
    fn claims(sale: &Sale) -> bool {
        !sale.preview
    }

    async fn run(
        cx: &Context<'_>,
        sale: &Sale,
        idem: Option<&Replayable<'_, SaleResult>>,
    ) -> Result<SaleResult, ApiError> {
        // A late bill earns by the rules in force at its sale time.
        let program = cx.program_at(sale.priced_at(cx.deps.now())).await?;
        engine::record_sale(cx.deps, &cx.caller, &program, sale, idem).await
    }

    fn render(result: &SaleResult, sandbox: bool) -> Response<Body> {
        D::render(result, sandbox)
    }

    fn replayed(result: &SaleResult) -> bool {
        result.replayed
    }
}
