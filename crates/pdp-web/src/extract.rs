//! The extractors of every handler: axum's own, with their rejections turned into the
//! platform's bilingual error ([`ApiError`]) instead of axum's plain-text answers, and [`Form`]
//! for the pages' HTML forms.
//!
//! A handler takes `Path(id): Path<i64>`, `Json(input): Json<T>`, `Query(q): Query<T>` or
//! `Form(input): Form<T>` and never sees a rejection: a malformed path, body, query string or
//! form is answered 400 (413 past the body limit) with a stable code before the handler runs.
//! [`Json`] is also the response type of the handlers, as axum's is.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, AppError, body_rejection, rejection};
use crate::layout::PageError;

/// A JSON body in, or a JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(body_rejection(e.status(), e).into()),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The parameters of the route's path.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(rejection(e).into()),
        }
    }
}

/// The query string.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(rejection(e).into()),
        }
    }
}

/// The raw body, up to the body limit.
#[derive(Debug)]
pub struct Bytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Bytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(e) => Err(body_rejection(e.status(), e).into()),
        }
    }
}

/// An HTML form body (`application/x-www-form-urlencoded`), for page handlers; a malformed
/// form is answered with the bilingual error page naming the field.
///
/// Check boxes and multiple selects send their name once per value, so a `Vec` field collects
/// them (serde_html_form; serde_urlencoded, which axum's `Form` uses, cannot); an empty value is
/// `None` for an `Option` field, as an empty number input means "not given". The `csrf` field,
/// which the gate has already checked, is taken out first, so a form can fill an input type of
/// the JSON API that refuses unknown fields.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| body_rejection(e.status(), e))?;
        let pairs = form_urlencoded::parse(&body).filter(|(k, _)| k != "csrf");
        let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let fields = serde_html_form::Deserializer::from_bytes(form.as_bytes());
        serde_path_to_error::deserialize(fields).map(Self).map_err(|e| {
            let field = e.path().to_string();
            let e = e.into_inner();
            AppError::bad_request(
                "invalid_form",
                format!("表单字段 {field} 无效：{e}"),
                format!("form field {field}: {e}"),
            )
            .into()
        })
    }
}
