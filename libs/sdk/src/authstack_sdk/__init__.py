"""A Python server SDK for Stack Auth's REST API (and this project's server, which speaks it)."""

# --- Session verification (verify.py, claims.py, jwks.py, token_errors.py) -------------------
# Re-exported with `as` so that this block stands alone, whatever `__all__` says above.
from authstack_sdk.claims import AccessTokenClaims as AccessTokenClaims
from authstack_sdk.token_errors import AnonymousTokenError as AnonymousTokenError
from authstack_sdk.token_errors import ExpiredTokenError as ExpiredTokenError
from authstack_sdk.token_errors import InvalidTokenError as InvalidTokenError
from authstack_sdk.token_errors import JwksUnavailableError as JwksUnavailableError
from authstack_sdk.token_errors import MissingTokenError as MissingTokenError
from authstack_sdk.token_errors import RestrictedTokenError as RestrictedTokenError
from authstack_sdk.token_errors import TokenVerificationError as TokenVerificationError
from authstack_sdk.token_errors import WrongProjectTokenError as WrongProjectTokenError
from authstack_sdk.verify import AccessTokenVerifier as AccessTokenVerifier
