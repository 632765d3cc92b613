//! What every middleware of this crate shares: its service type, its `Transform`,
//! and its `Service` impl around one async function.

/// Declares `$service`, the service of middleware factory `$factory` (the inner
/// service in an `Rc` and a clone of the factory's `$field`), the `Transform` that
/// builds it, and its `Service` impl, whose `call` is
/// `$call(field_clone, Rc<inner>, request)`, an async function answering
/// `Result<ServiceResponse<EitherBody<B>>, actix_web::Error>`.
macro_rules! middleware {
    ($factory:ident => $service:ident { $field:ident: $ty:ty }, $call:path) => {
        #[doc = concat!("The service of [`", stringify!($factory), "`].")]
        #[derive(Debug)]
        pub struct $service<S> {
            service: ::std::rc::Rc<S>,
            $field: $ty,
        }

        impl<S> $service<S> {
            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.service
            }
        }

        impl<S, B> ::actix_web::dev::Transform<S, ::actix_web::dev::ServiceRequest> for $factory
        where
            S: ::actix_web::dev::Service<
                    ::actix_web::dev::ServiceRequest,
                    Response = ::actix_web::dev::ServiceResponse<B>,
                    Error = ::actix_web::Error,
                > + 'static,
            B: ::actix_web::body::MessageBody + 'static,
        {
            type Response = ::actix_web::dev::ServiceResponse<::actix_web::body::EitherBody<B>>;
            type Error = ::actix_web::Error;
            type Transform = $service<S>;
            type InitError = ();
            type Future = ::std::future::Ready<Result<Self::Transform, Self::InitError>>;

            fn new_transform(&self, service: S) -> Self::Future {
                ::std::future::ready(Ok($service {
                    service: ::std::rc::Rc::new(service),
                    $field: self.$field.clone(),
                }))
            }
        }

        impl<S, B> ::actix_web::dev::Service<::actix_web::dev::ServiceRequest> for $service<S>
        where
            S: ::actix_web::dev::Service<
                    ::actix_web::dev::ServiceRequest,
                    Response = ::actix_web::dev::ServiceResponse<B>,
                    Error = ::actix_web::Error,
                > + 'static,
            B: ::actix_web::body::MessageBody + 'static,
        {
            type Response = ::actix_web::dev::ServiceResponse<::actix_web::body::EitherBody<B>>;
            type Error = ::actix_web::Error;
            type Future = ::futures_util::future::LocalBoxFuture<
                'static,
                Result<Self::Response, Self::Error>,
            >;

            ::actix_web::dev::forward_ready!(service);

            fn call(&self, request: ::actix_web::dev::ServiceRequest) -> Self::Future {
                Box::pin($call(
                    self.$field.clone(),
                    ::std::rc::Rc::clone(&self.service),
                    request,
                ))
            }
        }
    };
}

/// Answers `request` with `response` (a hookgate reply) instead of calling the inner
/// service.
pub(crate) fn answer<B>(
    request: actix_web::dev::ServiceRequest,
    response: actix_web::HttpResponse,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    Ok(request.into_response(response).map_into_right_body())
}

/// Answers `request` with `reply` (a refusal): its unread payload drained, or the
/// connection closed ([`settle_refusal`](hookgate_core::request::settle_refusal);
/// a boxed future, built only on a refusal). Call it after the `match` that found
/// the refusal, so that the caller's future does not also keep the matched value.
pub(crate) async fn refuse<B>(
    mut request: actix_web::dev::ServiceRequest,
    reply: hookgate_core::Reply,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let reply = {
        let (head, payload) = request.parts_mut();
        let mut incoming = crate::request::ActixRequest::new(head, payload);
        hookgate_core::request::settle_refusal(&mut incoming, reply).await
    };
    answer(request, crate::problem::reply_response(&reply))
}

/// Calls the inner service, its body as the left one.
pub(crate) async fn forward<S, B>(
    service: &S,
    request: actix_web::dev::ServiceRequest,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    Ok(service.call(request).await?.map_into_left_body())
}

/// Declares a rejection type of the extractors: a typed newtype over the core
/// [`Error`](hookgate_core::Error) with its status, and a `ResponseError` that
/// renders its problem+json.
macro_rules! rejection {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[non_exhaustive]
        pub struct $name {
            error: ::hookgate_core::Error,
        }

        impl $name {
            /// The HTTP status.
            #[must_use]
            pub fn status(&self) -> ::actix_web::http::StatusCode {
                ::actix_web::http::StatusCode::from_u16(self.error.status())
                    .unwrap_or(::actix_web::http::StatusCode::BAD_REQUEST)
            }

            /// What went wrong.
            #[must_use]
            pub fn error(&self) -> &::hookgate_core::Error {
                &self.error
            }

            /// What went wrong, owned.
            #[must_use]
            pub fn into_error(self) -> ::hookgate_core::Error {
                self.error
            }
        }

        impl From<::hookgate_core::Error> for $name {
            fn from(error: ::hookgate_core::Error) -> Self {
                Self { error }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.error.fmt(f)
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
                Some(&self.error)
            }
        }

        impl ::actix_web::ResponseError for $name {
            fn status_code(&self) -> ::actix_web::http::StatusCode {
                self.status()
            }

            fn error_response(&self) -> ::actix_web::HttpResponse {
                $crate::problem::problem_response(&self.error.problem())
            }
        }
    };
}
