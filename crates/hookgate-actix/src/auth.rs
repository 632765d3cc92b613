//! Authentication of webhook senders as actix-web middleware.
//!
//! [`Auth`] authenticates every request with an
//! [`AuthPolicy`] — shared secrets, Azure AD bearer
//! tokens, Web PubSub signatures, whichever are configured — before the inner service
//! runs. A failure is answered with its problem+json (401 with `WWW-Authenticate`,
//! 403, or 503 with `Retry-After`) and the inner service is not called; on success
//! the [`Identity`](hookgate_core::auth::Identity) goes into the request extensions,
//! where the [`Authenticated`](crate::Authenticated) and [`Claims`](crate::Claims)
//! extractors find it. A response to a request authenticated by a secret in the URL
//! gets `Cache-Control: private`. This mirrors `AuthLayer` of `hookgate-tower`.
//!
//! It does not need CloudEvents: wrap any route or scope. With the handshake, wrap
//! `Handshake` after it (the last `wrap` runs first), so that the handshake is
//! answered before authentication.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use hookgate_actix::Auth;
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = AuthPolicy::builder()
//!     .shared_secrets(SharedSecrets::new(["s3cret"])?)
//!     .build()?;
//! let app = test::init_service(
//!     App::new()
//!         .wrap(Auth::new(policy))
//!         .route("/api/events", web::post().to(HttpResponse::Ok)),
//! )
//! .await;
//! let request = test::TestRequest::post().uri("/api/events?code=s3cret").to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers().get("cache-control").unwrap(), "private");
//!
//! let request = test::TestRequest::post().uri("/api/events?code=guess").to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 401);
//! assert!(response.headers().contains_key("www-authenticate"));
//! # Ok(()) }
//! ```

use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{Error as ActixError, HttpMessage as _};
use futures_util::future::LocalBoxFuture;
use hookgate_core::auth::AuthPolicy;

use crate::headers::ActixHeaders;
use crate::problem::problem_response;

/// Middleware factory that authenticates senders; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Auth {
    policy: AuthPolicy,
}

impl Auth {
    /// Middleware that authenticates as `policy` says.
    #[must_use]
    pub fn new(policy: AuthPolicy) -> Self {
        Self { policy }
    }
}

middleware!(Auth => AuthMiddleware { policy: AuthPolicy });

impl<S, B> Service<ServiceRequest> for AuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let check = self
            .policy
            .authenticate(req.uri().query(), &ActixHeaders(req.headers()));
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            match check.await {
                Ok(identity) => {
                    let private = identity.from_query();
                    req.extensions_mut().insert(identity);
                    let mut response = service.call(req).await?;
                    if private {
                        // Credentials in the URL: no shared cache may keep the answer.
                        response
                            .headers_mut()
                            .insert(CACHE_CONTROL, HeaderValue::from_static("private"));
                    }
                    Ok(response.map_into_left_body())
                }
                Err(error) => Ok(req
                    .into_response(problem_response(&error.problem()))
                    .map_into_right_body()),
            }
        })
    }
}
