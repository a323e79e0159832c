"""The contract's errors. Import them from here; the submodules only group them by area.

Known errors (``KnownError``) are sent as JSON under their code; plain errors (``PlainError``) as
text/plain. Each error class carries its HTTP status, so the code that raises it never names one.
"""

# Every public name of the area modules is an error (or a constant about one) meant to be imported
# from this package, so the whole of each is re-exported rather than listed a second time here.
from authstack_core.errors.analytics import *  # noqa: F403
from authstack_core.errors.base import *  # noqa: F403
from authstack_core.errors.cli_auth import *  # noqa: F403
from authstack_core.errors.config import *  # noqa: F403
from authstack_core.errors.email_themes import *  # noqa: F403
from authstack_core.errors.emails import *  # noqa: F403
from authstack_core.errors.images import *  # noqa: F403
from authstack_core.errors.notifications import *  # noqa: F403
from authstack_core.errors.oauth import *  # noqa: F403
from authstack_core.errors.passkeys import *  # noqa: F403
from authstack_core.errors.projects import *  # noqa: F403
from authstack_core.errors.request import *  # noqa: F403
from authstack_core.errors.teams import *  # noqa: F403
from authstack_core.errors.users import *  # noqa: F403
from authstack_core.errors.webhooks import *  # noqa: F403
