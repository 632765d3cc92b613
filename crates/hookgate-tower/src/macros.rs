//! What every layer of this crate shares: the layer type, the service type with its
//! accessors, and the `Service` bounds.

/// Declares `$layer` (holding `$field: $ty`, built with `new`) and `$service<S>`
/// (the inner service and a clone of `$field`), with tower's accessors and the
/// `Layer` impl. The `Service` impl stays with each layer.
macro_rules! layer {
    (
        $(#[$layer_doc:meta])*
        $layer:ident,
        $(#[$service_doc:meta])*
        $service:ident { $field:ident: $ty:ty }
    ) => {
        $(#[$layer_doc])*
        #[derive(Clone, Debug)]
        pub struct $layer {
            $field: $ty,
        }

        impl $layer {
            #[doc = concat!("A layer that applies [`", stringify!($service), "`] with `", stringify!($field), "`.")]
            #[must_use]
            pub fn new($field: $ty) -> Self {
                Self { $field }
            }
        }

        impl<S> ::tower_layer::Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service::new(inner, self.$field.clone())
            }
        }

        $(#[$service_doc])*
        #[derive(Clone, Debug)]
        pub struct $service<S> {
            inner: S,
            $field: $ty,
        }

        impl<S> $service<S> {
            #[doc = concat!("Wraps `inner` with `", stringify!($field), "`.")]
            pub fn new(inner: S, $field: $ty) -> Self {
                Self { inner, $field }
            }

            #[doc = concat!("A [`", stringify!($layer), "`] with `", stringify!($field), "`.")]
            #[must_use]
            pub fn layer($field: $ty) -> $layer {
                $layer::new($field)
            }

            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// The inner service, owned.
            pub fn into_inner(self) -> S {
                self.inner
            }

            /// The service that was driven to readiness, for one call; a clone is left
            /// in its place.
            fn take_ready(&mut self) -> S
            where
                S: Clone,
            {
                let clone = self.inner.clone();
                ::std::mem::replace(&mut self.inner, clone)
            }
        }
    };
}

/// The `Service` impl of `$service` over http 1 requests: bounds, `poll_ready`, and
/// `call` as `$call(self_field_clone, ready_inner, request)` returning the future of
/// the response.
macro_rules! service {
    ($service:ident, $field:ident, $call:path) => {
        impl<S, ReqBody, ResBody> ::tower_service::Service<::http::Request<ReqBody>> for $service<S>
        where
            S: ::tower_service::Service<
                    ::http::Request<$crate::body::Body<ReqBody>>,
                    Response = ::http::Response<ResBody>,
                > + Clone
                + Send
                + 'static,
            S::Future: Send + 'static,
            S::Error: Send + 'static,
            ReqBody: ::http_body::Body<Data = ::bytes::Bytes> + Send + 'static,
            ReqBody::Error: Into<$crate::body::BoxError>,
            ResBody: Send + 'static,
        {
            type Response = ::http::Response<$crate::body::Body<ResBody>>;
            type Error = S::Error;
            type Future = $crate::future::ResponseFuture<Result<Self::Response, S::Error>>;

            fn poll_ready(
                &mut self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<Result<(), Self::Error>> {
                self.inner.poll_ready(cx)
            }

            fn call(&mut self, request: ::http::Request<ReqBody>) -> Self::Future {
                let inner = self.take_ready();
                $crate::future::ResponseFuture::new($call(self.$field.clone(), inner, request))
            }
        }
    };
}

/// Declares a rejection type of the axum extractors: a typed newtype over the core
/// [`Error`](hookgate_core::Error) with its status, and an `IntoResponse` that
/// renders its problem+json.
#[cfg(feature = "axum")]
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
            pub fn status(&self) -> ::http::StatusCode {
                ::http::StatusCode::from_u16(self.error.status())
                    .unwrap_or(::http::StatusCode::BAD_REQUEST)
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

        impl ::axum_core::response::IntoResponse for $name {
            fn into_response(self) -> ::axum_core::response::Response {
                $crate::problem::problem_response(&self.error.problem())
                    .map(::axum_core::body::Body::from)
            }
        }
    };
}
