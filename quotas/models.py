"""High-end training quotas: the targets and their allocation down the hierarchy
(target_models), the per-cycle progress table (progress_models), and the fair selection of
nominees inside a division (selection_models)."""

from quotas.progress_models import *  # noqa: F403
from quotas.selection_models import *  # noqa: F403
from quotas.target_models import *  # noqa: F403
