//! What every middleware of this crate shares: its service type and its
//! `Transform`.

/// Declares `$service`, the service of middleware factory `$factory` (the inner
/// service in an `Rc` and a clone of the factory's `$field`), and the `Transform`
/// that builds it. The factory's own `Service` impl stays with the factory.
macro_rules! middleware {
    ($factory:ident => $service:ident { $field:ident: $ty:ty }) => {
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
    };
}
