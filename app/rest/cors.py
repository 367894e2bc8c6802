"""CORS for browsers, from TOKENPULSE_CORS_ORIGINS (the legacy ALLOWED_ORIGINS allow-list).

Starlette's CORSMiddleware with the legacy options: credentials allowed, methods GET and
POST, preflight answers cached 86400 s. A request from another origin is served without
CORS headers (the browser then hides the answer); a refused preflight is a 400 in the API's
JSON error envelope (``cors_origin_refused``, or ``cors_refused`` for a method or header)
instead of Starlette's text. The legacy server turned a refused origin into an HTML 500.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.config import Settings
from app.rest import errors

MAX_AGE = 86_400
METHODS = ("GET", "POST")
HEADERS = ("Content-Type", "Authorization", "If-None-Match", "X-Request-ID")
EXPOSED = ("ETag", "X-Request-ID")


class Cors(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        origin_ok = self.is_allowed_origin(origin=request_headers["origin"])
        code = "cors_refused" if origin_ok else "cors_origin_refused"
        message = bytes(response.body).decode()
        return errors.response(400, code, message)


def middleware(settings: Settings) -> Middleware:
    return Middleware(
        Cors,
        allow_origins=settings.cors_origin_list,
        allow_methods=METHODS,
        allow_headers=HEADERS,
        allow_credentials=True,
        expose_headers=EXPOSED,
        max_age=MAX_AGE,
    )
