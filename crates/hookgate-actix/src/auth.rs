//! Authentication of webhook senders as actix-web middleware.
//!
//! [`Auth`] authenticates every request with an
//! [`AuthPolicy`] — shared secrets, Azure AD bearer
//! tokens, Web PubSub signatures, whichever are configured — before the inner service
//! runs. A failure is answered with its problem+json (401 with `WWW-Authenticate`,
//! 403, or 503 with `Retry-After`) and the inner service is not called; on success
//! the [`Identity`](hookgate_core::auth::Identity) goes into the request extensions,
//! where the [`Authenticated`](crate::Authenticated) and `AadCaller` extractors
//! find it. A response to a request authenticated by a secret in the URL
//! gets `Cache-Control: private`. This mirrors `AuthLayer` of `hookgate-tower`.
//!
//! It does not need CloudEvents: wrap any route or scope. With the handshake, wrap
//! `Handshake` after it (the last `wrap` runs first), so that the handshake is
//! answered before authentication — or use the one [`Webhook`](crate::Webhook).
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

use actix_web::HttpMessage as _;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use hookgate_core::Reply;
use hookgate_core::auth::AuthPolicy;
use hookgate_core::webhook::identity_headers;

use crate::headers::{ActixHeaders, set_headers};
use crate::middleware::refuse;

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

middleware!(Auth => AuthMiddleware { policy: AuthPolicy }, call);

async fn call<S, B>(
    policy: AuthPolicy,
    service: Rc<S>,
    request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let check = policy.authenticate(request.uri().query(), &ActixHeaders(request.headers()));
    // A refusal leaves the block; its unread payload is drained (or the answer
    // closes the connection) after it, so that the future does not also keep the
    // check's result.
    let reply = 'refused: {
        let identity = match check.await {
            Ok(identity) => identity,
            Err(error) => break 'refused Reply::from(error.problem()),
        };
        let headers = identity_headers(&identity);
        request.extensions_mut().insert(identity);
        let mut response = service.call(request).await?;
        set_headers(response.headers_mut(), headers);
        return Ok(response.map_into_left_body());
    };
    refuse(request, reply).await
}
