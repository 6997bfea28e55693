//! The one list of wire error codes. Every module's error maps onto one of these through
//! [`HasCode`]; the API turns that into `{"error":{"code","message","field"}}` with the code's
//! HTTP status. Code strings are public API: never rename one.

use axum::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidJson,
    InvalidField,
    MissingField,
    MessageTooLarge,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    CustomerNotFound,
    ProductNotFound,
    OrderNotFound,
    Conflict,
    InvalidCsv,
    InvalidRule,
    Internal,
    /// A derived table is still being built (the reports, at a first start): try again shortly.
    NotReady,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 16] = [
        Self::InvalidJson,
        Self::InvalidField,
        Self::MissingField,
        Self::MessageTooLarge,
        Self::PayloadTooLarge,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::CustomerNotFound,
        Self::ProductNotFound,
        Self::OrderNotFound,
        Self::Conflict,
        Self::InvalidCsv,
        Self::InvalidRule,
        Self::Internal,
        Self::NotReady,
    ];

    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidJson | Self::InvalidField | Self::MissingField => StatusCode::BAD_REQUEST,
            Self::MessageTooLarge | Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::CustomerNotFound | Self::ProductNotFound | Self::OrderNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::Conflict => StatusCode::CONFLICT,
            Self::InvalidCsv | Self::InvalidRule => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidField => "invalid_field",
            Self::MissingField => "missing_field",
            Self::MessageTooLarge => "message_too_large",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::CustomerNotFound => "customer_not_found",
            Self::ProductNotFound => "product_not_found",
            Self::OrderNotFound => "order_not_found",
            Self::Conflict => "conflict",
            Self::InvalidCsv => "invalid_csv",
            Self::InvalidRule => "invalid_rule",
            Self::Internal => "internal",
            Self::NotReady => "not_ready",
        }
    }
}

/// An error that knows its wire code and, where one input field is to blame, that field's path.
pub trait HasCode {
    fn code(&self) -> ErrorCode;
    fn field(&self) -> Option<&str> {
        None
    }
}
