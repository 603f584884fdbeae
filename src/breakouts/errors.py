"""The error tree: every refusal the service makes, with its upstream status and message.

Services raise these; one handler (``breakouts.http.render_error``) turns any of them into the
Webex error body ``{"message", "errors": [{"description"}], "trackingId"}``. Nothing else builds
an error response, so no stack trace, SQL or path can reach a client.

    ApiError
    ├── BadRequest (400)          ├── Conflict (409)
    │   └── ValidationFailed      ├── PayloadTooLarge (413)
    ├── Unauthorized (401)        ├── UnsupportedMediaType (415)
    ├── Forbidden (403)           ├── Locked (423)            ← Retry-After
    ├── NotFound (404)            ├── TooManyRequests (429)   ← Retry-After
    ├── MethodNotAllowed (405)    ├── ServiceUnavailable (503) ← Retry-After
    │                             ├── GatewayTimeout (504)    ← Retry-After
    └── InternalError (500)
"""

from __future__ import annotations


class ApiError(Exception):
    """A refusal with an HTTP status and the message a Webex client would see."""

    status: int = 500
    default_message: str = "Something went wrong on the server."

    def __init__(
        self,
        message: str | None = None,
        *,
        descriptions: list[str] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.descriptions = descriptions or [self.message]
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    default_message = "The request was invalid or cannot be otherwise served."


class Unauthorized(ApiError):
    """401 with the RFC 6750 challenge: ``invalid_token`` once a token was sent and refused."""

    status = 401
    default_message = (
        "The request requires a valid access token set in the Authorization request header."
    )

    def __init__(self, message: str | None = None, *, token_sent: bool = False) -> None:
        challenge = 'Bearer realm="breakouts"'
        if token_sent:
            challenge += ', error="invalid_token"'
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    status = 403
    default_message = (
        "The server understood the request, but refused to fulfill it because the access token "
        "is missing required scopes or the user is not allowed to perform this action."
    )


class NotFound(ApiError):
    status = 404
    default_message = "The requested resource could not be found."


class MethodNotAllowed(ApiError):
    status = 405
    default_message = (
        "The request was made to a resource using an HTTP method that is not supported."
    )


class Conflict(ApiError):
    status = 409
    default_message = (
        "The request could not be processed because it conflicts with the state of the meeting."
    )


class PayloadTooLarge(ApiError):
    status = 413
    default_message = "The request body is larger than the server accepts."


class UnsupportedMediaType(ApiError):
    status = 415
    default_message = "The request body must be JSON (Content-Type: application/json)."


class Locked(ApiError):
    status = 423
    default_message = "The meeting is being changed by another request. Try again later."


class TooManyRequests(ApiError):
    status = 429
    default_message = "Too many requests have been sent in a given amount of time."


class InternalError(ApiError):
    status = 500
    default_message = (
        "Something went wrong on the server. If the issue persists, contact the operator "
        "with the trackingId."
    )


class ServiceUnavailable(ApiError):
    status = 503
    default_message = "Server is overloaded with requests. Try again later."


class GatewayTimeout(ApiError):
    status = 504
    default_message = "The database did not answer in time. Try again later."


def error_for_status(
    status: int, message: str | None = None, *, retry_after: int | None = None
) -> ApiError:
    """An error answering ``status`` (an injected fault, SPEC §10) with the usual words for it."""
    for cls in _BY_STATUS:
        if cls.status == status:
            return cls(message, retry_after=retry_after)
    error = ApiError(message or f"The server answered {status}.", retry_after=retry_after)
    error.status = status
    return error


_BY_STATUS: tuple[type[ApiError], ...] = (
    BadRequest,
    Forbidden,
    NotFound,
    Conflict,
    Locked,
    TooManyRequests,
    InternalError,
    ServiceUnavailable,
    GatewayTimeout,
)
